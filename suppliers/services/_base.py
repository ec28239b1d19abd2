"""Shared pieces of the purchasing services: messages, status checks, row locks."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy, pgettext_lazy

from ..exceptions import InvalidTransition, PurchasingError
from ..models import PurchaseOrder, PurchaseOrderLine

# --- messages (asserted by the tests) -----------------------------------------------------

PO_WRONG_STATUS = gettext_lazy("%(number)s is %(status)s: it cannot be %(action)s.")
PO_NO_LINES = gettext_lazy("A purchase order needs at least one line.")
PO_LINE_QUANTITY = gettext_lazy("%(sku)s: the quantity must be a whole number above zero.")
PO_LINE_COST = gettext_lazy("%(sku)s: the unit cost must be a number of at least 0.")
PO_LINE_NO_COST = gettext_lazy(
    "%(sku)s: %(supplier)s has no price-list entry for this SKU; enter a unit cost."
)
PO_LINE_DUPLICATE = gettext_lazy("%(sku)s appears on more than one line; use one line per SKU.")
PO_LINE_BELOW_MOQ = gettext_lazy(
    "%(sku)s: %(quantity)s is below %(supplier)s's minimum order quantity of %(moq)s."
)
PO_SUPPLIER_INACTIVE = gettext_lazy("%(supplier)s is inactive: no purchase order can go to it.")
PO_WAREHOUSE_INACTIVE = gettext_lazy("Warehouse %(warehouse)s is inactive.")
PO_SENT_LINES_LOCKED = gettext_lazy(
    "%(number)s has been sent: its lines change only through an amendment (with a reason)."
)
PO_CANCEL_HAS_RECEIPTS = gettext_lazy(
    "%(number)s has goods received against it: it cannot be cancelled; close it instead."
)
PO_REASON_REQUIRED = gettext_lazy("Give a reason for this %(operation)s.")
PO_AMEND_NOTHING = gettext_lazy("The amendment changes nothing.")
PO_AMEND_UNKNOWN_LINE = gettext_lazy("Line %(line)s is not a line of %(number)s.")
PO_AMEND_BELOW_ACCEPTED = gettext_lazy(
    "%(reference)s: the quantity cannot go below the %(accepted)s units already accepted."
)
PO_AMEND_REMOVE_RECEIVED = gettext_lazy(
    "%(reference)s has goods received against it: it cannot be removed."
)

ACTION_SENT = pgettext_lazy("purchase order action", "sent")
ACTION_CANCELLED = pgettext_lazy("purchase order action", "cancelled")
ACTION_CLOSED = pgettext_lazy("purchase order action", "closed")
ACTION_RECEIVED = pgettext_lazy("purchase order action", "received against")
ACTION_EDITED = pgettext_lazy("purchase order action", "edited")
ACTION_AMENDED = pgettext_lazy("purchase order action", "amended")
ACTION_RETURNED = pgettext_lazy("purchase order action", "returned against")

OPERATION_AMENDMENT = pgettext_lazy("purchasing operation", "amendment")
OPERATION_CANCEL = pgettext_lazy("purchasing operation", "cancellation")
OPERATION_SHORT_CLOSE = pgettext_lazy("purchasing operation", "short close")

S = PurchaseOrder.Status


def require_status(order: PurchaseOrder, statuses: Iterable[str] | str, action: Any) -> None:
    """Refuse (``InvalidTransition``) unless ``order`` is in one of ``statuses``."""
    if isinstance(statuses, str):
        statuses = (statuses,)
    if order.status not in tuple(statuses):
        raise InvalidTransition(
            PO_WRONG_STATUS
            % {"number": order.number, "status": order.get_status_display(), "action": action}
        )


def locked(order: PurchaseOrder) -> PurchaseOrder:
    """The order re-read under a row lock: every status change starts here."""
    return PurchaseOrder.objects.select_for_update().select_related("supplier").get(pk=order.pk)


def locked_lines(order: PurchaseOrder) -> dict[int, PurchaseOrderLine]:
    """The order's lines under row locks, taken in primary-key order (no deadlock between two
    receipts or amendments of the same order), keyed by pk."""
    rows = (
        PurchaseOrderLine.objects.select_for_update()
        .filter(order=order)
        .select_related("variant")
        .order_by("pk")
    )
    return {line.pk: line for line in rows}


def check_reason(reason: str, operation: Any) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PurchasingError(PO_REASON_REQUIRED % {"operation": operation})
    return reason


def is_count(value: Any, *, positive: bool) -> bool:
    """A whole number (not a bool), above zero if ``positive`` else at least zero."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return value > 0 if positive else value >= 0


def as_cost(value: Any) -> Decimal | None:
    """``value`` as a non-negative Decimal with cents, or None if it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        cost = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not cost.is_finite() or cost < 0:
        return None
    return cost.quantize(Decimal("0.01"))


def user_of(actor: Any):
    """The actor as a user row for a foreign key (None for tasks and imports without one)."""
    return actor if getattr(actor, "pk", None) else None


def save_as(obj, actor: Any, fields: list[str] | None = None) -> None:
    """Save ``obj`` with ``actor`` on its history record."""
    obj._history_user = user_of(actor)
    obj.save(update_fields=fields)
