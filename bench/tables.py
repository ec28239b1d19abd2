"""The database as autovacuum leaves it, before a benchmark measures it."""

from __future__ import annotations

from contextlib import suppress

from django.db import DatabaseError, connection


def vacuum() -> None:
    """``VACUUM (ANALYZE)`` the whole database (PostgreSQL, outside a transaction).

    Earlier runs leave dead rows behind: a benchmark that rolls back 100,000
    inserted rows leaves them in every table and index it wrote, and B2's loops
    update the same rows again and again. Autovacuum would clean them up at a
    moment of its choosing — in the middle of a measurement — or, where it is
    switched off (as on these machines), never, and each run would be slower
    than the last (B4 took 33 s on a database after a day of such runs, 10–12 s
    on a vacuumed one). So every benchmark starts from a vacuumed database
    (``bench.run``). Inside a transaction (the tests) this does nothing.

    Then a ``CHECKPOINT`` (where the role may run one): the server's dirty pages
    are written before the clock starts, not by a checkpoint that the previous
    runs' WAL (B4 writes ~290 MB a run; ``max_wal_size`` is 1 GB here) starts in
    the middle of the next measurement. It does not remove the machine's own
    variance: B4 ranged 9.9-12.8 s over six runs of the same code without it and
    9.1-11.3 s with it.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        with suppress(DatabaseError):  # needs superuser or pg_checkpoint: measured without
            cursor.execute("CHECKPOINT")
