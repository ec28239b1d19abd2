"""The storefront's JSON door: place an order, read availability. Thin, like the admin.

``Authorization: Bearer <token>`` names the channel (tokens are managed in the
admin). Every refusal is a 4xx with ``{"error": "…"}`` and writes nothing.
Placing is idempotent on the channel's order reference.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from backoffice.errors import DomainError
from inventory.exceptions import InsufficientStock

from . import selectors, services
from .models import Order

MAX_BODY = 1024 * 1024  # 1 MB: an order is a few kilobytes
MAX_LINES = 200
MAX_SKUS = 100


def _error(message: Any, status: int, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": str(message), **extra}, status=status)


def authenticated(view):
    """Resolve the bearer token to ``request.api_token`` or answer 401."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            request.api_token = services.api_token_authenticate(
                header=request.headers.get("Authorization")
            )
        except services.ApiTokenError as error:
            response = _error(error.message, 401)
            response["WWW-Authenticate"] = 'Bearer realm="stockroom"'
            return response
        return view(request, *args, **kwargs)

    return wrapper


class BadRequest(Exception):
    pass


def _text(data: dict, key: str, *, required: bool = False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadRequest(_("Field %(field)s must be a string.") % {"field": key})
    if required and not value.strip():
        raise BadRequest(_("Field %(field)s is required.") % {"field": key})
    return value.strip()


def _body(request: HttpRequest) -> dict:
    if request.content_type != "application/json":
        raise BadRequest(_("Send the body as application/json."))
    try:
        payload = json.loads(request.body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(_("The body is not valid JSON.")) from None
    if not isinstance(payload, dict):
        raise BadRequest(_("The body must be a JSON object."))
    return payload


def _lines(payload: dict) -> list[services.LineRequest]:
    items = payload.get("lines")
    if not isinstance(items, list) or not items:
        raise BadRequest(str(services.ORDER_NO_LINES))
    if len(items) > MAX_LINES:
        raise BadRequest(_("An order has at most %(max)s lines.") % {"max": MAX_LINES})
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            raise BadRequest(
                _("Line %(line)s must be an object with a sku and a quantity.") % {"line": index}
            )
    variants = services.resolve_skus([item["sku"] for item in items])
    lines = []
    for item in items:
        variant = variants[item["sku"]]
        lines.append(
            services.LineRequest(
                variant=variant,
                quantity=item.get("quantity"),
                unit_price=item.get("unit_price", variant.price),
                discount=item.get("discount", Decimal("0.00")),
            )
        )
    return lines


def _order_json(order: Order) -> dict:
    return {
        "number": order.number,
        "reference": order.external_reference,
        "channel": order.channel,
        "status": order.status,
        "total": str(order.total),
        "lines": [
            {"sku": line.variant.sku, "quantity": line.quantity, "unit_price": str(line.unit_price)}
            for line in order.lines.select_related("variant").order_by("pk")
        ],
    }


@csrf_exempt
@require_POST
@authenticated
def place_order(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/orders/ — create and allocate an order; a repeated reference returns it."""
    token = request.api_token
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _error(_("The body is larger than %(max)s bytes.") % {"max": MAX_BODY}, 413)
    try:
        if len(request.body) > MAX_BODY:
            return _error(_("The body is larger than %(max)s bytes.") % {"max": MAX_BODY}, 413)
        payload = _body(request)
        channel = _text(payload, "channel") or token.channel
        if channel != token.channel:
            return _error(
                _("This token belongs to the %(channel)s channel.")
                % {"channel": token.get_channel_display()},
                403,
            )
        customer = payload.get("customer") or {}
        address = customer.get("address") or {} if isinstance(customer, dict) else {}
        if not isinstance(customer, dict) or not isinstance(address, dict):
            raise BadRequest(_("Field customer must be an object with an address object."))
        placed = services.order_place(
            channel=channel,
            external_reference=_text(payload, "reference", required=True),
            customer_name=_text(customer, "name", required=True),
            customer_email=_text(customer, "email"),
            customer_phone=_text(customer, "phone"),
            shipping_address="\n".join(
                part for part in (_text(address, "line1"), _text(address, "line2")) if part
            ),
            shipping_city=_text(address, "city"),
            shipping_region=_text(address, "region"),
            shipping_postal_code=_text(address, "postal_code"),
            shipping_country=_text(address, "country").upper(),
            priority=_text(payload, "priority") or Order.Priority.NORMAL,
            lines=_lines(payload),
            warehouse=token.warehouse,
            actor=None,
        )
    except RequestDataTooBig:
        return _error(_("The body is larger than %(max)s bytes.") % {"max": MAX_BODY}, 413)
    except BadRequest as error:
        return _error(error, 400)
    except InsufficientStock as error:
        return _error(error.message, 409, lines=error.lines)
    except DomainError as error:
        return _error(error.message, 400)
    return JsonResponse(
        {"order": _order_json(placed.order), "created": placed.created},
        status=201 if placed.created else 200,
    )


@require_GET
@authenticated
def availability(request: HttpRequest) -> JsonResponse:
    """GET /api/v1/availability/?sku=A&sku=B — units free to sell in the token's warehouse."""
    skus = [sku.strip() for sku in request.GET.getlist("sku") if sku.strip()]
    if not skus:
        return _error(_("Name at least one SKU: ?sku=A&sku=B."), 400)
    if len(skus) > MAX_SKUS:
        return _error(_("Ask for at most %(max)s SKUs at a time.") % {"max": MAX_SKUS}, 400)
    found = selectors.availability(skus=skus, warehouse=request.api_token.warehouse)
    unknown = sorted(set(skus) - set(found))
    if unknown:
        return _error(services.UNKNOWN_SKU % {"skus": ", ".join(unknown)}, 404)
    return JsonResponse(
        {"availability": [{"sku": sku, "available": found[sku]} for sku in dict.fromkeys(skus)]}
    )


@csrf_exempt
@require_POST
@authenticated
def watch(request: HttpRequest) -> JsonResponse:
    """POST /api/v1/watches/ — {"sku", "email"}: tell this customer when the product is back."""
    from catalog.services import watch_add

    try:
        if len(request.body) > MAX_BODY:
            return _error(_("The body is larger than %(max)s bytes.") % {"max": MAX_BODY}, 413)
        payload = _body(request)
        created_watch, created = watch_add(
            sku=_text(payload, "sku", required=True), email=_text(payload, "email", required=True)
        )
    except RequestDataTooBig:
        return _error(_("The body is larger than %(max)s bytes.") % {"max": MAX_BODY}, 413)
    except BadRequest as error:
        return _error(error, 400)
    except DomainError as error:
        return _error(error.message, 400)
    return JsonResponse(
        {
            "watch": {"id": created_watch.pk, "product": created_watch.product.handle},
            "created": created,
        },
        status=201 if created else 200,
    )
