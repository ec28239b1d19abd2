"""Back-in-stock watchers: the storefront registers them; delisting and restock tell them."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from catalog.models import ListingStatus, StockWatch
from catalog.services import WATCH_AVAILABLE, WATCH_EMAIL_INVALID, WATCH_NOT_SOLD, WATCH_UNKNOWN_SKU

from ..factories import ProductFactory, VariantFactory, api_token


@pytest.fixture
def token(warehouse):
    return api_token(channel="storefront", warehouse=warehouse)[1]


@pytest.fixture
def sold_out(db):
    return VariantFactory(product=ProductFactory(status=ListingStatus.SOLD_OUT), sku="TEE-M")


def post(client, token, body, content_type="application/json"):
    return client.post(
        reverse("api-watches"),
        data=body if isinstance(body, str) else json.dumps(body),
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_a_customer_watches_a_sold_out_product_once(client, token, sold_out):
    first = post(client, token, {"sku": "TEE-M", "email": "Fan@Example.com "})
    assert first.status_code == 201
    assert first.json()["watch"]["product"] == sold_out.product.handle
    again = post(client, token, {"sku": "TEE-M", "email": "fan@example.com"})
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert list(StockWatch.objects.values_list("email", flat=True)) == ["fan@example.com"]


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"sku": "TEE-M", "email": "not-an-address"},
            WATCH_EMAIL_INVALID % {"email": "not-an-address"},
        ),
        ({"sku": "NOPE", "email": "a@b.cn"}, WATCH_UNKNOWN_SKU % {"sku": "NOPE"}),
        ({"sku": "TEE-M"}, "Field email is required."),
        ({"sku": 12, "email": "a@b.cn"}, "Field sku must be a string."),
        ("[1, 2]", "The body must be a JSON object."),
        ("{bad json", "The body is not valid JSON."),
    ],
)
def test_bad_watch_requests_are_refused_and_change_nothing(client, token, sold_out, body, message):
    response = post(client, token, body)
    assert (response.status_code, response.json()["error"]) == (400, str(message))
    assert not StockWatch.objects.exists()


@pytest.mark.parametrize(
    "status, message",
    [
        (ListingStatus.DRAFT, WATCH_NOT_SOLD % {"sku": "TEE-M"}),
        (ListingStatus.ON_SALE, WATCH_AVAILABLE % {"title": "Linen tee"}),
    ],
)
def test_drafts_and_products_on_sale_cannot_be_watched(client, token, status, message):
    VariantFactory(product=ProductFactory(status=status, title="Linen tee"), sku="TEE-M")
    response = post(client, token, {"sku": "TEE-M", "email": "a@b.cn"})
    assert (response.status_code, response.json()["error"]) == (400, str(message))
    assert not StockWatch.objects.exists()


def test_watching_needs_a_token(client, sold_out):
    response = client.post(reverse("api-watches"), data="{}", content_type="application/json")
    assert response.status_code == 401
    assert not StockWatch.objects.exists()


def test_watch_admin_adds_a_watcher_by_hand(admin_client, sold_out):
    response = admin_client.post(
        reverse("admin:catalog_stockwatch_add"),
        {"product": sold_out.product.pk, "email": "phone@example.com"},
    )
    assert response.status_code == 302
    assert StockWatch.objects.get().email == "phone@example.com"
    assert admin_client.get(reverse("admin:catalog_stockwatch_changelist")).status_code == 200
