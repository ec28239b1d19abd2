"""Allocations: reserve, release and ship stock for a reference, without overselling."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import SELLABLE_STATUSES, ListingStatus, Product, Variant

from ..exceptions import InsufficientStock, InvalidOperation
from ..models import Allocation, Movement, MovementKind, Stock
from ._base import (
    ALREADY_ALLOCATED,
    BACKORDERS_IN_USE,
    BACKORDERS_LOT_TRACKED,
    NOT_SELLABLE,
    OVER_RELEASE,
    REFERENCE_REQUIRED,
    SHIP_BEYOND_ON_HAND,
    AllocationLine,
    _actor_id,
    _check_quantity,
    _check_warehouse,
    _insufficient,
    _raise_insufficient,
    _refresh_products,
    _stock_row,
    _write_movement,
)
from .lots import consume_allocation_lots, lots_available, pick_lots, reserve_lots

# --- allocations ---------------------------------------------------------------


# Allocation is the hottest write of the shop (every order line, every channel),
# and with many concurrent callers Python's own cost per call bounds the rate.
# So its three statements are plain SQL, compiled once: the stock rows with their
# product status, the allocation rows, and the conditional UPDATE. RETURNING is
# understood by PostgreSQL and SQLite >= 3.35. A lot-tracked SKU (rare, and known
# from the first statement) adds three statements for all its lines together:
# its lot rows locked, reserved, and recorded on the allocations. One line of a
# SKU without lots on PostgreSQL — the common case: an order allocates line by
# line — is a single statement instead (``_allocate_one``).


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _allocate_sql() -> str:
    # Takes the row lock, checks, reserves and returns what is left in one round
    # trip, so the lock is held only from here to COMMIT.
    return (
        f"UPDATE {_table(Stock)} SET allocated = allocated + %s "  # noqa: S608 - names only
        "WHERE id = %s AND (backorders_allowed OR on_hand - allocated >= %s) "
        "RETURNING on_hand - allocated"
    )


def _allocate_lots_sql() -> str:
    # Lot-tracked SKUs never backorder: the row must hold the units; which of
    # them may be sold (lots not expired) is settled on the lot rows.
    return (
        f"UPDATE {_table(Stock)} SET allocated = allocated + %s "  # noqa: S608 - names only
        "WHERE id = %s AND on_hand - allocated >= %s "
        "RETURNING on_hand - allocated"
    )


def _is_duplicate_reference(error: IntegrityError) -> bool:
    text = str(error)
    return "allocation_unique_reference" in text or "inventory_allocation.reference" in text


def _rows_for(by_key: dict[tuple[int, int], AllocationLine]) -> dict[tuple[int, int], tuple]:
    """(variant, warehouse) -> (stock id, product status, product id, tracks lots).

    Creates missing rows.
    """
    match = " OR ".join(["(s.variant_id = %s AND s.warehouse_id = %s)"] * len(by_key))
    sql = (
        "SELECT s.id, s.variant_id, s.warehouse_id, p.status, p.id, v.track_lots "  # noqa: S608
        f"FROM {_table(Stock)} s "
        f"JOIN {_table(Variant)} v ON v.id = s.variant_id "
        f"JOIN {_table(Product)} p ON p.id = v.product_id "
        f"WHERE {match}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [part for key in by_key for part in key])
        found = {
            (row[1], row[2]): (row[0], row[3], row[4], bool(row[5])) for row in cursor.fetchall()
        }
    for key, line in by_key.items():
        if key not in found:
            stock = _stock_row(line.variant, line.warehouse)
            status, product_id, tracks_lots = (
                Variant.objects.filter(pk=line.variant.pk)
                .values_list("product__status", "product_id", "track_lots")
                .get()
            )
            found[key] = (stock.pk, status, product_id, tracks_lots)
    return found


def _allocate_lots(
    lot_lines: dict[int, tuple[int, AllocationLine]],
    unlocked: set[int],
    allocations: list[Allocation],
) -> list[dict]:
    """Reserve lot-tracked lines on their lots, first expired first out; the short lines.

    ``lot_lines`` maps stock id -> (units, line). The rows not in ``unlocked``
    had their level raised (and so are locked) by this transaction: only their
    lots are locked, so a lot is never locked without its stock row. The
    others are short already; what their lots hold is read without a lock.
    """
    locked = {
        stock_id: units
        for stock_id, (units, _line) in lot_lines.items()
        if stock_id not in unlocked
    }
    picks, short = pick_lots(locked) if locked else ([], {})
    if unlocked:
        free = lots_available(sorted(unlocked))
        short.update({stock_id: free.get(stock_id, 0) for stock_id in unlocked})
    elif not short and not reserve_lots(
        picks, {allocation.stock_id: allocation.pk for allocation in allocations}
    ):
        free = lots_available(sorted(locked))
        short = {stock_id: free.get(stock_id, 0) for stock_id in locked}
    return [
        {
            "sku": lot_lines[stock_id][1].variant.sku,
            "warehouse": lot_lines[stock_id][1].warehouse.code,
            "requested": lot_lines[stock_id][0],
            "available": short[stock_id],
        }
        for stock_id in sorted(short)
    ]


def _insert_allocations(rows: list[tuple[int, int]], reference: str, actor: Any) -> list:
    """Insert (stock id, quantity) allocations for ``reference``; returns the instances."""
    now = timezone.now()
    actor_id = _actor_id(actor)
    values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    sql = (
        f"INSERT INTO {_table(Allocation)} "  # noqa: S608 - names only
        "(stock_id, reference, quantity, allocated_quantity, actor_id, created_at) "
        f"VALUES {values} RETURNING id"
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    params = []
    for stock_id, quantity in rows:
        params += [stock_id, reference, quantity, quantity, actor_id, stamp]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    return [
        _stored(pk, stock_id, reference, quantity, actor_id, now)
        for pk, (stock_id, quantity) in zip(ids, rows, strict=True)
    ]


def _stored(pk, stock_id, reference, quantity, actor_id, now) -> Allocation:
    """The instance of an allocation row just inserted with plain SQL."""
    allocation = Allocation(
        id=pk,
        stock_id=stock_id,
        reference=reference,
        quantity=quantity,
        allocated_quantity=quantity,
        actor_id=actor_id,
        created_at=now,
    )
    allocation._state.adding = False
    allocation._state.db = connection.alias
    return allocation


def _allocate_one_sql() -> str:
    # One line of a SKU without lots, on PostgreSQL: the sellable check, the
    # conditional UPDATE and the allocation row in one statement. Outside a
    # transaction the statement is its own, so the row lock is held for the
    # statement and its commit only, never across a round trip to the client;
    # a duplicate reference fails the statement and nothing is written. The
    # sellable check is an EXISTS on the row being updated (a join in FROM
    # would be re-run for every waiter when the hot row changes under it).
    statuses = ", ".join(f"'{status}'" for status in SELLABLE_STATUSES)
    return (
        f"WITH u AS (UPDATE {_table(Stock)} t "  # noqa: S608 - names and constant statuses only
        "SET allocated = t.allocated + %s "
        "WHERE t.variant_id = %s AND t.warehouse_id = %s "
        "AND (t.backorders_allowed OR t.on_hand - t.allocated >= %s) "
        f"AND EXISTS (SELECT 1 FROM {_table(Variant)} v "
        f"JOIN {_table(Product)} p ON p.id = v.product_id "
        f"WHERE v.id = t.variant_id AND p.status IN ({statuses}) AND NOT v.track_lots) "
        "RETURNING t.id, t.on_hand - t.allocated AS left_over), "
        f"a AS (INSERT INTO {_table(Allocation)} "
        "(stock_id, reference, quantity, allocated_quantity, actor_id, created_at) "
        "SELECT u.id, %s, %s, %s, %s, %s FROM u RETURNING id) "
        "SELECT u.id, u.left_over, a.id FROM u CROSS JOIN a"
    )


def _allocate_one(line: AllocationLine, reference: str, actor: Any) -> list[Allocation] | None:
    """The single-statement allocation of one line (PostgreSQL), or None.

    None when the statement reserved nothing — a short line, a product not on
    sale, a missing stock row, a lot-tracked SKU — and the general path is to
    decide (and word the refusal).
    """
    now = timezone.now()
    actor_id = _actor_id(actor)
    params = [
        line.quantity,
        line.variant.pk,
        line.warehouse.pk,
        line.quantity,
        reference,
        line.quantity,
        line.quantity,
        actor_id,
        now,
    ]
    try:
        savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
        with savepoint, connection.cursor() as cursor:
            cursor.execute(_allocate_one_sql(), params)
            found = cursor.fetchone()
    except IntegrityError as error:
        if _is_duplicate_reference(error):
            raise InvalidOperation(ALREADY_ALLOCATED % {"reference": reference}) from None
        raise
    if found is None:
        return None
    stock_id, left_over, pk = found
    if left_over <= 0:
        with transaction.atomic():
            _refresh_products([line.variant.product_id], actor)
    return [_stored(pk, stock_id, reference, line.quantity, actor_id, now)]


def allocate(*, lines: Sequence[AllocationLine], reference: str, actor: Any) -> list[Allocation]:
    """Reserve stock for ``reference``, all lines or none.

    Refuses non-positive quantities, products that are not on sale (as the
    database has them now, not the caller's copy), an inactive warehouse, a
    reference that already holds an allocation on one of the rows, and any
    line without enough available stock — listing every short line in one
    ``InsufficientStock``. Rows are taken in primary-key order with a
    conditional UPDATE, so concurrent allocations neither oversell nor
    deadlock. Backorder SKUs may go beyond on hand. A lot-tracked SKU takes
    its lots first expired first out (then first in first out), never an
    expired lot, and never beyond what its lots hold; the lots taken are
    recorded on the allocation (``Allocation.lots``). Writes the allocation
    rows and the allocated levels; marks products sold out when their last
    free unit goes.
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

    # One line of a SKU without lots (as the caller knows it: the statement checks
    # again) on PostgreSQL takes the single-statement path.
    if len(lines) == 1 and not lines[0].variant.track_lots and connection.vendor == "postgresql":
        allocations = _allocate_one(lines[0], reference, actor)
        if allocations is not None:
            return allocations
    try:
        with transaction.atomic():
            rows = _rows_for(by_key)
            for key, line in by_key.items():
                status = rows[key][1]
                if status not in SELLABLE_STATUSES:
                    raise InvalidOperation(
                        NOT_SELLABLE
                        % {"sku": line.variant.sku, "status": ListingStatus(status).label}
                    )
            ordered = sorted(by_key, key=lambda k: rows[k][0])
            # The allocation rows first: a duplicate reference fails here, before any
            # stock row is locked.
            allocations = _insert_allocations(
                [(rows[key][0], wanted[key]) for key in ordered], reference, actor
            )
            short: list[dict] = []
            exhausted: list[int] = []
            lot_lines: dict[int, tuple[int, AllocationLine]] = {}
            unlocked: set[int] = set()
            sql = _allocate_sql()
            with connection.cursor() as cursor:
                for key in ordered:
                    stock_id, _status, product_id, tracks_lots = rows[key]
                    if tracks_lots:
                        lot_lines[stock_id] = (wanted[key], by_key[key])
                        cursor.execute(_allocate_lots_sql(), [wanted[key], stock_id, wanted[key]])
                    else:
                        cursor.execute(sql, [wanted[key], stock_id, wanted[key]])
                    left = cursor.fetchone()
                    if left is None:
                        if tracks_lots:
                            unlocked.add(stock_id)  # reported with what its lots hold
                            continue
                        line = by_key[key]
                        short.append(
                            _insufficient(
                                stock_id, line.variant.sku, line.warehouse.code, wanted[key]
                            )
                        )
                    elif left[0] <= 0:
                        exhausted.append(product_id)
            if lot_lines:
                short += _allocate_lots(lot_lines, unlocked, allocations)
            if short:
                _raise_insufficient(short)
            _refresh_products(exhausted, actor)
    except IntegrityError as error:
        if _is_duplicate_reference(error):
            raise InvalidOperation(ALREADY_ALLOCATED % {"reference": reference}) from None
        raise
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

    Refuses more than is still allocated. Writes no movement: on hand is
    unchanged. A lot-tracked allocation gives back its latest-expiring lots first.
    """
    with transaction.atomic():
        quantity = _consume_allocation(allocation, quantity)
        Stock.objects.filter(pk=allocation.stock_id).update(allocated=F("allocated") - quantity)
        product_id, tracks_lots = (
            Stock.objects.filter(pk=allocation.stock_id)
            .values_list("variant__product_id", "variant__track_lots")
            .get()
        )
        if tracks_lots:
            consume_allocation_lots(allocation, quantity, shipping=False)
        _refresh_products([product_id], actor)
    allocation.quantity -= quantity
    return quantity


def ship(
    *, allocation: Allocation, actor: Any, quantity: int | None = None, reference: str = ""
) -> Movement:
    """Ship reserved units: on hand and allocated both go down, one shipment movement.

    A lot-tracked allocation ships the lots it reserved, earliest expiry
    first: one shipment movement per lot, sharing a batch; the last one is
    returned. Refuses more than is still allocated, and more than is on hand
    (a backorder waiting for stock).
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
        # The row is locked by our UPDATE: the level our change produced.
        on_hand, tracks_lots = (
            Stock.objects.filter(pk=allocation.stock_id)
            .values_list("on_hand", "variant__track_lots")
            .get()
        )
        if tracks_lots:
            movement = _ship_lots(allocation, quantity, on_hand, reference, actor)
        else:
            movement = _write_movement(
                allocation.stock_id,
                kind=MovementKind.SHIPMENT,
                quantity=-quantity,
                reason="",
                reference=reference or allocation.reference,
                actor=actor,
                on_hand=on_hand,
            )
    allocation.quantity -= quantity
    return movement


def _ship_lots(
    allocation: Allocation, quantity: int, on_hand: int, reference: str, actor: Any
) -> Movement:
    """The lots' side of ``ship``: one movement per lot, each with the level after it."""
    parts = consume_allocation_lots(allocation, quantity, shipping=True)
    batch = uuid.uuid4()
    now = timezone.now()
    after = on_hand + quantity
    movements = []
    for lot_id, units in parts:
        after -= units
        movements.append(
            Movement(
                stock_id=allocation.stock_id,
                kind=MovementKind.SHIPMENT,
                quantity=-units,
                on_hand_after=after,
                reason="",
                reference=(reference or allocation.reference)[:120],
                lot_id=lot_id,
                actor_id=_actor_id(actor),
                batch=batch,
                created_at=now,
            )
        )
    Movement.objects.bulk_create(movements)
    return movements[-1]


def set_backorders(*, variants: models.QuerySet, allowed: bool, actor: Any) -> int:
    """Allow or stop backorders for SKUs, keeping every stock row's copy in step.

    Refuses to stop backorders while a SKU has more allocated than on hand,
    and to allow them for lot-tracked SKUs. Returns the number of variants changed.
    """
    with transaction.atomic():
        ids = list(variants.order_by("pk").select_for_update().values_list("pk", flat=True))
        stocks = Stock.objects.filter(variant_id__in=ids)
        if allowed:
            tracked = list(
                Variant.objects.filter(pk__in=ids, track_lots=True).values_list("sku", flat=True)[
                    :10
                ]
            )
            if tracked:
                raise InvalidOperation(BACKORDERS_LOT_TRACKED % {"skus": ", ".join(tracked)})
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
