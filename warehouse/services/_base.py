"""Shared pieces of the warehouse services: messages, status checks, row locks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy, pgettext_lazy

from catalog.models import Variant

from ..exceptions import InvalidTransition

# --- messages (asserted by the tests) -----------------------------------------------------

WRONG_STATUS = gettext_lazy("%(number)s is %(status)s: it cannot be %(action)s.")
REASON_REQUIRED = gettext_lazy("Give a reason for this %(operation)s.")

ACTION_STARTED = pgettext_lazy("stock count action", "started")
ACTION_COUNTED = pgettext_lazy("stock count action", "counted")
ACTION_APPLIED = pgettext_lazy("stock count action", "applied")
ACTION_CANCELLED = pgettext_lazy("warehouse document action", "cancelled")
ACTION_EDITED = pgettext_lazy("transfer action", "edited")
ACTION_DISPATCHED = pgettext_lazy("transfer action", "dispatched")
ACTION_RECEIVED = pgettext_lazy("transfer action", "received")

OPERATION_CANCEL = pgettext_lazy("warehouse operation", "cancellation")


def require_status(document: Any, statuses: Iterable[str] | str, action: Any) -> None:
    """Refuse (``InvalidTransition``) unless ``document`` is in one of ``statuses``."""
    if isinstance(statuses, str):
        statuses = (statuses,)
    if document.status not in tuple(statuses):
        raise InvalidTransition(
            WRONG_STATUS
            % {
                "number": document.number,
                "status": document.get_status_display(),
                "action": action,
            }
        )


def locked(document: models.Model) -> Any:
    """The document re-read under a row lock: every status change starts here."""
    return type(document).objects.select_for_update().get(pk=document.pk)


def user_of(actor: Any):
    """The actor as a user row for a foreign key (None for tasks without one)."""
    return actor if getattr(actor, "pk", None) else None


def save_as(obj: models.Model, actor: Any, fields: list[str] | None = None) -> None:
    """Save ``obj`` with ``actor`` on its history record."""
    obj._history_user = user_of(actor)
    obj.save(update_fields=fields)


def is_count(value: Any, *, positive: bool) -> bool:
    """A whole number (not a bool), above zero if ``positive`` else at least zero."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return value > 0 if positive else value >= 0


def lots_exist() -> bool:
    """Whether SKUs can be tracked by lot (the lots feature adds ``Variant.track_lots``)."""
    return any(field.name == "track_lots" for field in Variant._meta.get_fields())


def not_lot_tracked(prefix: str = "") -> Q:
    """A filter leaving out lot-tracked SKUs (``prefix`` leads to the variant)."""
    return Q(**{f"{prefix}track_lots": False}) if lots_exist() else Q()
