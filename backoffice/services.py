"""Services that belong to no single app."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from .errors import DuplicateSubmission
from .models import SubmissionKey

ALREADY_SUBMITTED = _(
    "This form was already submitted; nothing was changed the second time. "
    "Reload the list to see the result of the first submission."
)


def submission_claim(*, key: str | None, operation: str, actor: Any) -> None:
    """Claim a one-time form key inside the caller's transaction.

    Refuses (``DuplicateSubmission``) a key seen before. A missing key is
    allowed: services are also called by imports and tasks, which carry their
    own idempotency. Must run inside ``transaction.atomic`` so that a refused
    operation also gives the key back.
    """
    if not key:
        return
    try:
        with transaction.atomic():
            SubmissionKey.objects.create(
                key=key[:64],
                operation=operation,
                actor=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        raise DuplicateSubmission(ALREADY_SUBMITTED) from None
