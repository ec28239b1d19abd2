"""Domain errors of warehouse operations: each carries the message staff read."""

from __future__ import annotations

from backoffice.errors import DomainError


class WarehouseError(DomainError):
    """A stock count or transfer operation was refused; nothing was changed."""


class InvalidTransition(WarehouseError):
    """The document is not in a status that allows the operation."""


class InvalidCountEntry(WarehouseError):
    """Counted quantities that cannot be recorded; ``errors`` lists every bad row."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []
