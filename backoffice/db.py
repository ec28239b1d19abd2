"""Set-based writes that Django's ORM does not express: INSERT … SELECT.

Bulk actions must cost the same number of queries for 10 rows as for 100,000.
``bulk_create`` splits into batches on SQLite (999 parameters per statement)
and sends every row through Python; an ``INSERT … SELECT`` built from a
queryset does the work in the database in one statement on both backends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DatabaseError, connection, models
from django.db.models.expressions import Expression
from django.utils import timezone
from psycopg import errors as pg_errors
from psycopg import generators, pq
from psycopg.copy import LibpqWriter
from psycopg.waiting import Wait


def insert_select(
    model: type[models.Model],
    columns: Mapping[str, Expression | models.F],
    queryset: models.QuerySet,
    *,
    ignore_conflicts: bool = False,
) -> int:
    """Insert one row of ``model`` per row of ``queryset``.

    ``columns`` maps column names of ``model`` to expressions evaluated on
    ``queryset``'s model. With ``ignore_conflicts``, rows that would break a
    unique constraint are skipped (``ON CONFLICT DO NOTHING``, understood by
    PostgreSQL and SQLite alike). Returns the number of rows inserted.
    """
    aliases = [f"_ins_{i}" for i in range(len(columns))]
    select = (
        queryset.order_by()
        .annotate(**dict(zip(aliases, columns.values(), strict=True)))
        .values_list(*aliases)
    )
    sql, params = select.query.sql_with_params()
    quote = connection.ops.quote_name
    target = ", ".join(quote(name) for name in columns)
    statement = f"INSERT INTO {quote(model._meta.db_table)} ({target}) {sql}"  # noqa: S608
    if ignore_conflicts:
        if " WHERE " not in sql:
            # SQLite reads "SELECT … ON CONFLICT" as a join constraint without a WHERE.
            raise ValueError("insert_select(ignore_conflicts=True) needs a filtered queryset")
        statement += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def record_history(
    model: type[models.Model],
    queryset: models.QuerySet,
    *,
    actor: Any,
    reason: str = "",
    history_type: str = "~",
) -> int:
    """Write a django-simple-history record for every row of ``queryset``, in one statement.

    The bulk services change rows with ``QuerySet.update()``, which bypasses
    ``save()`` and so simple-history; this keeps the audit trail complete.
    """
    historical = model.history.model
    base_attnames = {f.attname for f in model._meta.concrete_fields}
    now = timezone.now()
    columns: dict[str, Expression | models.F] = {}
    for field in historical._meta.concrete_fields:
        if field.attname == "history_id":
            continue
        if field.attname in base_attnames:
            columns[field.column] = models.F(field.attname)
        elif field.attname == "history_date":
            columns[field.column] = models.Value(now, output_field=models.DateTimeField())
        elif field.attname == "history_type":
            columns[field.column] = models.Value(history_type, output_field=models.CharField())
        elif field.attname == "history_user_id":
            columns[field.column] = models.Value(
                getattr(actor, "pk", None), output_field=models.BigIntegerField()
            )
        elif field.attname == "history_change_reason":
            columns[field.column] = models.Value(reason[:100], output_field=models.CharField())
    return insert_select(historical, columns, model._default_manager.filter(pk__in=queryset))


# Below this many changed rows the planner's statistics are close enough.
STATISTICS_AFTER = 5000


def refresh_statistics(model: type[models.Model], changed: int, fields: Sequence[str]) -> None:
    """ANALYZE ``fields`` of ``model`` on PostgreSQL after a bulk change of ``changed`` rows.

    A bulk status change (10,000 products delisted) leaves the planner believing
    that almost no row has the new value until autovacuum comes by; the next bulk
    statement on those rows then picks a nested loop that takes seconds instead of
    milliseconds (measured in bench/ B2). The sample sees this transaction's own
    changes. Only the changed columns are sampled: every
    column of the product table (its texts) costs 200 ms at 40,000 products,
    the status column alone 30 ms.
    """
    if changed < STATISTICS_AFTER or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
        cursor.execute(f"ANALYZE {quote(model._meta.db_table)} ({columns})")


# Parameters per UPDATE … FROM (VALUES …): far below PostgreSQL's 65,535 bind limit.
UPDATE_ROWS_PARAMS = 30_000


def update_rows(model: type[models.Model], fields: list[str], rows: list[tuple]) -> int:
    """Give many rows of ``model`` each its own new values, in one statement per batch.

    ``rows`` are ``(pk, value of fields[0], value of fields[1], …)``. On PostgreSQL
    this is ``UPDATE … FROM (VALUES …)``; elsewhere one ``executemany`` of a
    single-row UPDATE. ``QuerySet.bulk_update`` writes a ``CASE WHEN`` per field,
    which PostgreSQL evaluates row by row against every branch (quadratic).
    The caller owns the rule that makes the values right (and, for stock
    levels, must be ``inventory.services``). Returns the number of rows given.
    """
    if not rows:
        return 0
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    pk = meta.pk
    targets = [meta.get_field(name) for name in fields]

    def prepared(row: tuple) -> list:
        values = [pk.get_db_prep_save(row[0], connection)]
        values += [f.get_db_prep_save(v, connection) for f, v in zip(targets, row[1:], strict=True)]
        return values

    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            assignments = ", ".join(f"{quote(f.column)} = %s" for f in targets)
            sql = f"UPDATE {table} SET {assignments} WHERE {quote(pk.column)} = %s"  # noqa: S608
            cursor.executemany(sql, [(*values[1:], values[0]) for values in map(prepared, rows)])
            return len(rows)
        casts = [pk.rel_db_type(connection)] + [f.cast_db_type(connection) for f in targets]
        marks = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
        names = ", ".join(quote(c) for c in ["_pk"] + [f.column for f in targets])
        assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in targets)
        step = max(1, UPDATE_ROWS_PARAMS // len(casts))
        for start in range(0, len(rows), step):
            batch = rows[start : start + step]
            params = [value for row in batch for value in prepared(row)]
            sql = (
                f"UPDATE {table} SET {assignments} "  # noqa: S608
                f"FROM (VALUES {', '.join([marks] * len(batch))}) AS v({names}) "
                f"WHERE {table}.{quote(pk.column)} = v._pk"
            )
            cursor.execute(sql, params)
    return len(rows)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys of ``model`` from its sequence (PostgreSQL), in one query.

    For rows written with ``copy_rows``: the caller knows their keys before they
    exist, so that the rows that point at them can be written in the same pass.
    """
    return reserve_ids_of([(model, count)])[0]


def reserve_ids_of(wanted: Sequence[tuple[type[models.Model], int]]) -> list[list[int]]:
    """New primary keys for several tables in one query: for each ``(model, count)`` of
    ``wanted``, ``count`` keys from ``model``'s sequence (PostgreSQL)."""
    wanted = [(model, count) for model, count in wanted]
    keys: list[list[int]] = [[] for _ in wanted]
    asked = [(n, model, count) for n, (model, count) in enumerate(wanted) if count > 0]
    if not asked:
        return keys
    columns = [list(column) for column in zip(*asked, strict=True)]  # n, model, count
    tables = [model._meta.db_table for model in columns[1]]
    keys_of = [model._meta.pk.column for model in columns[1]]
    with connection.cursor() as cursor:
        # Each sequence is looked up once, in a CTE: pg_get_serial_sequence() in the
        # select list runs once per row (14 ms for 2,000 keys instead of 1.5 ms).
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT n, c, pg_get_serial_sequence(t, k)::regclass AS seq "
            "FROM unnest(%s::integer[], %s::text[], %s::text[], %s::integer[]) AS v(n, t, k, c)) "
            "SELECT s.n, nextval(s.seq) FROM s CROSS JOIN LATERAL generate_series(1, s.c)",
            [columns[0], tables, keys_of, columns[2]],
        )
        for n, key in cursor.fetchall():
            keys[n].append(key)
    return keys


def copy_rows(model: type[models.Model], columns: list[str], rows: Iterable[tuple]) -> int:
    """Insert ``rows`` (values in the order of the column names ``columns``) with COPY.

    PostgreSQL only. Binary COPY: each value is sent as the type of its field
    (``int``, ``str``, ``Decimal``, ``bool``, aware ``datetime``, ``date``, ``UUID``
    or None), with no text to format on this side or parse on the server's (a
    third less CPU on both than text COPY, measured on 100,000 history rows). No
    conflict handling: a duplicate key fails the statement (run it in a savepoint
    to recover). Inside a ``LateCopyResults`` block the result is read only when the
    connection is next used, and an error is raised there. Returns the rows written.
    """
    quote = connection.ops.quote_name
    target = ", ".join(quote(column) for column in columns)
    sql = f"COPY {quote(model._meta.db_table)} ({target}) FROM STDIN (FORMAT BINARY)"
    types = copy_types(model, columns)
    late = _late_results.get()
    if late is not None and not late.active(connection):
        late = None
    if late is not None and late.holding:
        rows = list(rows)
        late.held.append((sql, types, rows))
        return len(rows)
    if late is not None:
        rows = list(rows)  # built while the database finishes the COPY sent before
        late.settle()
    return _send_copy(sql, types, rows, late)


def _send_copy(sql: str, types: list[str], rows: Iterable[tuple], late: Any) -> int:
    written = 0
    started = time.monotonic()
    with connection.cursor() as cursor:
        writer = (_EndLater if late is not None else LibpqWriter)(cursor.cursor)
        with cursor.cursor.copy(sql, writer=writer) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
                written += 1
    if late is not None:
        late.pending = True
    if connection.queries_logged:  # as Django logs its own statements (CaptureQueriesContext)
        connection.queries_log.append(
            {"sql": f"{sql} -- {written} rows", "time": f"{time.monotonic() - started:.3f}"}
        )
    return written


class _EndLater(LibpqWriter):
    """Ends a COPY without waiting for its result (``LateCopyResults`` reads it)."""

    def finish(self, exc: BaseException | None = None) -> None:
        if exc is not None:
            super().finish(exc)
            return
        self.connection.wait(_end_copy(self._pgconn))


def _end_copy(pgconn: Any):
    """Send the end of a COPY and flush it; the result stays unread."""
    while pgconn.put_copy_end(None) == 0:
        while not (yield Wait.W):
            continue
    while True:
        while not (yield Wait.W):
            continue
        if pgconn.flush() == 0:
            break


_late_results: ContextVar[LateCopyResults | None] = ContextVar("late_copy_results", default=None)


class LateCopyResults:
    """COPY streams whose result is read when the connection is next used.

    A COPY returns when the database has written every row and its index entries:
    for an import chunk that is time the client only waits (bench/ B4). In a
    ``with LateCopyResults():`` block, ``copy_rows`` sends its rows and the end of
    the stream and returns at once; the database finishes while Python builds the
    next rows. The result is read before the connection's next use — the next
    ``copy_rows``, any statement (an execute wrapper), ``settle()``, the end of the
    block — and a failed COPY raises its error there (a COPY in a savepoint raises
    its ``IntegrityError`` at RELEASE, as before). Call ``settle()`` before using
    the driver's connection directly (pipeline mode). PostgreSQL only.
    """

    def __init__(self) -> None:
        self.pending = False
        self.holding = False
        self.held: list[tuple[str, list[str], list[tuple]]] = []
        self._before_release: Callable[[], None] | None = None
        self._reads_first = False
        self._working = False
        self._alias: str | None = None
        self._token = None
        self._wrapper = None

    def active(self, db: Any) -> bool:
        return self._alias is not None and db.alias == self._alias

    def __enter__(self) -> LateCopyResults:
        if connection.vendor != "postgresql":
            return self
        self._alias = connection.alias
        self._wrapper = connection.execute_wrapper(self._before_statement)
        self._wrapper.__enter__()
        self._token = _late_results.set(self)
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self._alias is None:
            return
        _late_results.reset(self._token)
        self._wrapper.__exit__(None, None, None)
        self._alias = None
        try:
            self.settle()
        except DatabaseError:
            if exc is None:
                raise  # otherwise the block's own error is the one raised

    @contextmanager
    def hold(self, before: Callable[[], None]) -> Iterator[None]:
        """COPYs built in the block are kept, and sent at its end (or before the next
        statement), after ``before()`` — which ends what the connection is busy with."""
        if self._alias is None:
            yield
            return
        self.holding, self._before_release = True, before
        try:
            yield
        except BaseException:
            # Not sent: the block failed, the transaction is rolled back.
            self.holding, self._before_release, self.held = False, None, []
            raise
        self.release()

    @contextmanager
    def reads_first(self) -> Iterator[None]:
        """Statements of the block go to the database before the COPYs held: for reads
        that cannot need those rows (the next chunk's lookups). Sent while ``before``'s
        work is still running (pipeline mode), they are answered right after it."""
        reads_first, self._reads_first = self._reads_first, True
        try:
            yield
        finally:
            self._reads_first = reads_first

    def release(self) -> None:
        if not self.holding:
            return
        self.holding = False
        before, self._before_release = self._before_release, None
        held, self.held = self.held, []
        if before is not None:
            before()
        for sql, types, rows in held:
            self.settle()
            _send_copy(sql, types, rows, self)

    def _before_statement(self, execute, sql, params, many, context):
        if not self._reads_first:
            self.release()
        self.settle()
        return execute(sql, params, many, context)

    def settle(self) -> None:
        """Read the result of the COPY sent last, if it is still unread; raise its error.

        Until the result has arrived, the work given to ``while_waiting`` is done a
        slice at a time (the database is still writing the rows meanwhile). A query
        that work runs (a lookup loaded on first use) settles the COPY first, waiting
        for its result, as any other statement does."""
        if not self.pending:
            return
        raw = connection.connection
        work = _idle_work.get()
        if work is not None and not self._working:
            self._working = True
            try:
                while self.pending:
                    with connection.wrap_database_errors, raw.lock:
                        raw.pgconn.consume_input()  # what has arrived, without waiting
                        busy = raw.pgconn.is_busy()
                    if not busy or not work():
                        break
            finally:
                self._working = False
            if not self.pending:
                return  # a query of the work read the result
        self.pending = False
        with connection.wrap_database_errors, raw.lock:
            for result in raw.wait(generators.fetch_many(raw.pgconn)):
                if result.status != pq.ExecStatus.COMMAND_OK:
                    raise pg_errors.error_from_result(result, encoding=raw.pgconn._encoding)


_idle_work: ContextVar[Callable[[], bool] | None] = ContextVar("idle_work", default=None)


@contextmanager
def while_waiting(work: Callable[[], bool]) -> Iterator[None]:
    """Give ``work`` to do while a COPY's result is awaited (``LateCopyResults``).

    ``work()`` does a small slice of something that needs no database — reading
    the next rows of a sheet — and returns False when it has nothing left to do
    for now. It is called again and again until the database has finished the
    COPY: time the client would otherwise spend waiting.
    """
    token = _idle_work.set(work)
    try:
        yield
    finally:
        _idle_work.reset(token)


def settle_copies() -> None:
    """Read the result of a COPY still unread on the connection (``LateCopyResults``)."""
    late = _late_results.get()
    if late is not None and late.active(connection):
        late.settle()


def copy_types(model: type[models.Model], columns: list[str]) -> list[str]:
    """The PostgreSQL type of each of ``columns`` of ``model``, as binary COPY sends it:
    the field's type without its length or precision ("varchar", "numeric", "bigint")."""
    fields = {field.column: field for field in model._meta.concrete_fields}
    return [fields[column].cast_db_type(connection).split("(")[0].strip() for column in columns]


def array_literal(values: list) -> str | None:
    """``values`` as the text of a PostgreSQL array (``{1,2}``, ``{"a","b"}``) when they are
    all integers or all strings; None otherwise.

    Cast in SQL (``%s::integer[]``), the text is one string for the driver to quote,
    where a list is adapted value by value in Python (a third of the time an import
    chunk spends sending its lookups).
    """
    if all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    if all(type(value) is str for value in values):
        quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
        return '{"' + '","'.join(quoted) + '"}'
    return None


class AnyOf(models.Lookup):
    """``field__any_of=[…]``: ``field IN (SELECT unnest(%s))`` with the list as one array
    parameter on PostgreSQL, ``IN (…)`` elsewhere.

    A long ``__in`` list costs a placeholder per value that the driver scans and
    quotes one by one (psycopg's client-side binding): for the few thousand keys
    of an import chunk, one array is several times faster to send.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = self.rhs
        if not _as_stored(field, values):
            values = [field.get_db_prep_value(v, connection, prepared=False) for v in values]
        if not values:
            return "1 = 0", params
        if connection.vendor == "postgresql":
            # IN (SELECT unnest(…)), not = ANY(…): for a few thousand keys the planner
            # takes ANY for a filter and scans the table (100,000 SKUs: 35 ms), while
            # the subquery is probed through the index (7 ms).
            array = f"{field.cast_db_type(connection)}[]"
            literal = array_literal(values)
            return f"{lhs} IN (SELECT unnest(%s::{array}))", [*params, literal or values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*params, *values]


def _as_stored(field: models.Field, values: list) -> bool:
    """Whether ``values`` need no preparation for ``field``: strings for a text column,
    integers for an integer one (the keys of an import chunk, 100,000 per import)."""
    kind = field.get_internal_type()
    if kind in ("CharField", "TextField", "SlugField"):
        return all(type(value) is str for value in values)
    if kind in ("AutoField", "BigAutoField", "IntegerField", "BigIntegerField", "ForeignKey"):
        return all(type(value) is int for value in values)
    return False


models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)  # foreign keys keep their own lookups


class ChecksInBackground:
    """The deferred constraint checks of rows written so far, run by PostgreSQL while
    Python goes on.

    Django's foreign keys are ``DEFERRABLE INITIALLY DEFERRED``: every row written
    queues a check (is the row it points at there?) that COMMIT runs, one after
    another, while the client waits — 2.6 s of a 100,000-row import (bench/ B4). A
    writer that works in chunks calls ``start()`` after writing one: the checks
    queued so far are sent in pipeline mode (``SET CONSTRAINTS ALL IMMEDIATE``, then
    back to ``DEFERRED``) without waiting for the answer, and the database runs them
    while Python reads the next chunk. ``wait()``, before the next write, collects
    the answer: a failed check raises ``IntegrityError`` there, the transaction is
    aborted and the import is rolled back, as COMMIT would have done.

    Only statements go through the connection until ``wait()``; a query in between
    works, but waits for the checks first. ``close()`` (or the ``with`` block) leaves
    pipeline mode whatever happens. Does nothing on other databases.
    """

    def __init__(self) -> None:
        self._pipeline = None

    def start(self) -> None:
        self.wait()
        if connection.vendor != "postgresql":
            return
        settle_copies()  # pipeline mode needs the connection idle
        connection.ensure_connection()
        pipeline = connection.connection.pipeline()
        pipeline.__enter__()
        self._pipeline = pipeline
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                # A failed check may already be answered here: raised, out of pipeline mode.
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        except BaseException as error:
            self.close(error)
            raise

    def wait(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            with connection.wrap_database_errors:
                pipeline.__exit__(None, None, None)

    def close(self, error: BaseException | None = None) -> None:
        """Leave pipeline mode; after ``error``, a failed check is not raised over it."""
        if error is None:
            self.wait()
            return
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.__exit__(type(error), error, error.__traceback__)

    def __enter__(self) -> ChecksInBackground:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close(exc)
