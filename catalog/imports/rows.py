"""New rows with their history rows, written the fastest way the database allows.

On PostgreSQL the keys are taken from the table's sequence first
(``reserve_ids``) and the rows and their django-simple-history "created" rows
are streamed with COPY (``copy_rows``) — no model instances, no SQL text per
row. Elsewhere (SQLite) ``bulk_create`` and one ``INSERT … SELECT`` of history
(``record_history``).
"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Any

from django.db import connection, models

from backoffice.db import copy_rows, record_history, reserve_ids, reserve_ids_of


class NewRow:
    """A row to create, as attributes (``title``, ``category_id``…); ``pk`` once written."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)
        self.pk: int | None = None


class KeyPool:
    """Primary keys reserved ahead, by model (PostgreSQL).

    A writer tops the pool up, in one query, with as many keys as its next chunk
    could need, while it looks that chunk up; it takes them as it plans, without
    another query. Keys a chunk does not use stay for the next (an unused key is
    a gap in the sequence, as a rolled-back insert leaves). Elsewhere the pool
    stays empty and rows get their keys when written.
    """

    def __init__(self) -> None:
        self._keys: dict[type[models.Model], list[int]] = {}

    def top_up(self, wanted: list[tuple[type[models.Model], int]]) -> None:
        if connection.vendor != "postgresql":
            return
        short = [(model, max(0, count - len(self._keys.get(model, ())))) for model, count in wanted]
        for (model, _count), keys in zip(short, reserve_ids_of(short), strict=True):
            self._keys.setdefault(model, []).extend(keys)

    def take(self, model: type[models.Model], count: int) -> list[int]:
        """``count`` keys of ``model``: from the pool, and from the sequence if it runs short."""
        keys = self._keys.get(model, [])
        if len(keys) < count:
            keys += reserve_ids(model, count - len(keys))
        self._keys[model] = keys[count:]
        return keys[:count]


def assign_ids(groups: list[tuple[type[models.Model], list[NewRow]]], pool: KeyPool) -> None:
    """Give the rows of each ``(model, rows)`` their keys now, from ``pool`` (PostgreSQL;
    elsewhere they get them when written): the rows that point at them can be built,
    and every COPY of a chunk sent, without waiting for the database in between."""
    if connection.vendor != "postgresql":
        return
    for model, rows in groups:
        unkeyed = [row for row in rows if row.pk is None]
        for row, key in zip(unkeyed, pool.take(model, len(unkeyed)), strict=True):
            row.pk = key


def _defaults(model: type[models.Model], now: datetime) -> dict[str, Any]:
    """Each field's value when a row does not give it (computed once per call, not per row)."""
    return {
        field.attname: now
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        else field.get_default()
        for field in model._meta.concrete_fields
    }


def create_rows(
    model: type[models.Model],
    rows: list[NewRow],
    *,
    actor: Any,
    reason: str,
    now: datetime,
    history: bool = True,
) -> None:
    """Insert ``rows`` (setting their ``pk``) and, with ``history``, a "+" history row each."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        instances = [model(**{k: v for k, v in row.__dict__.items() if k != "pk"}) for row in rows]
        model.objects.bulk_create(instances)
        for row, instance in zip(rows, instances, strict=True):
            row.pk = row.id = instance.pk
        if history:
            record_history(
                model, [row.pk for row in rows], actor=actor, reason=reason, history_type="+"
            )
        return
    pk = model._meta.pk
    unkeyed = [row for row in rows if row.pk is None]  # others have theirs (assign_ids)
    for row, key in zip(unkeyed, reserve_ids(model, len(unkeyed)), strict=True):
        row.pk = key
    for row in rows:
        row.__dict__[pk.attname] = row.pk
    fields = model._meta.concrete_fields
    defaults = _defaults(model, now)
    names = [f.attname for f in fields]
    take = itemgetter(*names)
    written = [take({**defaults, **row.__dict__}) for row in rows]
    copy_rows(model, [f.column for f in fields], written)
    if not history:
        return
    historical = model.history.model
    extra = {
        "history_date": now,
        "history_type": "+",
        "history_user_id": getattr(actor, "pk", None),
        "history_change_reason": reason,
    }
    # A history row is the row written plus constants: each of its values is taken by
    # position from ``row + constants`` (no dictionary per row).
    position = {name: n for n, name in enumerate(names)}
    columns, picks, constants = [], [], []
    for field in historical._meta.concrete_fields:
        if field.attname == "history_id":
            continue
        columns.append(field.column)
        if field.attname in position:
            picks.append(position[field.attname])
        else:
            picks.append(len(names) + len(constants))
            constants.append(extra.get(field.attname))
    pick = itemgetter(*picks)
    tail = tuple(constants)
    copy_rows(historical, columns, (pick(row + tail) for row in written))
