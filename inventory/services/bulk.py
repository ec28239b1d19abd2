"""Bulk operations over product selections, in a constant number of queries."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from backoffice.db import insert_select
from backoffice.services import submission_claim
from catalog.models import ListingEvent, ListingStatus, Product, Variant
from catalog.services import listing_refresh_sold_out

from ..exceptions import InvalidOperation
from ..models import Movement, MovementKind, Stock, Warehouse
from ._base import (
    DISPOSE_NOT_DELISTED,
    DISPOSITION_KINDS,
    RESTOCK_DELISTED,
    RESTOCK_NO_VARIANTS,
    UNKNOWN_DISPOSITION,
    BulkResult,
    _actor_id,
    _check_quantity,
    _check_warehouse,
    _refuse_lot_tracked,
)

# --- bulk operations (constant number of queries) ---------------------------------


def _titles(products: models.QuerySet) -> str:
    return ", ".join(products.order_by("pk").values_list("title", flat=True)[:5])


def restock_products(
    *,
    products: models.QuerySet,
    warehouse: Warehouse,
    quantity: int,
    actor: Any,
    reason: str = "",
    reference: str = "",
    submission_key: str | None = None,
) -> BulkResult:
    """Receive ``quantity`` units of every active variant of ``products`` into ``warehouse``.

    One receipt movement per stock row, with ``reference`` (a PO, an import run)
    or the action's own batch as reference.
    Refuses the whole selection if any product is delisted (relist first) or
    has a lot-tracked SKU (receive those with their lot code), a non-positive
    quantity, an inactive warehouse and a form submitted twice.
    Runs the same number of queries for ten products as for a hundred thousand.
    """
    _check_quantity(quantity)
    _check_warehouse(warehouse)
    selected = Product.objects.filter(pk__in=products.values("pk"))
    batch = uuid.uuid4()
    reason = reason.strip() or _("restock")
    with transaction.atomic():
        submission_claim(key=submission_key, operation="restock", actor=actor)
        delisted = selected.filter(status=ListingStatus.DELISTED)
        delisted_count = delisted.count()
        if delisted_count:
            raise InvalidOperation(
                RESTOCK_DELISTED % {"count": delisted_count, "titles": _titles(delisted)}
            )
        variants = Variant.objects.filter(product__in=selected, is_active=True)
        insert_select(
            Stock,
            {
                "variant_id": F("pk"),
                "warehouse_id": models.Value(warehouse.pk),
                "on_hand": models.Value(0),
                "allocated": models.Value(0),
                "backorders_allowed": F("allow_backorder"),
                "safety_stock": models.Value(0),
                "reorder_point": models.Value(0),
            },
            variants,
            ignore_conflicts=True,
        )
        stocks = Stock.objects.filter(warehouse=warehouse, variant__in=variants)
        locked = list(stocks.order_by("pk").select_for_update().values_list("pk", flat=True))
        if not locked:
            raise InvalidOperation(RESTOCK_NO_VARIANTS)
        # Read under the row locks: variant_track_lots cannot switch them meanwhile.
        _refuse_lot_tracked(
            list(variants.filter(track_lots=True).values_list("sku", flat=True)[:5]),
            _("restocking"),
        )
        rows = Stock.objects.filter(pk__in=stocks.values("pk"))
        rows.update(on_hand=F("on_hand") + quantity)
        insert_select(
            Movement,
            {
                "stock_id": F("pk"),
                "kind": models.Value(MovementKind.RECEIPT.value),
                "quantity": models.Value(quantity),
                "on_hand_after": F("on_hand"),
                "reason": models.Value(reason[:255]),
                "reference": models.Value((reference or f"restock:{batch.hex[:12]}")[:120]),
                "batch": models.Value(batch, output_field=models.UUIDField()),
                "actor_id": models.Value(_actor_id(actor), output_field=models.BigIntegerField()),
                "created_at": models.Value(timezone.now(), output_field=models.DateTimeField()),
            },
            rows,
        )
        listing_refresh_sold_out(products=selected, actor=actor)
        product_count = selected.count()
    return BulkResult(products=product_count, stock_rows=len(locked), units=len(locked) * quantity)


def dispose_remaining(
    *,
    products: models.QuerySet,
    disposition: str,
    actor: Any,
    note: str = "",
    warehouse: Warehouse | None = None,
    submission_key: str | None = None,
) -> BulkResult:
    """Give the free stock of delisted products a disposition (F-04 step 7).

    ``return_to_supplier``, ``donate`` and ``scrap`` take every unallocated
    unit out as one movement per stock row; ``keep`` keeps it for relisting.
    Each product gets a disposition event. Refuses products that are not
    delisted, products with lot-tracked stock to remove (dispose of it by lot)
    and an unknown disposition. Constant number of queries.
    """
    if disposition not in DISPOSITION_KINDS:
        raise InvalidOperation(UNKNOWN_DISPOSITION % {"disposition": disposition})
    kind = DISPOSITION_KINDS[disposition]
    selected = Product.objects.filter(pk__in=products.values("pk"))
    batch = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        submission_claim(key=submission_key, operation="dispose", actor=actor)
        not_delisted = selected.exclude(status=ListingStatus.DELISTED)
        count = not_delisted.count()
        if count:
            raise InvalidOperation(
                DISPOSE_NOT_DELISTED % {"count": count, "titles": _titles(not_delisted)}
            )
        stocks = Stock.objects.filter(variant__product__in=selected, on_hand__gt=F("allocated"))
        if warehouse is not None:
            stocks = stocks.filter(warehouse=warehouse)
        locked = list(stocks.order_by("pk").select_for_update().values_list("pk", flat=True))
        if kind is not None:
            _refuse_lot_tracked(
                list(
                    stocks.filter(variant__track_lots=True).values_list("variant__sku", flat=True)[
                        :5
                    ]
                ),
                _("disposing of the remaining stock"),
            )
        units = stocks.aggregate(units=models.Sum(F("on_hand") - F("allocated")))["units"] or 0
        insert_select(
            ListingEvent,
            {
                "product_id": F("pk"),
                "kind": models.Value(ListingEvent.Kind.DISPOSITION.value),
                "reason": models.Value(disposition),
                "note": models.Value(note),
                "on_hand": models.Value(0),
                "available": models.Value(0),
                "units_sold_30d": models.Value(0),
                "batch": models.Value(batch, output_field=models.UUIDField()),
                "actor_id": models.Value(_actor_id(actor), output_field=models.BigIntegerField()),
                "created_at": models.Value(now, output_field=models.DateTimeField()),
            },
            selected,
        )
        if kind is not None and locked:
            rows = Stock.objects.filter(pk__in=stocks.values("pk"))
            insert_select(
                Movement,
                {
                    "stock_id": F("pk"),
                    "kind": models.Value(kind.value),
                    "quantity": F("allocated") - F("on_hand"),
                    "on_hand_after": F("allocated"),
                    "reason": models.Value((note or disposition)[:255]),
                    "reference": models.Value(f"disposition:{batch.hex[:12]}"),
                    "batch": models.Value(batch, output_field=models.UUIDField()),
                    "actor_id": models.Value(
                        _actor_id(actor), output_field=models.BigIntegerField()
                    ),
                    "created_at": models.Value(now, output_field=models.DateTimeField()),
                },
                rows,
            )
            Stock.objects.filter(
                pk__in=Movement.objects.filter(batch=batch).values("stock_id")
            ).update(on_hand=F("allocated"))
        product_count = selected.count()
    return BulkResult(
        products=product_count, stock_rows=len(locked), units=units if kind is not None else 0
    )
