"""Loading a past ledger: a migration from another system, or benchmark data."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext, gettext_lazy

from catalog.models import Product
from catalog.services import listing_refresh_sold_out

from ..exceptions import InvalidOperation, InvalidQuantity
from ..models import Movement, MovementKind, Stock
from ._base import (
    QUANTITY_NOT_POSITIVE,
    _actor_id,
    _refuse_lot_tracked,
)

HISTORY_NOT_EMPTY = gettext_lazy(
    "A past ledger can only be loaded into empty stock rows; %(count)s of them already have "
    "stock or movements. Nothing was loaded."
)
HISTORY_NEGATIVE = gettext_lazy(
    "Stock row %(stock)s would go below zero at entry %(index)s of the history. Nothing was loaded."
)
HISTORY_UNORDERED = gettext_lazy(
    "The history must list each stock row's entries together; stock row %(stock)s appears "
    "again at entry %(index)s. Nothing was loaded."
)
HISTORY_UNKNOWN_KIND = gettext_lazy(
    "Unknown movement kind %(kind)r at entry %(index)s of the history. Nothing was loaded."
)
MOVEMENT_COLUMNS = (
    "stock_id",
    "kind",
    "quantity",
    "on_hand_after",
    "reason",
    "reference",
    "batch",
    "actor_id",
    "created_at",
)


def ledger_load_history(
    *,
    entries: Iterable[tuple[int, str, int, Any, str]],
    actor: Any,
    reason: str = "history import",
) -> int:
    """Load a past ledger into empty stock rows: a migration from another system.

    ``entries`` are ``(stock_id, kind, quantity, created_at, reference)``, each
    stock row's entries together and in time order. Every movement is written
    with its running on hand, then each level is set to its final balance, in
    one transaction; on PostgreSQL the rows are streamed with COPY. Refuses
    stock rows that already hold stock or movements, stock rows of lot-tracked
    SKUs (a history without lots would break their lot levels), a running
    balance below zero, a zero or non-integer quantity and an unknown kind.
    Returns the number of movements written.
    """
    batch = uuid.uuid4()
    actor_id = _actor_id(actor)
    kinds = set(MovementKind.values)
    reason = reason[:255]

    def rows():
        current, balance, seen = None, 0, set()
        for index, (stock_id, kind, quantity, created_at, reference) in enumerate(entries, 1):
            if kind not in kinds:
                raise InvalidOperation(HISTORY_UNKNOWN_KIND % {"kind": kind, "index": index})
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
                raise InvalidQuantity(QUANTITY_NOT_POSITIVE % {"quantity": quantity})
            if stock_id != current:
                if stock_id in seen:
                    raise InvalidOperation(HISTORY_UNORDERED % {"stock": stock_id, "index": index})
                seen.add(stock_id)
                current, balance = stock_id, 0
            balance += quantity
            if balance < 0:
                raise InvalidOperation(HISTORY_NEGATIVE % {"stock": stock_id, "index": index})
            yield (
                stock_id,
                kind,
                quantity,
                balance,
                reason,
                reference[:120],
                batch,
                actor_id,
                created_at,
            )

    with transaction.atomic():
        written = _copy_movements(rows())
        loaded = Movement.objects.filter(batch=batch).values("stock_id")
        busy = (
            Stock.objects.filter(pk__in=loaded)
            .filter(
                ~Q(on_hand=0)
                | ~Q(allocated=0)
                | Exists(Movement.objects.filter(stock=OuterRef("pk")).exclude(batch=batch))
            )
            .count()
        )
        if busy:
            raise InvalidOperation(HISTORY_NOT_EMPTY % {"count": busy})
        last = Movement.objects.filter(stock=OuterRef("pk"), batch=batch).order_by("-id")
        Stock.objects.filter(pk__in=loaded).update(
            on_hand=Subquery(last.values("on_hand_after")[:1])
        )
        # Read under the row locks just taken: variant_track_lots cannot switch them now.
        _refuse_lot_tracked(
            list(
                Stock.objects.filter(pk__in=loaded, variant__track_lots=True).values_list(
                    "variant__sku", flat=True
                )[:5]
            ),
            gettext("loading a past ledger"),
        )
        listing_refresh_sold_out(
            products=Product.objects.filter(
                pk__in=Stock.objects.filter(pk__in=loaded).values("variant__product_id")
            ),
            actor=actor,
        )
    return written


def _copy_movements(rows: Iterable[tuple]) -> int:
    table = Movement._meta.db_table
    columns = ", ".join(MOVEMENT_COLUMNS)
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
            # The planner must know about the rows just loaded before the checks below.
            cursor.execute(f"ANALYZE {table}")
            return written
        marks = ", ".join(["%s"] * len(MOVEMENT_COLUMNS))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
        chunk = []
        for row in rows:
            # The backend's own datetime format: SQLite's date functions read only that.
            created = connection.ops.adapt_datetimefield_value(row[8])
            chunk.append((*row[:6], row[6].hex, row[7], created))
            if len(chunk) == 5000:
                cursor.executemany(sql, chunk)
                written += len(chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)
            written += len(chunk)
    return written
