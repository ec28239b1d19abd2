"""Domain errors of catalog operations."""

from __future__ import annotations

from backoffice.errors import DomainError


class CatalogError(DomainError):
    """A catalog operation was refused; nothing was changed."""


class InvalidTransition(CatalogError):
    """The listing status does not allow this operation."""


class MissingReason(CatalogError):
    pass
