"""Per-channel API tokens: only a SHA-256 of the token is stored; the raw token is shown once."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy

from inventory.models import Warehouse

from ..models import ApiToken, Order
from ._base import ORDER_UNKNOWN_CHOICE, OrderError

TOKEN_MISSING = gettext_lazy("Authentication required: send 'Authorization: Bearer <token>'.")
TOKEN_INVALID = gettext_lazy("This API token is unknown or has been revoked.")
TOKEN_NAME_REQUIRED = gettext_lazy("Give the token a name (who or what uses it).")


class ApiTokenError(OrderError):
    """A request to the JSON endpoint could not be authenticated."""


def token_hash(raw: str) -> str:
    # The token is 256 random bits: a fast hash is enough, no salt or stretching needed.
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, channel: str, name: str, warehouse: Warehouse, actor: Any
) -> tuple[ApiToken, str]:
    """Issue a token for ``channel``; returns the row and the raw token, which is never stored."""
    if channel not in Order.Channel.values:
        raise OrderError(ORDER_UNKNOWN_CHOICE % {"field": "channel", "value": channel})
    name = (name or "").strip()
    if not name:
        raise OrderError(TOKEN_NAME_REQUIRED)
    raw = f"sr_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            channel=channel,
            name=name,
            prefix=raw[:10],
            token_hash=token_hash(raw),
            warehouse=warehouse,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
    return token, raw


def api_token_authenticate(*, header: str | None) -> ApiToken:
    """The active token named by an ``Authorization: Bearer …`` header, or ``ApiTokenError``."""
    scheme, _space, raw = (header or "").partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise ApiTokenError(TOKEN_MISSING)
    token = (
        ApiToken.objects.select_related("warehouse")
        .filter(token_hash=token_hash(raw), is_active=True)
        .first()
    )
    if token is None:
        raise ApiTokenError(TOKEN_INVALID)
    return token


def api_token_revoke(*, token: ApiToken, actor: Any) -> None:
    """Switch a token off; requests carrying it are refused from now on."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(is_active=False)
    token.is_active = False
