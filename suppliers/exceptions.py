"""Domain errors of purchasing: each carries the message staff read; nothing was changed."""

from __future__ import annotations

from backoffice.errors import DomainError


class PurchasingError(DomainError):
    """A purchasing operation was refused; nothing was changed."""


class InvalidTransition(PurchasingError):
    """The purchase order is not in a status that allows the operation."""


class InvalidReceipt(PurchasingError):
    """A goods receipt with impossible quantities, unknown lines or a missing reason."""


class OverReceipt(InvalidReceipt):
    """More units accepted than ordered plus the supplier's tolerance."""


class InvalidPriceList(PurchasingError):
    """A price-list entry with an impossible MOQ, pack size, cost or break."""
