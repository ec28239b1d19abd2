"""Returns and exchanges (退換貨): request → approved / rejected → received → inspected.

Inspection decides, per line, how many units are resellable (back into stock
as a customer-return movement), damaged (taken back and disposed) or sent
back to the supplier. Stock moves only through ``inventory.services``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from backoffice.services import submission_claim
from catalog.models import Variant
from inventory import services as inventory
from inventory.models import MovementKind, Stock, Warehouse
from suppliers.models import Supplier

from ..models import Order, OrderLine, ReturnLine, ReturnReason, ReturnRequest
from ._base import ORDER_BAD_QUANTITY, ORDER_UNKNOWN_CHOICE, OrderError, locked
from .flow import LineRequest, _amount, order_create

RETURN_NOT_SHIPPED = gettext_lazy(
    "Order %(number)s is %(status)s: only shipped or delivered orders can be returned."
)
RETURN_NO_LINES = gettext_lazy("A return needs at least one line.")
RETURN_FOREIGN_LINE = gettext_lazy("Line %(line)s is not a line of order %(number)s.")
RETURN_TOO_MANY = gettext_lazy(
    "%(sku)s: %(quantity)s cannot be returned, only %(left)s shipped and not yet returned."
)
RETURN_BAD_REASON = gettext_lazy("Line %(line)s: unknown return reason %(reason)r.")
RETURN_WRONG_STATUS = gettext_lazy("Return %(number)s is %(status)s: it cannot be %(action)s.")
RETURN_REJECT_NEEDS_NOTE = gettext_lazy("Say why the return is rejected.")
RETURN_NO_WAREHOUSE = gettext_lazy("Choose the warehouse that received the return.")
RETURN_INSPECT_MISSING = gettext_lazy("Every line must be inspected; missing: %(skus)s.")
RETURN_INSPECT_SUM = gettext_lazy(
    "%(sku)s: resellable, damaged and returned to supplier must add up to the %(quantity)s "
    "units returned; got %(total)s."
)
RETURN_INSPECT_SUPPLIER = gettext_lazy("%(sku)s: choose the supplier the units go back to.")
RETURN_REFUND_RANGE = gettext_lazy(
    "The refund must be between 0 and %(limit)s, the value of the returned lines."
)

ACTION_APPROVED = pgettext_lazy("return action", "approved")
ACTION_REJECTED = pgettext_lazy("return action", "rejected")
ACTION_RECEIVED = pgettext_lazy("return action", "received")
ACTION_INSPECTED = pgettext_lazy("return action", "inspected")

RETURNABLE = (Order.Status.PARTIALLY_SHIPPED, Order.Status.SHIPPED, Order.Status.DELIVERED)
R = ReturnRequest.Status


@dataclass(frozen=True)
class ReturnLineRequest:
    order_line: OrderLine
    quantity: int
    reason: str
    exchange_variant: Variant | None = None


@dataclass(frozen=True)
class Inspection:
    resellable: int = 0
    damaged: int = 0
    to_supplier: int = 0
    supplier: Supplier | None = None


def _locked(return_request: ReturnRequest) -> ReturnRequest:
    return (
        ReturnRequest.objects.select_for_update().select_related("order").get(pk=return_request.pk)
    )


def require_return_status(return_request: ReturnRequest, status: str, action) -> None:
    """Refuse unless ``return_request`` is in ``status``."""
    if return_request.status != status:
        raise OrderError(
            RETURN_WRONG_STATUS
            % {
                "number": str(return_request),
                "status": return_request.get_status_display(),
                "action": action,
            }
        )


def require_returnable(order: Order) -> None:
    """Refuse an order that has shipped nothing (yet) or is not in a returnable status."""
    if order.status not in RETURNABLE:
        raise OrderError(
            RETURN_NOT_SHIPPED % {"number": order.number, "status": order.get_status_display()}
        )


def returnable_quantities(order: Order) -> dict[int, int]:
    """Units each order line can still be returned: shipped, less those in returns not rejected."""
    pending = dict(
        ReturnLine.objects.filter(order_line__order=order)
        .exclude(return_request__status=R.REJECTED)
        .values("order_line")
        .annotate(n=Sum("quantity"))
        .values_list("order_line", "n")
    )
    return {
        pk: max(shipped - pending.get(pk, 0), 0)
        for pk, shipped in order.lines.values_list("pk", "shipped_quantity")
    }


def return_value(return_request: ReturnRequest) -> Decimal:
    """What the returned lines were paid: the most a refund for them can be."""
    lines = return_request.lines.select_related("order_line")
    return sum((_line_value(line.order_line, line.quantity) for line in lines), Decimal("0.00"))


def return_request(
    *,
    order: Order,
    lines: Sequence[ReturnLineRequest],
    actor: Any,
    kind: str = ReturnRequest.Kind.REFUND,
    note: str = "",
    submission_key: str | None = None,
) -> ReturnRequest:
    """Record a customer's request to return (or exchange) shipped units.

    Refuses orders that shipped nothing, no lines, lines of another order,
    bad quantities, unknown reasons or kinds, more units than were shipped
    and not already in another (not rejected) return, and a form submitted
    twice (``submission_key``).
    """
    if not lines:
        raise OrderError(RETURN_NO_LINES)
    if kind not in ReturnRequest.Kind.values:
        raise OrderError(ORDER_UNKNOWN_CHOICE % {"field": "kind", "value": kind})
    with transaction.atomic():
        order = locked(order)
        require_returnable(order)
        own = {line.pk: line for line in order.lines.select_related("variant")}
        left = returnable_quantities(order)
        for index, line in enumerate(lines, start=1):
            quantity = line.quantity
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                raise OrderError(ORDER_BAD_QUANTITY % {"line": index})
            if line.order_line.pk not in own:
                raise OrderError(RETURN_FOREIGN_LINE % {"line": index, "number": order.number})
            if line.reason not in ReturnReason.values:
                raise OrderError(RETURN_BAD_REASON % {"line": index, "reason": line.reason})
            current = own[line.order_line.pk]
            if quantity > left[current.pk]:
                raise OrderError(
                    RETURN_TOO_MANY
                    % {"sku": current.variant.sku, "quantity": quantity, "left": left[current.pk]}
                )
            left[current.pk] -= quantity
        submission_claim(key=submission_key, operation="return_request", actor=actor)
        request = ReturnRequest.objects.create(
            order=order, kind=kind, note=note, warehouse=order.warehouse, actor=actor
        )
        ReturnLine.objects.bulk_create(
            ReturnLine(
                return_request=request,
                order_line_id=line.order_line.pk,
                quantity=line.quantity,
                reason=line.reason,
                exchange_variant=line.exchange_variant,
            )
            for line in lines
        )
    return request


def _decide(return_request: ReturnRequest, *, status: str, action, note: str) -> ReturnRequest:
    with transaction.atomic():
        return_request = _locked(return_request)
        require_return_status(return_request, R.REQUESTED, action)
        return_request.status = status
        return_request.decision_note = note
        return_request.decided_at = timezone.now()
        return_request.save(update_fields=["status", "decision_note", "decided_at"])
    return return_request


def return_approve(*, return_request: ReturnRequest, actor: Any, note: str = "") -> ReturnRequest:
    """Accept a requested return: the customer may send the units. Refuses other statuses."""
    return _decide(return_request, status=R.APPROVED, action=ACTION_APPROVED, note=note)


def return_reject(*, return_request: ReturnRequest, note: str, actor: Any) -> ReturnRequest:
    """Refuse a requested return, saying why; its units become returnable again."""
    note = (note or "").strip()
    if not note:
        raise OrderError(RETURN_REJECT_NEEDS_NOTE)
    return _decide(return_request, status=R.REJECTED, action=ACTION_REJECTED, note=note)


def return_receive(
    *, return_request: ReturnRequest, actor: Any, warehouse: Warehouse | None = None
) -> ReturnRequest:
    """Record that the parcel arrived (at ``warehouse``, by default the shipping one).

    Nothing enters stock yet: inspection decides what is resellable.
    """
    with transaction.atomic():
        return_request = _locked(return_request)
        require_return_status(return_request, R.APPROVED, ACTION_RECEIVED)
        warehouse = warehouse or return_request.warehouse or return_request.order.warehouse
        if warehouse is None:
            raise OrderError(RETURN_NO_WAREHOUSE)
        return_request.warehouse = warehouse
        return_request.status = R.RECEIVED
        return_request.received_at = timezone.now()
        return_request.save(update_fields=["warehouse", "status", "received_at"])
    return return_request


def _line_value(line: OrderLine, quantity: int) -> Decimal:
    net = line.unit_price * line.quantity - line.discount
    return (net * quantity / line.quantity).quantize(Decimal("0.01"))


def _count(value: Any, index: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise OrderError(ORDER_BAD_QUANTITY % {"line": index})
    return value


def return_inspect(
    *,
    return_request: ReturnRequest,
    results: Mapping[int, Inspection],
    refund_amount: Decimal,
    actor: Any,
    submission_key: str | None = None,
) -> ReturnRequest:
    """Record the inspection of every returned line, move the stock and the refund.

    Per line (``results`` is keyed by return line id): resellable units go
    back into stock as a customer-return movement; damaged units and units
    for the supplier are taken back and leave again as a disposal or a
    return-to-supplier movement, so the ledger shows both. An exchange gets
    its replacement order (at no charge) here. Refuses a line left out,
    quantities that do not add up, a supplier missing, and a refund below
    zero or above the returned lines' value, and a form submitted twice
    (``submission_key``).
    """
    with transaction.atomic():
        return_request = _locked(return_request)
        require_return_status(return_request, R.RECEIVED, ACTION_INSPECTED)
        order = return_request.order
        lines = list(
            return_request.lines.select_related("order_line__variant__product").order_by("pk")
        )
        missing = [line.order_line.variant.sku for line in lines if line.pk not in results]
        if missing:
            raise OrderError(RETURN_INSPECT_MISSING % {"skus": ", ".join(missing)})
        for index, line in enumerate(lines, start=1):
            result = results[line.pk]
            counts = [
                _count(getattr(result, f), index) for f in ("resellable", "damaged", "to_supplier")
            ]
            sku = line.order_line.variant.sku
            if sum(counts) != line.quantity:
                raise OrderError(
                    RETURN_INSPECT_SUM
                    % {"sku": sku, "quantity": line.quantity, "total": sum(counts)}
                )
            if result.to_supplier and result.supplier is None:
                raise OrderError(RETURN_INSPECT_SUPPLIER % {"sku": sku})
        limit = sum((_line_value(line.order_line, line.quantity) for line in lines), Decimal("0"))
        refund = _amount(refund_amount, 1, "refund")
        if refund < 0 or refund > limit:
            raise OrderError(RETURN_REFUND_RANGE % {"limit": limit})
        submission_claim(key=submission_key, operation="return_inspect", actor=actor)

        warehouse = return_request.warehouse
        stock_ids = dict(
            Stock.objects.filter(
                warehouse=warehouse, variant__in=[line.order_line.variant_id for line in lines]
            ).values_list("variant_id", "pk")
        )
        lines.sort(key=lambda line: (stock_ids.get(line.order_line.variant_id, math.inf), line.pk))
        for line in lines:
            result = results[line.pk]
            variant = line.order_line.variant
            reference = f"return-line:{line.pk}"
            reason = f"{ReturnReason(line.reason).label} ({order.number})"
            inventory.receive(
                variant=variant,
                warehouse=warehouse,
                quantity=line.quantity,
                kind=MovementKind.RETURN,
                reason=reason,
                reference=reference,
                actor=actor,
            )
            for units, kind in (
                (result.damaged, MovementKind.DISPOSAL),
                (result.to_supplier, MovementKind.RETURN_TO_SUPPLIER),
            ):
                if units:
                    inventory.dispose(
                        variant=variant,
                        warehouse=warehouse,
                        quantity=units,
                        kind=kind,
                        reason=reason,
                        reference=reference,
                        actor=actor,
                    )
            line.resellable_quantity = result.resellable
            line.damaged_quantity = result.damaged
            line.supplier_quantity = result.to_supplier
            line.supplier = result.supplier if result.to_supplier else None
        ReturnLine.objects.bulk_update(
            lines, ["resellable_quantity", "damaged_quantity", "supplier_quantity", "supplier"]
        )
        if return_request.kind == ReturnRequest.Kind.EXCHANGE:
            return_request.replacement_order = _replacement(return_request, lines, actor)
        return_request.refund_amount = refund.quantize(Decimal("0.01"))
        return_request.status = R.INSPECTED
        return_request.inspected_at = timezone.now()
        return_request.save(
            update_fields=["refund_amount", "status", "inspected_at", "replacement_order"]
        )
    return return_request


def _replacement(return_request: ReturnRequest, lines: list[ReturnLine], actor: Any) -> Order:
    order = return_request.order
    requests = []
    for line in sorted(lines, key=lambda line: line.pk):
        variant = line.exchange_variant or line.order_line.variant
        price = line.order_line.unit_price
        requests.append(LineRequest(variant, line.quantity, price, price * line.quantity))
    return order_create(
        number=f"{order.number}-X{return_request.pk}"[-40:],
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        customer_phone=order.customer_phone,
        shipping_address=order.shipping_address,
        shipping_city=order.shipping_city,
        shipping_region=order.shipping_region,
        shipping_postal_code=order.shipping_postal_code,
        shipping_country=order.shipping_country,
        channel=order.channel,
        priority=order.priority,
        warehouse=order.warehouse,
        lines=requests,
        actor=actor,
    )
