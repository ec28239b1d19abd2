"""The storefront's JSON door: /api/v1/orders/ and /api/v1/availability/."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from catalog.models import ListingStatus
from inventory import services as inventory
from inventory.models import Allocation, Movement, Stock
from orders import services
from orders.api import MAX_BODY
from orders.models import ApiToken, Order, OrderLine

from ..factories import ProductFactory, VariantFactory, api_token

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


@pytest.fixture
def token(warehouse):
    return api_token(channel="storefront", warehouse=warehouse)[1]


@pytest.fixture
def cap(warehouse, admin_user):
    variant = VariantFactory(product=ProductFactory(title="Cap"), sku="CAP-1", price="9.50")
    inventory.receive(variant=variant, warehouse=warehouse, quantity=3, actor=admin_user)
    return variant


def payload(reference="WEB-1001", lines=None, **extra):
    return {
        "reference": reference,
        "customer": {
            "name": "Han Meimei",
            "email": "han@example.com",
            "address": {"line1": "1 Nanjing Road", "city": "Shanghai", "country": "cn"},
        },
        "lines": lines
        if lines is not None
        else [
            {"sku": "SHIRT-M", "quantity": 2, "unit_price": "19.90"},
            {"sku": "CAP-1", "quantity": 1, "unit_price": "9.50", "discount": "1.50"},
        ],
        **extra,
    }


def post(client, body, token=None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **headers)


def refused(snapshot, response, status, message):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == str(message)


def level(sku, warehouse):
    return Stock.objects.values_list("on_hand", "allocated").get(
        variant__sku=sku, warehouse=warehouse
    )


# --- placing an order --------------------------------------------------------------------


def test_post_creates_and_allocates_the_order(client, token, stocked_variant, cap, warehouse):
    response = post(client, payload(), token)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True
    assert (body["order"]["status"], body["order"]["total"]) == ("allocated", "47.80")
    order = Order.objects.get()
    assert (order.channel, order.external_reference, order.warehouse) == (
        "storefront",
        "WEB-1001",
        warehouse,
    )
    assert (order.subtotal, order.discount_total, order.total) == (
        Decimal("49.30"),
        Decimal("1.50"),
        Decimal("47.80"),
    )
    assert (order.shipping_city, order.shipping_country) == ("Shanghai", "CN")
    assert level("SHIRT-M", warehouse) == (10, 2)
    assert level("CAP-1", warehouse) == (3, 1)


def test_post_twice_returns_the_same_order_and_allocates_once(
    client, token, stocked_variant, cap, warehouse
):
    first = post(client, payload(), token)
    again = post(client, payload(), token)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["order"]["number"] == first.json()["order"]["number"]
    assert Order.objects.count() == 1
    assert level("SHIRT-M", warehouse) == (10, 2)
    assert Allocation.objects.count() == 2


def test_short_order_is_refused_with_409_and_nothing_written(
    client, snapshot, token, stocked_variant, cap
):
    before = snapshot()
    response = post(client, payload(lines=[{"sku": "CAP-1", "quantity": 4}]), token)
    refused(
        snapshot,
        response,
        409,
        "Insufficient stock: CAP-1 at MAIN: requested 4, available 3.",
    )
    assert response.json()["lines"][0]["sku"] == "CAP-1"
    assert snapshot() == before


def test_unit_price_defaults_to_the_list_price(client, token, stocked_variant):
    response = post(client, payload(lines=[{"sku": "SHIRT-M", "quantity": 1}]), token)
    assert response.status_code == 201
    assert OrderLine.objects.get().unit_price == stocked_variant.price


# --- bad input: a clear 4xx, nothing written ---------------------------------------------


def test_malformed_json_is_refused(client, snapshot, token, stocked_variant):
    before = snapshot()
    refused(
        snapshot, post(client, '{"reference": "W-1", ', token), 400, "The body is not valid JSON."
    )
    assert snapshot() == before


def test_a_json_array_is_refused(client, snapshot, token, stocked_variant):
    before = snapshot()
    refused(snapshot, post(client, "[]", token), 400, "The body must be a JSON object.")
    assert snapshot() == before


def test_unknown_sku_is_refused(client, snapshot, token, stocked_variant):
    before = snapshot()
    lines = [{"sku": "SHIRT-M", "quantity": 1}, {"sku": "NOPE-1", "quantity": 1}]
    response = post(client, payload(lines=lines), token)
    refused(snapshot, response, 400, services.UNKNOWN_SKU % {"skus": "NOPE-1"})
    assert snapshot() == before


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2", None, True])
def test_bad_quantity_is_refused(client, snapshot, token, stocked_variant, quantity):
    before = snapshot()
    response = post(client, payload(lines=[{"sku": "SHIRT-M", "quantity": quantity}]), token)
    refused(snapshot, response, 400, services.ORDER_BAD_QUANTITY % {"line": 1})
    assert snapshot() == before


def test_missing_lines_are_refused(client, snapshot, token, stocked_variant):
    before = snapshot()
    refused(snapshot, post(client, payload(lines=[]), token), 400, services.ORDER_NO_LINES)
    assert snapshot() == before


def test_missing_reference_is_refused(client, snapshot, token, stocked_variant):
    before = snapshot()
    response = post(client, payload(reference=""), token)
    refused(snapshot, response, 400, "Field reference is required.")
    assert snapshot() == before


def test_missing_token_is_refused(client, snapshot, stocked_variant):
    before = snapshot()
    response = post(client, payload())
    refused(snapshot, response, 401, services.TOKEN_MISSING)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert snapshot() == before


def test_unknown_token_is_refused(client, snapshot, stocked_variant):
    before = snapshot()
    refused(snapshot, post(client, payload(), "sr_not-a-token"), 401, services.TOKEN_INVALID)
    assert snapshot() == before


def test_revoked_token_is_refused(client, snapshot, token, stocked_variant):
    services.api_token_revoke(token=ApiToken.objects.get(), actor=None)
    before = snapshot()
    refused(snapshot, post(client, payload(), token), 401, services.TOKEN_INVALID)
    assert snapshot() == before


def test_another_channels_token_is_refused(client, snapshot, warehouse, stocked_variant):
    _row, marketplace = api_token(channel="marketplace", warehouse=warehouse, name="Tmall")
    before = snapshot()
    response = post(client, payload(channel="storefront"), marketplace)
    refused(snapshot, response, 403, "This token belongs to the Marketplace channel.")
    assert snapshot() == before


def test_a_5_mb_body_is_refused_before_parsing(client, snapshot, token, stocked_variant):
    before = snapshot()
    body = json.dumps(payload(note="x" * (5 * 1024 * 1024)))
    response = post(client, body, token)
    refused(snapshot, response, 413, f"The body is larger than {MAX_BODY} bytes.")
    assert snapshot() == before


def test_get_on_the_order_endpoint_is_not_allowed(client, token):
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405


def test_the_raw_token_is_not_stored(token):
    row = ApiToken.objects.get()
    assert token not in (row.token_hash, row.prefix)
    assert token.startswith(row.prefix)


# --- availability ----------------------------------------------------------------------------


def test_availability_lists_free_units_per_sku(client, token, stocked_variant, cap, warehouse):
    post(client, payload(), token)
    response = client.get(
        reverse("api-availability") + "?sku=SHIRT-M&sku=CAP-1",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200
    assert response.json() == {
        "availability": [{"sku": "SHIRT-M", "available": 8}, {"sku": "CAP-1", "available": 2}]
    }


def test_availability_of_a_delisted_product_is_zero(client, token, stocked_variant):
    ProductFactory._meta.model.objects.filter(pk=stocked_variant.product_id).update(
        status=ListingStatus.DELISTED, delist_reason="obsolete"
    )
    response = client.get(
        reverse("api-availability") + "?sku=SHIRT-M", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.json() == {"availability": [{"sku": "SHIRT-M", "available": 0}]}


def test_availability_of_an_unknown_sku_is_404(client, token, stocked_variant):
    response = client.get(
        reverse("api-availability") + "?sku=SHIRT-M&sku=NOPE",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 404
    assert response.json()["error"] == str(services.UNKNOWN_SKU % {"skus": "NOPE"})


def test_availability_needs_a_token(client, stocked_variant):
    response = client.get(reverse("api-availability") + "?sku=SHIRT-M")
    assert response.status_code == 401
    assert response.json()["error"] == str(services.TOKEN_MISSING)


# --- concurrency (PostgreSQL, real threads) -------------------------------------------------


def run_clients(count, work):
    barrier = threading.Barrier(count, timeout=60)
    results: list = [None] * count

    def target(i):
        try:
            client = Client()
            Order.objects.exists()  # open this thread's connection before the race
            barrier.wait()
            results[i] = work(i, client)
        except Exception as error:  # inspected by the test
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    return results


def assert_ledger_matches_levels():
    reserved = dict(
        Allocation.objects.values("stock").annotate(s=Sum("quantity")).values_list("stock", "s")
    )
    for stock in Stock.objects.annotate(ledger=Sum("movements__quantity", default=0)):
        assert stock.on_hand == stock.ledger, stock
        assert stock.allocated == reserved.get(stock.pk, 0), stock
        assert 0 <= stock.allocated <= stock.on_hand, stock


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_50_concurrent_clients_never_oversell(warehouse, admin_user):
    # Two sizes of one product and a cap: the sizes share a product row, which the
    # "sold out" bookkeeping locks, so lock order matters beyond the stock rows.
    tee = ProductFactory(title="Tee")
    skus = [
        VariantFactory(product=tee, sku="TEE-S"),
        VariantFactory(product=tee, sku="TEE-M"),
        VariantFactory(product=ProductFactory(title="Cap"), sku="CAP-9"),
    ]
    for variant in skus:
        inventory.receive(variant=variant, warehouse=warehouse, quantity=12, actor=admin_user)
    _row, raw = api_token(channel="storefront", warehouse=warehouse)
    pairs = [("TEE-S", "TEE-M"), ("TEE-M", "CAP-9"), ("CAP-9", "TEE-S")]

    def work(i, client):
        first, second = pairs[i % 3] if i % 2 else pairs[i % 3][::-1]
        body = payload(
            reference=f"WEB-{i}",
            lines=[{"sku": first, "quantity": 1}, {"sku": second, "quantity": 1 + i % 2}],
        )
        response = post(client, body, raw)
        return response.status_code, response.json()

    results = run_clients(50, work)

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    statuses = [status for status, _body in results]
    assert set(statuses) <= {201, 409}, results
    refusals = [body for status, body in results if status == 409]
    assert refusals, "stock was meant to run out"
    assert all(body["error"].startswith("Insufficient stock: ") for body in refusals)
    assert not any("deadlock" in json.dumps(body).lower() for _s, body in results)
    placed = statuses.count(201)
    assert Order.objects.count() == placed
    assert Order.objects.filter(status=Order.Status.ALLOCATED).count() == placed
    # Every placed order holds exactly its lines; every refused one holds nothing.
    wanted = OrderLine.objects.aggregate(s=Sum("quantity"))["s"]
    assert Allocation.objects.aggregate(s=Sum("quantity"))["s"] == wanted
    assert Movement.objects.count() == 3  # the opening receipts only
    for stock in Stock.objects.all():
        assert stock.allocated <= stock.on_hand == 12
    assert_ledger_matches_levels()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_reference_posted_concurrently_creates_one_order(warehouse, admin_user):
    variant = VariantFactory(product=ProductFactory(title="Mug"), sku="MUG-1")
    inventory.receive(variant=variant, warehouse=warehouse, quantity=100, actor=admin_user)
    _row, raw = api_token(channel="storefront", warehouse=warehouse)

    def work(i, client):
        body = payload(reference="WEB-SAME", lines=[{"sku": "MUG-1", "quantity": 3}])
        response = post(client, body, raw)
        return response.status_code, response.json()

    results = run_clients(8, work)

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _body in results)
    assert statuses == [200] * 7 + [201], results
    assert len({body["order"]["number"] for _s, body in results}) == 1
    assert Order.objects.count() == 1
    assert Stock.objects.get(variant=variant).allocated == 3
    assert Allocation.objects.count() == 1
    assert_ledger_matches_levels()
