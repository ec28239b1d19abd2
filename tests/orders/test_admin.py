"""Order admin through the test client: filters, bulk actions, add through the service,
API tokens shown once, and a changelist that costs the same at 20 and 200 rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders import services
from orders.admin import OrderAdmin
from orders.models import ApiToken, Order, Shipment
from orders.services import LineRequest, order_allocate, order_create

from ..factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:orders_order_changelist"


def new_order(number, variant, quantity=2):
    return order_create(
        number=number,
        customer_name="Li Lei",
        lines=[LineRequest(variant, quantity, variant.price)],
        actor=None,
    )


def act(client, action, orders, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in orders], **extra}
    return client.post(reverse(CHANGELIST), data, follow=True)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status__exact=allocated",
        "?channel__exact=storefront&priority__exact=urgent",
        "?created_at__gte=2000-01-01+00:00:00%2B00:00",
        "?needs_attention__exact=1&q=Li",
    ],
)
def test_changelist_queries_do_not_grow_with_rows(admin_client, monkeypatch, query):
    for order in OrderFactory.create_batch(
        210, channel="storefront", priority="urgent", status="allocated", needs_attention=True
    ):
        OrderLineFactory(order=order)
    counts = []
    for per_page in (20, 200):
        monkeypatch.setattr(OrderAdmin, "list_per_page", per_page)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse(CHANGELIST) + query)
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == per_page
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_change_page_shows_lines_allocations_and_shipments(
    admin_client, stocked_variant, warehouse, admin_user
):
    order = new_order("SO-7", stocked_variant)
    order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    services.order_ship(order=order, carrier="SF", tracking_number="SF123", actor=admin_user)
    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "SF123" in content and "SHIRT-M @ MAIN: 0 / 2" in content


def test_review_and_allocate_actions(admin_client, stocked_variant, warehouse):
    order = new_order("SO-1", stocked_variant)
    act(admin_client, "review_action", [order])
    assert Order.objects.get(pk=order.pk).status == "reviewed"
    response = act(admin_client, "allocate_action", [order])
    assert "Allocate" in response.content.decode()  # the intermediate page
    act(
        admin_client,
        "allocate_action",
        [order],
        apply="1",
        warehouse=warehouse.pk,
        submission_key="k1",
    )
    assert Order.objects.get(pk=order.pk).status == "allocated"


def test_ship_action_takes_carrier_and_tracking_per_order(
    admin_client, stocked_variant, warehouse, admin_user
):
    first, second = new_order("SO-1", stocked_variant), new_order("SO-2", stocked_variant)
    for order in (first, second):
        order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    response = act(
        admin_client,
        "ship_action",
        [first, second],
        apply="1",
        carrier="SF Express",
        tracking_numbers="SO-1 SF001\nSO-2 SF002",
        submission_key="k2",
    )
    assert "2 orders shipped." in response.content.decode()
    assert dict(Shipment.objects.values_list("order__number", "tracking_number")) == {
        "SO-1": "SF001",
        "SO-2": "SF002",
    }


def test_ship_action_without_a_tracking_number_ships_nothing(
    admin_client, snapshot, stocked_variant, warehouse, admin_user
):
    order = new_order("SO-1", stocked_variant)
    other = new_order("SO-2", stocked_variant)
    for o in (order, other):
        order_allocate(order=o, warehouse=warehouse, actor=admin_user)
    before = snapshot()
    response = act(
        admin_client,
        "ship_action",
        [order, other],
        apply="1",
        carrier="SF Express",
        tracking_numbers="SO-9 SF001",
        submission_key="k3",
    )
    assert str(services.SHIP_NEEDS_CARRIER) in response.content.decode()
    assert snapshot() == before
    assert not Shipment.objects.exists()


def test_cancel_action_releases_allocations(admin_client, stocked_variant, warehouse, admin_user):
    order = new_order("SO-1", stocked_variant, quantity=3)
    order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    act(admin_client, "cancel_action", [order])
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert stocked_variant.stocks.get().allocated == 0


def test_order_added_in_admin_goes_through_the_service(admin_client, stocked_variant):
    data = {
        "number": "SO-ADMIN",
        "channel": "manual",
        "external_reference": "",
        "priority": "normal",
        "customer_name": "Li Lei",
        "customer_email": "li@example.com",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-variant": stocked_variant.pk,
        "lines-0-quantity": "3",
        "lines-0-unit_price": "10.00",
        "lines-0-discount": "1.00",
        "shipments-TOTAL_FORMS": "0",
        "shipments-INITIAL_FORMS": "0",
        "returns-TOTAL_FORMS": "0",
        "returns-INITIAL_FORMS": "0",
    }
    response = admin_client.post(reverse("admin:orders_order_add"), data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    order = Order.objects.get(number="SO-ADMIN")
    assert (str(order.subtotal), str(order.total)) == ("30.00", "29.00")
    assert order.lines.get().quantity == 3


def test_api_token_is_shown_once_and_only_its_hash_is_stored(admin_client, warehouse):
    response = admin_client.post(
        reverse("admin:orders_apitoken_add"),
        {"channel": "storefront", "name": "Web", "warehouse": warehouse.pk},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    raw = next(m for m in messages if "copy it now" in m).split()[4]
    token = ApiToken.objects.get()
    assert raw.startswith(token.prefix) and raw not in token.token_hash
    assert services.api_token_authenticate(header=f"Bearer {raw}") == token
    page = admin_client.get(reverse("admin:orders_apitoken_change", args=[token.pk]))
    assert raw not in page.content.decode()
