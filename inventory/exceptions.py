"""Domain errors of inventory operations: each carries the message staff read."""

from __future__ import annotations

from backoffice.errors import DomainError


class InventoryError(DomainError):
    """An inventory operation was refused; nothing was changed."""


class InvalidQuantity(InventoryError):
    pass


class InsufficientStock(InventoryError):
    """Not enough available stock; ``lines`` lists every short line, not just the first."""

    def __init__(self, message: str, lines: list[dict] | None = None) -> None:
        super().__init__(message)
        self.lines = lines or []


class InvalidOperation(InventoryError):
    pass
