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

from backoffice.db import copy_rows, record_history, reserve_ids


class NewRow:
    """A row to create, as attributes (``title``, ``category_id``…); ``pk`` once written."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)
        self.pk: int | None = None


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
    for row, key in zip(rows, reserve_ids(model, len(rows)), strict=True):
        row.pk = key
        row.__dict__[pk.attname] = key
    fields = model._meta.concrete_fields
    defaults = _defaults(model, now)
    values = [{**defaults, **row.__dict__} for row in rows]
    take = itemgetter(*(f.attname for f in fields))
    copy_rows(model, [f.column for f in fields], map(take, values))
    if not history:
        return
    historical = model.history.model
    extra = {
        "history_date": now,
        "history_type": "+",
        "history_user_id": getattr(actor, "pk", None),
        "history_change_reason": reason,
    }
    columns, names = [], []
    for field in historical._meta.concrete_fields:
        if field.attname == "history_id":
            continue
        columns.append(field.column)
        names.append(field.attname)
    base = {**dict.fromkeys(names), **extra}
    take = itemgetter(*names)
    copy_rows(historical, columns, (take({**base, **v}) for v in values))
