"""Purchase orders: draft → sent → partially received → received → closed, or cancelled.

A draft's lines are edited freely (``purchase_order_update_draft``). Once an
order is sent the supplier holds a copy, so its lines change only through
``purchase_order_amend``, which records who changed what, when and why.
Receiving is in ``receiving.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from catalog.models import Variant
from inventory.models import Warehouse

from ..exceptions import InvalidTransition, PurchasingError
from ..models import PurchaseOrder, PurchaseOrderAmendment, PurchaseOrderLine, Supplier
from ..selectors import PriceInfo, price_list
from ._base import (
    ACTION_AMENDED,
    ACTION_CANCELLED,
    ACTION_CLOSED,
    ACTION_EDITED,
    ACTION_SENT,
    OPERATION_AMENDMENT,
    OPERATION_CANCEL,
    OPERATION_SHORT_CLOSE,
    PO_AMEND_BELOW_ACCEPTED,
    PO_AMEND_NOTHING,
    PO_AMEND_REMOVE_RECEIVED,
    PO_AMEND_UNKNOWN_LINE,
    PO_CANCEL_HAS_RECEIPTS,
    PO_LINE_BELOW_MOQ,
    PO_LINE_COST,
    PO_LINE_DUPLICATE,
    PO_LINE_NO_COST,
    PO_LINE_QUANTITY,
    PO_NO_LINES,
    PO_SENT_LINES_LOCKED,
    PO_SUPPLIER_INACTIVE,
    PO_WAREHOUSE_INACTIVE,
    S,
    as_cost,
    check_reason,
    is_count,
    locked,
    locked_lines,
    require_status,
    save_as,
    user_of,
)

PO_AMEND_DRAFT = gettext_lazy("%(number)s is still a draft: edit its lines directly.")


@dataclass(frozen=True)
class POLineRequest:
    """One line to order; ``unit_cost`` None takes the supplier's price-list cost."""

    variant: Variant
    quantity: int
    unit_cost: Decimal | None = None


@dataclass(frozen=True)
class LineChange:
    """One change of an amendment: an existing line (``line_id``) gets a new quantity
    (0 removes a line nothing was received on) and/or unit cost, or — without
    ``line_id`` — a new line for ``variant``."""

    line_id: int | None = None
    variant: Variant | None = None
    quantity: int | None = None
    unit_cost: Decimal | None = None


@dataclass(frozen=True)
class _Line:
    variant: Variant
    quantity: int
    unit_cost: Decimal
    list_unit_cost: Decimal | None


def _check_parties(supplier: Supplier, warehouse: Warehouse) -> None:
    if not supplier.is_active:
        raise PurchasingError(PO_SUPPLIER_INACTIVE % {"supplier": supplier})
    if not warehouse.is_active:
        raise PurchasingError(PO_WAREHOUSE_INACTIVE % {"warehouse": warehouse.code})


def _priced_line(
    supplier: Supplier, prices: dict[int, PriceInfo], variant: Variant, quantity: Any, cost: Any
) -> _Line:
    """Check one requested line and give it its cost (given, or from the price list)."""
    if not is_count(quantity, positive=True):
        raise PurchasingError(PO_LINE_QUANTITY % {"sku": variant.sku})
    price = prices.get(variant.pk)
    if price is not None and quantity < price.moq:
        raise PurchasingError(
            PO_LINE_BELOW_MOQ
            % {"sku": variant.sku, "quantity": quantity, "supplier": supplier, "moq": price.moq}
        )
    list_cost = price.cost_for(quantity) if price is not None else None
    if cost is None:
        if list_cost is None:
            raise PurchasingError(PO_LINE_NO_COST % {"sku": variant.sku, "supplier": supplier})
        return _Line(variant, quantity, list_cost, list_cost)
    checked = as_cost(cost)
    if checked is None:
        raise PurchasingError(PO_LINE_COST % {"sku": variant.sku})
    return _Line(variant, quantity, checked, list_cost)


def _checked_lines(supplier: Supplier, lines: Sequence[POLineRequest]) -> list[_Line]:
    if not lines:
        raise PurchasingError(PO_NO_LINES)
    seen: set[int] = set()
    for line in lines:
        if line.variant.pk in seen:
            raise PurchasingError(PO_LINE_DUPLICATE % {"sku": line.variant.sku})
        seen.add(line.variant.pk)
    prices = price_list(supplier=supplier, variant_ids=seen)
    return [
        _priced_line(supplier, prices, line.variant, line.quantity, line.unit_cost)
        for line in lines
    ]


def purchase_order_check_lines(*, supplier: Supplier, lines: Sequence[POLineRequest]) -> None:
    """Check lines as ``purchase_order_create`` would, writing nothing (for forms)."""
    _checked_lines(supplier, lines)


def expected_date(supplier: Supplier, variant_ids, *, start: date | None = None) -> date:
    """``start`` (today) plus the longest lead time among the lines' price-list entries,
    else the supplier's lead time."""
    start = start or timezone.localdate()
    prices = price_list(supplier=supplier, variant_ids=variant_ids)
    lead = max((p.lead_time_days for p in prices.values()), default=supplier.lead_time_days)
    return start + timedelta(days=lead)


def _new_lines(order: PurchaseOrder, lines: Sequence[_Line], first_number: int, actor: Any):
    rows = [
        PurchaseOrderLine(
            order=order,
            line_number=first_number + index,
            variant=line.variant,
            quantity=line.quantity,
            unit_cost=line.unit_cost,
            list_unit_cost=line.list_unit_cost,
        )
        for index, line in enumerate(lines)
    ]
    return bulk_create_with_history(rows, PurchaseOrderLine, default_user=user_of(actor))


def purchase_order_create(
    *,
    supplier: Supplier,
    warehouse: Warehouse,
    lines: Sequence[POLineRequest],
    actor: Any,
    note: str = "",
    supplier_reference: str = "",
) -> PurchaseOrder:
    """Write a draft purchase order with its lines; its expected date comes from the lead time.

    Refuses an inactive supplier or warehouse, no lines, a SKU on two lines,
    a quantity that is not a whole number above zero or below the supplier's
    MOQ, a negative cost, and a missing cost for a SKU without a price-list
    entry. Each line remembers the price-list cost for its quantity (for the
    scorecard's price variance).
    """
    _check_parties(supplier, warehouse)
    checked = _checked_lines(supplier, lines)
    with transaction.atomic():
        order = PurchaseOrder(
            supplier=supplier,
            warehouse=warehouse,
            currency=supplier.currency,
            note=note,
            supplier_reference=supplier_reference.strip(),
            expected_date=expected_date(supplier, [line.variant.pk for line in checked]),
            created_by=user_of(actor),
        )
        save_as(order, actor)
        _new_lines(order, checked, 1, actor)
    return order


def purchase_order_update_draft(
    *, order: PurchaseOrder, lines: Sequence[POLineRequest], actor: Any
) -> PurchaseOrder:
    """Replace a draft's lines: lines of SKUs kept are updated in place (their line numbers
    stay), others are removed or added.

    Refuses what ``purchase_order_create`` refuses, and any order that is not a
    draft: a sent order changes only through ``purchase_order_amend``.
    """
    with transaction.atomic():
        order = locked(order)
        if order.status in (S.SENT, S.PARTIALLY_RECEIVED, S.RECEIVED):
            raise InvalidTransition(PO_SENT_LINES_LOCKED % {"number": order.number})
        require_status(order, S.DRAFT, ACTION_EDITED)
        checked = _checked_lines(order.supplier, lines)
        current = {line.variant_id: line for line in locked_lines(order).values()}
        wanted = {line.variant.pk: line for line in checked}
        for variant_id, line in current.items():
            if variant_id not in wanted:
                line._history_user = user_of(actor)
                line.delete()
        added = []
        for variant_id, new in wanted.items():
            line = current.get(variant_id)
            if line is None:
                added.append(new)
            elif (line.quantity, line.unit_cost, line.list_unit_cost) != (
                new.quantity,
                new.unit_cost,
                new.list_unit_cost,
            ):
                line.quantity, line.unit_cost = new.quantity, new.unit_cost
                line.list_unit_cost = new.list_unit_cost
                save_as(line, actor, ["quantity", "unit_cost", "list_unit_cost"])
        numbers = [line.line_number for line in current.values()]
        _new_lines(order, added, max(numbers, default=0) + 1, actor)
        order.expected_date = expected_date(order.supplier, list(wanted))
        save_as(order, actor, ["expected_date"])
    return order


def purchase_order_send(*, order: PurchaseOrder, actor: Any) -> PurchaseOrder:
    """Mark a draft as sent to the supplier; its expected date is recomputed from today.

    Refuses anything but a draft, a draft without lines, and an inactive
    supplier or warehouse. After this, lines change only by amendment.
    """
    with transaction.atomic():
        order = locked(order)
        require_status(order, S.DRAFT, ACTION_SENT)
        variant_ids = list(order.lines.values_list("variant_id", flat=True))
        if not variant_ids:
            raise PurchasingError(PO_NO_LINES)
        _check_parties(order.supplier, order.warehouse)
        order.status = S.SENT
        order.sent_at = timezone.now()
        order.expected_date = expected_date(
            order.supplier, variant_ids, start=timezone.localdate(order.sent_at)
        )
        save_as(order, actor, ["status", "sent_at", "expected_date"])
    return order


def _has_receipts(order: PurchaseOrder) -> bool:
    return order.receipts.exists()


def purchase_order_cancel(*, order: PurchaseOrder, reason: str, actor: Any) -> PurchaseOrder:
    """Cancel a draft or a sent order that nothing was received against.

    Refuses an order with receipts (close it instead: what was received stays
    received), a closed or cancelled one, and a sent order without a reason.
    """
    with transaction.atomic():
        order = locked(order)
        if order.status == S.PARTIALLY_RECEIVED or (
            order.status == S.SENT and _has_receipts(order)
        ):
            raise InvalidTransition(PO_CANCEL_HAS_RECEIPTS % {"number": order.number})
        require_status(order, (S.DRAFT, S.SENT), ACTION_CANCELLED)
        if order.status == S.SENT:
            reason = check_reason(reason, OPERATION_CANCEL)
        order.status = S.CANCELLED
        order.cancelled_at = timezone.now()
        order.status_note = (reason or "").strip()
        save_as(order, actor, ["status", "cancelled_at", "status_note"])
    return order


def purchase_order_close(*, order: PurchaseOrder, reason: str, actor: Any) -> PurchaseOrder:
    """Close a received order, or short-close a partially received one (the rest will not
    come: it stops counting as on order). A short close needs a reason.

    Refuses drafts and sent orders (cancel those), closed and cancelled orders.
    """
    with transaction.atomic():
        order = locked(order)
        require_status(order, (S.RECEIVED, S.PARTIALLY_RECEIVED), ACTION_CLOSED)
        if order.status == S.PARTIALLY_RECEIVED:
            reason = check_reason(reason, OPERATION_SHORT_CLOSE)
        order.status = S.CLOSED
        order.closed_at = timezone.now()
        order.status_note = (reason or "").strip()
        save_as(order, actor, ["status", "closed_at", "status_note"])
    return order


def status_after_receiving(lines: Sequence[PurchaseOrderLine]) -> str:
    """Received when every line has accepted what it ordered; partially received once
    anything was received; sent before that."""
    if not any(line.received_quantity for line in lines):
        return S.SENT
    if all(line.accepted_quantity >= line.quantity for line in lines):
        return S.RECEIVED
    return S.PARTIALLY_RECEIVED


def purchase_order_amend(
    *, order: PurchaseOrder, changes: Sequence[LineChange], reason: str, actor: Any
) -> PurchaseOrderAmendment:
    """Change the lines of a sent or partially received order, as an amendment.

    What it can do: a new quantity (not below what was already accepted; 0
    removes a line nothing was received on), a new unit cost, a new line.
    Refuses drafts (edit them directly), received, closed and cancelled orders,
    a missing reason, unknown lines, bad quantities and costs, a SKU already on
    the order, and an amendment that changes nothing. Writes the lines (with
    history) and a ``PurchaseOrderAmendment`` recording who, when, why and each
    old and new value; an order amended down to what was accepted becomes
    received.
    """
    with transaction.atomic():
        order = locked(order)
        if order.status == S.DRAFT:
            raise InvalidTransition(PO_AMEND_DRAFT % {"number": order.number})
        require_status(order, (S.SENT, S.PARTIALLY_RECEIVED), ACTION_AMENDED)
        reason = check_reason(reason, OPERATION_AMENDMENT)
        lines = locked_lines(order)
        on_order = {line.variant_id for line in lines.values()}
        new_variants = [c.variant for c in changes if c.line_id is None and c.variant is not None]
        prices = price_list(supplier=order.supplier, variant_ids=[v.pk for v in new_variants])
        recorded: list[dict] = []
        updated, removed, added = [], [], []
        for change in changes:
            if change.line_id is None:
                if change.variant is None:
                    raise PurchasingError(PO_NO_LINES)
                if change.variant.pk in on_order:
                    raise PurchasingError(PO_LINE_DUPLICATE % {"sku": change.variant.sku})
                on_order.add(change.variant.pk)
                new = _priced_line(
                    order.supplier, prices, change.variant, change.quantity, change.unit_cost
                )
                added.append(new)
                recorded.append(
                    {
                        "line": None,
                        "sku": new.variant.sku,
                        "quantity": [None, new.quantity],
                        "unit_cost": [None, str(new.unit_cost)],
                    }
                )
                continue
            line = lines.get(change.line_id)
            if line is None:
                raise PurchasingError(
                    PO_AMEND_UNKNOWN_LINE % {"line": change.line_id, "number": order.number}
                )
            entry: dict[str, Any] = {"line": line.reference, "sku": line.variant.sku}
            if change.quantity is not None and change.quantity != line.quantity:
                if not is_count(change.quantity, positive=False):
                    raise PurchasingError(PO_LINE_QUANTITY % {"sku": line.variant.sku})
                if change.quantity == 0:
                    if line.received_quantity:
                        raise PurchasingError(
                            PO_AMEND_REMOVE_RECEIVED % {"reference": line.reference}
                        )
                    removed.append(line)
                    recorded.append({**entry, "quantity": [line.quantity, 0]})
                    continue
                if change.quantity < line.accepted_quantity:
                    raise PurchasingError(
                        PO_AMEND_BELOW_ACCEPTED
                        % {"reference": line.reference, "accepted": line.accepted_quantity}
                    )
                entry["quantity"] = [line.quantity, change.quantity]
                line.quantity = change.quantity
            if change.unit_cost is not None:
                cost = as_cost(change.unit_cost)
                if cost is None:
                    raise PurchasingError(PO_LINE_COST % {"sku": line.variant.sku})
                if cost != line.unit_cost:
                    entry["unit_cost"] = [str(line.unit_cost), str(cost)]
                    line.unit_cost = cost
            if len(entry) > 2:
                updated.append(line)
                recorded.append(entry)
        if not recorded:
            raise PurchasingError(PO_AMEND_NOTHING)
        for line in updated:
            save_as(line, actor, ["quantity", "unit_cost"])
        for line in removed:
            del lines[line.pk]
            line._history_user = user_of(actor)
            line.delete()
        numbers = [line.line_number for line in lines.values()]
        lines.update(
            {row.pk: row for row in _new_lines(order, added, max(numbers, default=0) + 1, actor)}
        )
        if not lines:
            raise PurchasingError(PO_NO_LINES)
        amendment = PurchaseOrderAmendment.objects.create(
            order=order, reason=reason, changes=recorded, actor=user_of(actor)
        )
        status = status_after_receiving(list(lines.values()))
        if status != order.status:
            order.status = status
            order.completed_at = timezone.now() if status == S.RECEIVED else None
            save_as(order, actor, ["status", "completed_at"])
    return amendment
