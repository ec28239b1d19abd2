"""Goods receipt with inspection (驗貨入庫) and returns of rejected goods to the supplier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from backoffice.db import record_history
from backoffice.services import submission_claim
from inventory import services as inventory

from ..exceptions import InvalidReceipt, OverReceipt, PurchasingError
from ..models import (
    OPEN_STATUSES,
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    RejectionReason,
    SupplierReturn,
    SupplierReturnLine,
)
from ._base import (
    ACTION_RECEIVED,
    ACTION_RETURNED,
    S,
    is_count,
    locked,
    locked_lines,
    require_status,
    save_as,
    user_of,
)
from .orders import status_after_receiving

RECEIPT_NO_LINES = gettext_lazy(
    "Nothing was received: enter a received quantity on at least one line."
)
RECEIPT_DUPLICATE_LINE = gettext_lazy("Line %(line)s is entered twice in the same receipt.")
RECEIPT_UNKNOWN_LINE = gettext_lazy("Line %(line)s is not a line of %(number)s.")
RECEIPT_RECEIVED_POSITIVE = gettext_lazy(
    "%(reference)s (%(sku)s): the received quantity must be a whole number above zero."
)
RECEIPT_NEGATIVE = gettext_lazy(
    "%(reference)s (%(sku)s): accepted and rejected quantities must be whole numbers, 0 or more."
)
RECEIPT_SUM = gettext_lazy(
    "%(reference)s (%(sku)s): accepted (%(accepted)s) + rejected (%(rejected)s) must equal "
    "received (%(received)s)."
)
RECEIPT_REASON_REQUIRED = gettext_lazy(
    "%(reference)s (%(sku)s): say why %(rejected)s units were rejected."
)
RECEIPT_UNKNOWN_REASON = gettext_lazy(
    "%(reference)s (%(sku)s): unknown rejection reason %(reason)r."
)
RECEIPT_IN_FUTURE = gettext_lazy("A delivery cannot be received in the future.")
OVER_RECEIPT = gettext_lazy("Over-receipt, nothing was received: %(lines)s.")
OVER_RECEIPT_LINE = gettext_lazy(
    "%(reference)s (%(sku)s) ordered %(ordered)s, already accepted %(already)s, at most "
    "%(limit)s may be accepted (tolerance %(tolerance)s%%); %(accepted)s more is too many"
)
RTV_NOTHING = gettext_lazy("Nothing to return: enter a quantity on at least one rejected line.")
RTV_UNKNOWN_LINE = gettext_lazy("Receipt line %(line)s is not a receipt line of %(number)s.")
RTV_QUANTITY = gettext_lazy("%(sku)s: the quantity to return must be a whole number above zero.")
RTV_TOO_MANY = gettext_lazy(
    "%(sku)s (%(receipt)s): %(quantity)s cannot go back, only %(left)s rejected units are "
    "waiting to be returned."
)
RTV_STATUSES = (S.PARTIALLY_RECEIVED, S.RECEIVED, S.CLOSED)


@dataclass(frozen=True)
class ReceiptLineRequest:
    """What inspection found on one purchase-order line of a delivery."""

    order_line_id: int
    received: int
    accepted: int
    rejected: int = 0
    reason: str = ""
    note: str = ""


def acceptance_limit(ordered: int, tolerance_percent: Decimal) -> int:
    """The most units of a line that may be accepted: ordered plus the tolerance, rounded
    down (5 % of 10 units is no extra unit; of 100 units, 5)."""
    extra = (Decimal(ordered) * Decimal(tolerance_percent) / 100).to_integral_value(ROUND_FLOOR)
    return ordered + int(extra)


def _check_line(request: ReceiptLineRequest, line: PurchaseOrderLine) -> None:
    names = {"reference": line.reference, "sku": line.variant.sku}
    if not is_count(request.received, positive=True):
        raise InvalidReceipt(RECEIPT_RECEIVED_POSITIVE % names)
    if not (
        is_count(request.accepted, positive=False) and is_count(request.rejected, positive=False)
    ):
        raise InvalidReceipt(RECEIPT_NEGATIVE % names)
    if request.accepted + request.rejected != request.received:
        raise InvalidReceipt(
            RECEIPT_SUM
            % {
                **names,
                "accepted": request.accepted,
                "rejected": request.rejected,
                "received": request.received,
            }
        )
    if request.reason and request.reason not in RejectionReason.values:
        raise InvalidReceipt(RECEIPT_UNKNOWN_REASON % {**names, "reason": request.reason})
    if request.rejected and not request.reason:
        raise InvalidReceipt(RECEIPT_REASON_REQUIRED % {**names, "rejected": request.rejected})


def goods_receipt(
    *,
    order: PurchaseOrder,
    lines: Sequence[ReceiptLineRequest],
    actor: Any,
    delivery_note: str = "",
    note: str = "",
    received_at: datetime | None = None,
    submission_key: str | None = None,
) -> GoodsReceipt:
    """Record one inspected delivery against ``order`` and put the accepted units into stock.

    Per line: received = accepted + rejected, a reason for any rejection.
    Only accepted units enter stock, through ``inventory.services.receive``, as
    a receipt movement in the order's warehouse whose reference is the order
    line (``PO-000012/L3``); rejected units stay out of stock (see
    ``supplier_return_create``). Every line of the receipt is written in one
    transaction, with the order's line rows locked in primary-key order, so two
    clerks receiving the same line at once are served one after the other and
    the second sees what the first accepted.

    The over-receipt tolerance (``Supplier.receipt_tolerance_percent``) bounds
    the units *accepted* per line: units rejected as "not ordered" go back and
    do not count. The order becomes partially received, or received when every
    line has accepted what it ordered.

    Refuses an order that is not sent or partially received (draft,
    cancelled, received, closed), no lines, a line of another order or twice
    the same line, a received quantity that is not above zero, negative
    accepted/rejected, accepted + rejected ≠ received, a rejection without a
    (known) reason, a delivery date in the future, over-receipt beyond the
    tolerance (all such lines in one message), and a form submitted twice
    (``submission_key``). When it refuses, nothing is written.
    """
    if not lines:
        raise InvalidReceipt(RECEIPT_NO_LINES)
    now = timezone.now()
    received_at = received_at or now
    if received_at > now:
        raise InvalidReceipt(RECEIPT_IN_FUTURE)
    seen: set[int] = set()
    for request in lines:
        if request.order_line_id in seen:
            raise InvalidReceipt(RECEIPT_DUPLICATE_LINE % {"line": request.order_line_id})
        seen.add(request.order_line_id)
    with transaction.atomic():
        submission_claim(key=submission_key, operation="goods_receipt", actor=actor)
        order = locked(order)
        require_status(order, OPEN_STATUSES, ACTION_RECEIVED)
        order_lines = locked_lines(order)
        tolerance = order.supplier.receipt_tolerance_percent
        over = []
        for request in lines:
            line = order_lines.get(request.order_line_id)
            if line is None:
                raise InvalidReceipt(
                    RECEIPT_UNKNOWN_LINE % {"line": request.order_line_id, "number": order.number}
                )
            _check_line(request, line)
            limit = acceptance_limit(line.quantity, tolerance)
            if line.accepted_quantity + request.accepted > limit:
                over.append(
                    str(
                        OVER_RECEIPT_LINE
                        % {
                            "reference": line.reference,
                            "sku": line.variant.sku,
                            "ordered": line.quantity,
                            "already": line.accepted_quantity,
                            "limit": limit,
                            "tolerance": tolerance.normalize(),
                            "accepted": request.accepted,
                        }
                    )
                )
        if over:
            raise OverReceipt(OVER_RECEIPT % {"lines": "; ".join(over)})
        receipt = GoodsReceipt.objects.create(
            order=order,
            received_at=received_at,
            delivery_note=delivery_note.strip(),
            note=note,
            actor=user_of(actor),
        )
        reason = gettext("Goods receipt %(receipt)s from %(supplier)s") % {
            "receipt": receipt.number,
            "supplier": order.supplier.code,
        }
        # Stock rows in SKU order: in one warehouse that is one fixed order for every
        # receipt, so two receipts sharing SKUs never wait for each other in a circle.
        for request in sorted(lines, key=lambda r: order_lines[r.order_line_id].variant_id):
            line = order_lines[request.order_line_id]
            movement = None
            if request.accepted:
                movement = inventory.receive(
                    variant=line.variant,
                    warehouse=order.warehouse,
                    quantity=request.accepted,
                    actor=actor,
                    reason=reason,
                    reference=line.reference,
                )
            GoodsReceiptLine.objects.create(
                receipt=receipt,
                order_line=line,
                received=request.received,
                accepted=request.accepted,
                rejected=request.rejected,
                rejection_reason=request.reason if request.rejected else "",
                rejection_note=request.note.strip()[:255] if request.rejected else "",
                movement=movement,
            )
            PurchaseOrderLine.objects.filter(pk=line.pk).update(
                received_quantity=F("received_quantity") + request.received,
                accepted_quantity=F("accepted_quantity") + request.accepted,
                rejected_quantity=F("rejected_quantity") + request.rejected,
            )
            line.received_quantity += request.received
            line.accepted_quantity += request.accepted
            line.rejected_quantity += request.rejected
        record_history(
            PurchaseOrderLine,
            PurchaseOrderLine.objects.filter(pk__in=seen),
            actor=actor,
            reason=receipt.number,
        )
        status = status_after_receiving(list(order_lines.values()))
        if status != order.status:
            order.status = status
            order.completed_at = now if status == S.RECEIVED else None
            save_as(order, actor, ["status", "completed_at"])
    return receipt


def supplier_return_create(
    *,
    order: PurchaseOrder,
    quantities: Mapping[int, int],
    actor: Any,
    carrier_reference: str = "",
    note: str = "",
    submission_key: str | None = None,
) -> SupplierReturn:
    """Send rejected units of ``order``'s receipts back to the supplier (``quantities`` by
    goods-receipt line id).

    Writes a ``SupplierReturn`` document and raises each receipt line's
    returned quantity. It writes **no stock movement**: rejected units were
    never accepted, so they never entered stock (``goods_receipt`` only
    receives accepted units) — taking them out again would drive the ledger
    below what is really on the shelf. Stock that *was* accepted and later
    goes back is a different thing: ``inventory.services.dispose`` with the
    return-to-supplier kind.

    Refuses an order nothing was received on, no quantities, a line of another
    order, a quantity that is not above zero or more than the line's rejected
    units not yet returned, and a form submitted twice.
    """
    wanted = {pk: n for pk, n in quantities.items() if n != 0}
    if not wanted:
        raise PurchasingError(RTV_NOTHING)
    with transaction.atomic():
        submission_claim(key=submission_key, operation="supplier_return", actor=actor)
        order = locked(order)
        require_status(order, RTV_STATUSES, ACTION_RETURNED)
        rows = {
            row.pk: row
            for row in GoodsReceiptLine.objects.select_for_update()
            .filter(receipt__order=order, pk__in=list(wanted))
            .select_related("order_line__variant", "receipt")
            .order_by("pk")
        }
        for pk, quantity in wanted.items():
            row = rows.get(pk)
            if row is None:
                raise PurchasingError(RTV_UNKNOWN_LINE % {"line": pk, "number": order.number})
            sku = row.order_line.variant.sku
            if not is_count(quantity, positive=True):
                raise PurchasingError(RTV_QUANTITY % {"sku": sku})
            left = row.rejected - row.returned_quantity
            if quantity > left:
                raise PurchasingError(
                    RTV_TOO_MANY
                    % {
                        "sku": sku,
                        "receipt": row.receipt.number,
                        "quantity": quantity,
                        "left": left,
                    }
                )
        document = SupplierReturn.objects.create(
            supplier=order.supplier,
            order=order,
            carrier_reference=carrier_reference.strip(),
            note=note,
            actor=user_of(actor),
        )
        SupplierReturnLine.objects.bulk_create(
            SupplierReturnLine(supplier_return=document, receipt_line_id=pk, quantity=quantity)
            for pk, quantity in sorted(wanted.items())
        )
        for pk, quantity in sorted(wanted.items()):
            GoodsReceiptLine.objects.filter(pk=pk).update(
                returned_quantity=F("returned_quantity") + quantity
            )
    return document
