"""The one writer of stock.

Every function here changes ``Stock.on_hand`` / ``Stock.allocated`` with a
conditional UPDATE (``… WHERE on_hand - allocated >= n``) and writes the
matching ``Movement`` in the same transaction, so that on hand always equals
the sum of the ledger and two staff taking the last unit cannot both win.
When one operation touches several stock rows it takes them in primary-key
order, so that two such operations never deadlock.

Nothing else in the project may write a stock level or a movement
(``tests/inventory/test_guard.py`` fails if something does).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backoffice.db import insert_select
from backoffice.services import submission_claim
from catalog.models import SELLABLE_STATUSES, ListingEvent, ListingStatus, Product, Variant
from catalog.services import listing_refresh_sold_out

from .exceptions import InsufficientStock, InvalidOperation, InvalidQuantity
from .models import Allocation, Movement, MovementKind, Stock, Warehouse

QUANTITY_NOT_POSITIVE = gettext_lazy(
    "Quantity must be a whole number greater than zero; got %(quantity)s."
)
ADJUSTMENT_ZERO = gettext_lazy("An adjustment must change the quantity: zero was given.")
REASON_REQUIRED = gettext_lazy("Give a reason for this %(operation)s.")
REFERENCE_REQUIRED = gettext_lazy("An allocation needs a reference (the order line it is for).")
WAREHOUSE_INACTIVE = gettext_lazy("Warehouse %(warehouse)s is inactive: no stock can move there.")
SAME_WAREHOUSE = gettext_lazy("A transfer needs two different warehouses.")
INSUFFICIENT_STOCK = gettext_lazy("Insufficient stock: %(lines)s.")
INSUFFICIENT_LINE = gettext_lazy(
    "%(sku)s at %(warehouse)s: requested %(requested)s, available %(available)s"
)
NOT_SELLABLE = gettext_lazy("%(sku)s cannot be allocated: its product is %(status)s.")
ALREADY_ALLOCATED = gettext_lazy(
    "%(reference)s already holds an allocation at one of these stock rows; nothing was allocated."
)
OVER_RELEASE = gettext_lazy(
    "Cannot release or ship %(quantity)s for %(reference)s: only %(left)s still allocated."
)
SHIP_BEYOND_ON_HAND = gettext_lazy(
    "Cannot ship %(quantity)s of %(sku)s at %(warehouse)s: only %(on_hand)s on hand."
)
BACKORDERS_IN_USE = gettext_lazy(
    "Backorders cannot be switched off for %(skus)s: more units are allocated than on hand."
)
RESTOCK_DELISTED = gettext_lazy(
    "%(count)s of the selected products are delisted (%(titles)s): relist them before "
    "restocking. Nothing was restocked."
)
RESTOCK_NO_VARIANTS = gettext_lazy("The selected products have no active variants to restock.")
DISPOSE_NOT_DELISTED = gettext_lazy(
    "Only delisted products' remaining stock can be disposed; %(count)s of the selected "
    "products are not delisted (%(titles)s). Nothing was changed."
)
UNKNOWN_DISPOSITION = gettext_lazy("Unknown disposition %(disposition)r.")

# Removal kinds, and what each disposition of a delisted product's stock becomes.
DISPOSITION_KINDS = {
    "return_to_supplier": MovementKind.RETURN_TO_SUPPLIER,
    "donate": MovementKind.DONATION,
    "scrap": MovementKind.DISPOSAL,
    "keep": None,  # kept for relisting: recorded, no movement
}


@dataclass(frozen=True)
class AllocationLine:
    variant: Variant
    warehouse: Warehouse
    quantity: int


@dataclass(frozen=True)
class BulkResult:
    products: int
    stock_rows: int
    units: int


# --- helpers ---------------------------------------------------------------


def _check_quantity(quantity: Any) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity(QUANTITY_NOT_POSITIVE % {"quantity": quantity})
    return quantity


def _check_reason(reason: str, operation: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidOperation(REASON_REQUIRED % {"operation": operation})
    return reason


def _check_warehouse(warehouse: Warehouse) -> None:
    if not warehouse.is_active:
        raise InvalidOperation(WAREHOUSE_INACTIVE % {"warehouse": warehouse.code})


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "pk", None)


def _backorders_allowed(variant: Variant) -> bool:
    # From the database, not from the caller's copy of the variant, which may
    # predate a set_backorders(): a stale copy would give the new row the wrong flag.
    return Variant.objects.filter(pk=variant.pk).values_list("allow_backorder", flat=True).get()


def _stock_row(variant: Variant, warehouse: Warehouse) -> Stock:
    _check_warehouse(warehouse)
    stock, _created = Stock.objects.get_or_create(
        variant=variant,
        warehouse=warehouse,
        defaults={"backorders_allowed": lambda: _backorders_allowed(variant)},
    )
    return stock


def _write_movement(
    stock_id: int,
    *,
    kind: str,
    quantity: int,
    reason: str,
    reference: str,
    actor: Any,
    batch: uuid.UUID | None = None,
) -> Movement:
    # The row is locked by our UPDATE, so this is the level our change produced.
    on_hand = Stock.objects.filter(pk=stock_id).values_list("on_hand", flat=True).get()
    return Movement.objects.create(
        stock_id=stock_id,
        kind=kind,
        quantity=quantity,
        on_hand_after=on_hand,
        reason=reason[:255],
        reference=reference[:120],
        actor_id=_actor_id(actor),
        batch=batch,
        created_at=timezone.now(),
    )


def _insufficient(stock: Stock, requested: int) -> dict:
    current = Stock.objects.filter(pk=stock.pk).values("on_hand", "allocated").get()
    return {
        "sku": stock.variant.sku,
        "warehouse": stock.warehouse.code,
        "requested": requested,
        "available": max(current["on_hand"] - current["allocated"], 0),
    }


def _raise_insufficient(lines: list[dict]) -> None:
    text = "; ".join(str(INSUFFICIENT_LINE % line) for line in lines)
    raise InsufficientStock(INSUFFICIENT_STOCK % {"lines": text}, lines)


def _take_free_units(stock: Stock, quantity: int) -> None:
    """Lower on hand by ``quantity`` units that are not allocated, or refuse."""
    updated = Stock.objects.filter(pk=stock.pk, on_hand__gte=F("allocated") + quantity).update(
        on_hand=F("on_hand") - quantity
    )
    if not updated:
        _raise_insufficient([_insufficient(stock, quantity)])


def _refresh_products(product_ids: Iterable[int], actor: Any) -> None:
    ids = sorted(set(product_ids))
    if ids:
        listing_refresh_sold_out(products=Product.objects.filter(pk__in=ids), actor=actor)


# --- single-row operations ---------------------------------------------------


def receive(
    *,
    variant: Variant,
    warehouse: Warehouse,
    quantity: int,
    actor: Any,
    reason: str = "",
    reference: str = "",
    kind: str = MovementKind.RECEIPT,
) -> Movement:
    """Put ``quantity`` units into stock (a receipt, or a customer return with ``kind``).

    Refuses a quantity that is not a positive integer and an inactive
    warehouse. Writes the level, one movement, and clears "sold out" when the
    product becomes sellable again.
    """
    _check_quantity(quantity)
    if kind not in (MovementKind.RECEIPT, MovementKind.RETURN):
        raise InvalidOperation(_("receive() takes receipts and returns only."))
    with transaction.atomic():
        stock = _stock_row(variant, warehouse)
        Stock.objects.filter(pk=stock.pk).update(on_hand=F("on_hand") + quantity)
        movement = _write_movement(
            stock.pk, kind=kind, quantity=quantity, reason=reason, reference=reference, actor=actor
        )
        _refresh_products([variant.product_id], actor)
    return movement


def adjust(
    *,
    variant: Variant,
    warehouse: Warehouse,
    quantity: int,
    reason: str,
    actor: Any,
    reference: str = "",
) -> Movement:
    """Correct on hand by a signed ``quantity`` (found, lost, damaged…), with a reason.

    Refuses zero, a missing reason, and a removal of units that are
    allocated or not there.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity(QUANTITY_NOT_POSITIVE % {"quantity": quantity})
    if quantity == 0:
        raise InvalidQuantity(ADJUSTMENT_ZERO)
    reason = _check_reason(reason, _("adjustment"))
    with transaction.atomic():
        stock = _stock_row(variant, warehouse)
        if quantity > 0:
            Stock.objects.filter(pk=stock.pk).update(on_hand=F("on_hand") + quantity)
        else:
            _take_free_units(stock, -quantity)
        movement = _write_movement(
            stock.pk,
            kind=MovementKind.ADJUSTMENT,
            quantity=quantity,
            reason=reason,
            reference=reference,
            actor=actor,
        )
        _refresh_products([variant.product_id], actor)
    return movement


def dispose(
    *,
    variant: Variant,
    warehouse: Warehouse,
    quantity: int,
    kind: str,
    reason: str,
    actor: Any,
    reference: str = "",
) -> Movement:
    """Take free units out of stock as scrap, donation or a return to the supplier.

    Refuses allocated units, a non-positive quantity and a missing reason.
    """
    _check_quantity(quantity)
    if kind not in (
        MovementKind.DISPOSAL,
        MovementKind.DONATION,
        MovementKind.RETURN_TO_SUPPLIER,
    ):
        raise InvalidOperation(UNKNOWN_DISPOSITION % {"disposition": kind})
    reason = _check_reason(reason, _("disposal"))
    with transaction.atomic():
        stock = _stock_row(variant, warehouse)
        _take_free_units(stock, quantity)
        movement = _write_movement(
            stock.pk, kind=kind, quantity=-quantity, reason=reason, reference=reference, actor=actor
        )
        _refresh_products([variant.product_id], actor)
    return movement


def transfer(
    *,
    variant: Variant,
    source: Warehouse,
    destination: Warehouse,
    quantity: int,
    actor: Any,
    reason: str = "",
    reference: str = "",
) -> tuple[Movement, Movement]:
    """Move free units of one SKU from one warehouse to another, as a pair of movements."""
    _check_quantity(quantity)
    if source.pk == destination.pk:
        raise InvalidOperation(SAME_WAREHOUSE)
    batch = uuid.uuid4()
    with transaction.atomic():
        out_row = _stock_row(variant, source)
        in_row = _stock_row(variant, destination)
        # Lock both rows in primary-key order: two opposite transfers never deadlock.
        for row in sorted((out_row, in_row), key=lambda s: s.pk):
            if row is out_row:
                _take_free_units(out_row, quantity)
            else:
                Stock.objects.filter(pk=in_row.pk).update(on_hand=F("on_hand") + quantity)
        common = {"reason": reason, "reference": reference, "actor": actor, "batch": batch}
        out_move = _write_movement(
            out_row.pk, kind=MovementKind.TRANSFER_OUT, quantity=-quantity, **common
        )
        in_move = _write_movement(
            in_row.pk, kind=MovementKind.TRANSFER_IN, quantity=quantity, **common
        )
        _refresh_products([variant.product_id], actor)
    return out_move, in_move


# --- allocations ---------------------------------------------------------------


def allocate(*, lines: Sequence[AllocationLine], reference: str, actor: Any) -> list[Allocation]:
    """Reserve stock for ``reference``, all lines or none.

    Refuses non-positive quantities, products that are not on sale, an
    inactive warehouse, a reference that already holds an allocation on one of
    the rows, and any line without enough available stock — listing every
    short line in one ``InsufficientStock``. Rows are taken in primary-key
    order with a conditional UPDATE, so concurrent allocations neither
    oversell nor deadlock. Backorder SKUs may go beyond on hand.
    """
    reference = (reference or "").strip()
    if not reference:
        raise InvalidOperation(REFERENCE_REQUIRED)
    if not lines:
        raise InvalidOperation(_("Nothing to allocate: no lines were given."))
    wanted: dict[tuple[int, int], int] = {}
    by_key: dict[tuple[int, int], AllocationLine] = {}
    for line in lines:
        _check_quantity(line.quantity)
        _check_warehouse(line.warehouse)
        key = (line.variant.pk, line.warehouse.pk)
        wanted[key] = wanted.get(key, 0) + line.quantity
        by_key[key] = line
    # The status as it is now, not as the caller's copy of the product says.
    statuses = dict(
        Variant.objects.filter(pk__in=[key[0] for key in by_key]).values_list(
            "pk", "product__status"
        )
    )
    for (variant_id, _warehouse_id), line in by_key.items():
        status = statuses[variant_id]
        if status not in SELLABLE_STATUSES:
            raise InvalidOperation(
                NOT_SELLABLE % {"sku": line.variant.sku, "status": ListingStatus(status).label}
            )

    with transaction.atomic():
        stocks = []
        for key, line in by_key.items():
            stocks.append((_stock_row(line.variant, line.warehouse), wanted[key]))
        stocks.sort(key=lambda pair: pair[0].pk)
        short: list[dict] = []
        for stock, quantity in stocks:
            rows = Stock.objects.filter(pk=stock.pk)
            if not stock.backorders_allowed:
                rows = rows.filter(on_hand__gte=F("allocated") + quantity)
            if not rows.update(allocated=F("allocated") + quantity):
                short.append(_insufficient(stock, quantity))
        if short:
            _raise_insufficient(short)
        try:
            with transaction.atomic():
                allocations = Allocation.objects.bulk_create(
                    [
                        Allocation(
                            stock=stock,
                            reference=reference,
                            quantity=quantity,
                            allocated_quantity=quantity,
                            actor_id=_actor_id(actor),
                        )
                        for stock, quantity in stocks
                    ]
                )
        except IntegrityError:
            raise InvalidOperation(ALREADY_ALLOCATED % {"reference": reference}) from None
        exhausted = Stock.objects.filter(
            pk__in=[s.pk for s, _q in stocks], on_hand__lte=F("allocated")
        ).values_list("variant__product_id", flat=True)
        _refresh_products(exhausted, actor)
    return allocations


def _consume_allocation(allocation: Allocation, quantity: int | None) -> int:
    # The caller lowers ``allocation.quantity`` only once the whole operation has
    # succeeded: a refused ship must leave its copy as it was, for a retry.
    quantity = allocation.quantity if quantity is None else quantity
    _check_quantity(quantity)
    updated = Allocation.objects.filter(pk=allocation.pk, quantity__gte=quantity).update(
        quantity=F("quantity") - quantity
    )
    if not updated:
        left = (
            Allocation.objects.filter(pk=allocation.pk).values_list("quantity", flat=True).first()
        )
        raise InvalidOperation(
            OVER_RELEASE
            % {"quantity": quantity, "reference": allocation.reference, "left": left or 0}
        )
    return quantity


def release(*, allocation: Allocation, actor: Any, quantity: int | None = None) -> int:
    """Give back reserved units (all that is left by default); returns how many.

    Refuses more than is still allocated. Writes no movement: on hand is unchanged.
    """
    with transaction.atomic():
        quantity = _consume_allocation(allocation, quantity)
        Stock.objects.filter(pk=allocation.stock_id).update(allocated=F("allocated") - quantity)
        product_id = (
            Stock.objects.filter(pk=allocation.stock_id)
            .values_list("variant__product_id", flat=True)
            .get()
        )
        _refresh_products([product_id], actor)
    allocation.quantity -= quantity
    return quantity


def ship(
    *, allocation: Allocation, actor: Any, quantity: int | None = None, reference: str = ""
) -> Movement:
    """Ship reserved units: on hand and allocated both go down, one shipment movement.

    Refuses more than is still allocated, and more than is on hand (a
    backorder waiting for stock).
    """
    with transaction.atomic():
        quantity = _consume_allocation(allocation, quantity)
        updated = Stock.objects.filter(pk=allocation.stock_id, on_hand__gte=quantity).update(
            on_hand=F("on_hand") - quantity, allocated=F("allocated") - quantity
        )
        if not updated:
            stock = Stock.objects.select_related("variant", "warehouse").get(pk=allocation.stock_id)
            raise InsufficientStock(
                SHIP_BEYOND_ON_HAND
                % {
                    "quantity": quantity,
                    "sku": stock.variant.sku,
                    "warehouse": stock.warehouse.code,
                    "on_hand": stock.on_hand,
                }
            )
        movement = _write_movement(
            allocation.stock_id,
            kind=MovementKind.SHIPMENT,
            quantity=-quantity,
            reason="",
            reference=reference or allocation.reference,
            actor=actor,
        )
    allocation.quantity -= quantity
    return movement


def set_backorders(*, variants: models.QuerySet, allowed: bool, actor: Any) -> int:
    """Allow or stop backorders for SKUs, keeping every stock row's copy in step.

    Refuses to stop backorders while a SKU has more allocated than on hand.
    Returns the number of variants changed.
    """
    with transaction.atomic():
        ids = list(variants.order_by("pk").select_for_update().values_list("pk", flat=True))
        stocks = Stock.objects.filter(variant_id__in=ids)
        if not allowed:
            over = list(
                stocks.filter(allocated__gt=F("on_hand")).values_list("variant__sku", flat=True)[
                    :10
                ]
            )
            if over:
                raise InvalidOperation(BACKORDERS_IN_USE % {"skus": ", ".join(over)})
        changed = Variant.objects.filter(pk__in=ids).exclude(allow_backorder=allowed)
        product_ids = list(changed.values_list("product_id", flat=True).distinct())
        count = changed.update(allow_backorder=allowed)
        stocks.update(backorders_allowed=allowed)
        _refresh_products(product_ids, actor)
    return count


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
    submission_key: str | None = None,
) -> BulkResult:
    """Receive ``quantity`` units of every active variant of ``products`` into ``warehouse``.

    One receipt movement per stock row, with the import/action as reference.
    Refuses the whole selection if any product is delisted (relist first), a
    non-positive quantity, an inactive warehouse and a form submitted twice.
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
                "reference": models.Value(f"restock:{batch.hex[:12]}"),
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
    delisted and an unknown disposition. Constant number of queries.
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
