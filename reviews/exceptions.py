"""Domain errors of review operations."""

from __future__ import annotations

from backoffice.errors import DomainError


class ReviewError(DomainError):
    """A review operation was refused; nothing was changed."""
