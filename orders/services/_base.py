"""Shared pieces of the order services: the error, its messages, status checks."""

from __future__ import annotations

from django.utils.translation import gettext_lazy, pgettext_lazy

from backoffice.errors import DomainError

from ..models import Order

ORDER_EXISTS = gettext_lazy("An order numbered %(number)s already exists.")
ORDER_NO_LINES = gettext_lazy("An order needs at least one line.")
ORDER_BAD_QUANTITY = gettext_lazy("Line %(line)s: quantity must be a whole number above zero.")
ORDER_BAD_PRICE = gettext_lazy("Line %(line)s: the unit price cannot be negative.")
ORDER_BAD_DISCOUNT = gettext_lazy(
    "Line %(line)s: the discount must be between zero and the line amount."
)
ORDER_NO_CUSTOMER = gettext_lazy("An order needs the customer's name.")
ORDER_UNKNOWN_CHOICE = gettext_lazy("Unknown %(field)s %(value)r.")
ORDER_WRONG_STATUS = gettext_lazy("Order %(number)s is %(status)s: it cannot be %(action)s.")
UNKNOWN_SKU = gettext_lazy("Unknown SKU: %(skus)s.")
SHIP_NEEDS_CARRIER = gettext_lazy("A shipment needs a carrier and a tracking number.")
SHIP_NOTHING = gettext_lazy("Nothing to ship: no quantity was given.")
SHIP_UNKNOWN_LINE = gettext_lazy("Line %(line)s is not a line of order %(number)s.")
SHIP_TOO_MANY = gettext_lazy(
    "Cannot ship %(quantity)s of %(sku)s on order %(number)s: only %(left)s left to ship."
)

ACTION_REVIEWED = pgettext_lazy("order action", "reviewed")
ACTION_ALLOCATED = pgettext_lazy("order action", "allocated")
ACTION_PICKED = pgettext_lazy("order action", "picked")
ACTION_PACKED = pgettext_lazy("order action", "packed")
ACTION_SHIPPED = pgettext_lazy("order action", "shipped")
ACTION_DELIVERED = pgettext_lazy("order action", "delivered")
ACTION_CANCELLED = pgettext_lazy("order action", "cancelled")
ACTION_RETURNED = pgettext_lazy("order action", "returned")

# Review flags are stored as codes with their data and rendered when shown.
REVIEW_FLAGS = {
    "not_sellable": gettext_lazy("%(sku)s is not on sale (%(status)s)."),
    "short": gettext_lazy("%(sku)s: %(requested)s ordered, %(available)s available."),
    "price_differs": gettext_lazy("%(sku)s: sold at %(price)s, list price is %(list_price)s."),
    "below_cost": gettext_lazy("%(sku)s: sold at %(price)s per unit, below its cost %(cost)s."),
}

S = Order.Status
ALLOCATABLE = (S.RECEIVED, S.REVIEWED)
SHIPPABLE = (S.ALLOCATED, S.PICKED, S.PACKED, S.PARTIALLY_SHIPPED)
CANCELLABLE = (S.RECEIVED, S.REVIEWED, S.ALLOCATED, S.PICKED, S.PACKED)


class OrderError(DomainError):
    """An order operation was refused; nothing was changed."""


def review_flag_message(flag: dict) -> str:
    """One stored review flag as the sentence staff read."""
    template = REVIEW_FLAGS.get(flag.get("code", ""))
    if template is None:
        return str(flag)
    return str(template % flag)


def require(order: Order, statuses, action) -> None:
    """Refuse unless ``order`` is in one of ``statuses``."""
    if isinstance(statuses, str):
        statuses = (statuses,)
    if order.status not in statuses:
        raise OrderError(
            ORDER_WRONG_STATUS
            % {"number": order.number, "status": order.get_status_display(), "action": action}
        )


def locked(order: Order) -> Order:
    """The order re-read under a row lock: every status change starts here."""
    return Order.objects.select_for_update().get(pk=order.pk)
