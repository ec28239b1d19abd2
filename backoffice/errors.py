"""The base of every domain error: services raise them, doors turn them into messages."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation. ``message`` is the sentence staff read; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = str(message)

    def __str__(self) -> str:
        return self.message


class DuplicateSubmission(DomainError):
    """The same form (same submission key) arrived twice."""
