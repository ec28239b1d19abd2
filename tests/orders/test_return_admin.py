"""Returns from the admin: "Request return…" on an order, "Inspect…" on a received return.

Every refusal shows its message and writes nothing: no return, no line, no
stock level, no movement, no submission key.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from backoffice.services import ALREADY_SUBMITTED
from inventory import services as inventory
from inventory.models import Movement, MovementKind, Stock
from orders import services
from orders.forms import QUANTITY_NOT_NEGATIVE, RETURN_SELECT_ONE_ORDER, RETURN_SELECT_ONE_RETURN
from orders.models import Order, ReturnLine, ReturnRequest
from orders.services import LineRequest, ReturnLineRequest

from ..factories import OrderFactory, ProductFactory, SupplierFactory, VariantFactory

pytestmark = pytest.mark.django_db

ORDERS = "admin:orders_order_changelist"
RETURNS = "admin:orders_returnrequest_changelist"


@pytest.fixture
def cap(warehouse, admin_user):
    variant = VariantFactory(product=ProductFactory(title="Cap"), sku="CAP-1", price="9.50")
    inventory.receive(variant=variant, warehouse=warehouse, quantity=3, actor=admin_user)
    return variant


@pytest.fixture
def order(stocked_variant, cap, admin_user):
    return services.order_create(
        number="SO-1",
        customer_name="Li Lei",
        lines=[LineRequest(stocked_variant, 4, Decimal("19.90")), LineRequest(cap, 2, "9.50")],
        actor=admin_user,
    )


@pytest.fixture
def shipped(order, warehouse, admin_user):
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    services.order_ship(order=order, carrier="SF", tracking_number="SF1", actor=admin_user)
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def shirt_line(shipped, stocked_variant):
    return shipped.lines.get(variant=stocked_variant)


@pytest.fixture
def cap_line(shipped, cap):
    return shipped.lines.get(variant=cap)


def received(order, line, quantity, admin_user, kind=ReturnRequest.Kind.REFUND, **extra):
    rma = services.return_request(
        order=order,
        lines=[ReturnLineRequest(line, quantity, "damaged", **extra)],
        kind=kind,
        actor=admin_user,
    )
    services.return_approve(return_request=rma, actor=admin_user)
    return services.return_receive(return_request=rma, actor=admin_user)


def state(snapshot) -> dict:
    """The shared snapshot plus everything a return writes."""
    return {
        **snapshot(),
        "returns": sorted(
            ReturnRequest.objects.values_list(
                "pk", "status", "refund_amount", "replacement_order_id"
            )
        ),
        "return_lines": sorted(
            ReturnLine.objects.values_list(
                "pk", "quantity", "resellable_quantity", "damaged_quantity", "supplier_quantity"
            )
        ),
    }


def post(client, url, action, objects, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in objects], **extra}
    return client.post(reverse(url), data, follow=True)


def messages_of(response) -> list[str]:
    """The messages as staff read them (links reduced to their text)."""
    return [strip_tags(str(m)) for m in response.context["messages"]]


def request_return(client, order, *, key="rk1", **fields):
    data = {"kind": "refund", "reason": "size_fit", "note": "", "submission_key": key}
    for line in order.lines.filter(shipped_quantity__gt=0):
        data[f"line_{line.pk}"] = "0"
    data.update(fields)
    return post(client, ORDERS, "request_return_action", [order], apply="1", **data)


# --- Request return… -------------------------------------------------------------------------


def test_request_return_page_lists_the_shipped_lines(admin_client, shipped, shirt_line, cap_line):
    response = post(admin_client, ORDERS, "request_return_action", [shipped])
    assert response.status_code == 200
    form = response.context["form"]
    assert {f"line_{shirt_line.pk}", f"line_{cap_line.pk}"} <= set(form.fields)
    content = response.content.decode()
    assert "SHIRT-M" in content and "CAP-1" in content
    assert "4 shipped, 4 can still be returned." in content


def test_request_return_lists_only_what_a_partial_shipment_sent(
    admin_client, order, stocked_variant, cap, warehouse, admin_user
):
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    shirt = order.lines.get(variant=stocked_variant)
    services.order_ship(
        order=order, carrier="SF", tracking_number="T", quantities={shirt.pk: 3}, actor=admin_user
    )
    response = post(admin_client, ORDERS, "request_return_action", [order])
    lines = [name for name in response.context["form"].fields if name.startswith("line_")]
    assert lines == [f"line_{shirt.pk}"]
    response = request_return(admin_client, order, **{f"line_{shirt.pk}": "3"})
    rma = ReturnRequest.objects.get()
    assert list(rma.lines.values_list("order_line", "quantity")) == [(shirt.pk, 3)]
    assert f"Return {rma} requested for order SO-1." in messages_of(response)


def test_request_return_creates_the_return_through_the_service(
    admin_client, shipped, shirt_line, cap_line, admin_user
):
    before = Stock.objects.values_list("pk", "on_hand", "allocated").order_by("pk")
    before, movements = list(before), Movement.objects.count()
    response = request_return(
        admin_client,
        shipped,
        kind="exchange",
        reason="wrong_item",
        note="Sent blue, ordered red",
        **{f"line_{shirt_line.pk}": "2", f"line_{cap_line.pk}": "1"},
    )
    rma = ReturnRequest.objects.get()
    assert (rma.order, rma.kind, rma.status, rma.note, rma.actor) == (
        shipped,
        "exchange",
        "requested",
        "Sent blue, ordered red",
        admin_user,
    )
    assert sorted(rma.lines.values_list("order_line", "quantity", "reason")) == sorted(
        [(shirt_line.pk, 2, "wrong_item"), (cap_line.pk, 1, "wrong_item")]
    )
    url = reverse("admin:orders_returnrequest_change", args=[rma.pk])
    assert f'href="{url}"' in response.content.decode()
    # A request moves no stock: inspection does.
    assert list(Stock.objects.values_list("pk", "on_hand", "allocated").order_by("pk")) == before
    assert Movement.objects.count() == movements


def test_request_return_of_more_than_shipped_is_refused(
    admin_client, snapshot, shipped, shirt_line
):
    before = state(snapshot)
    response = request_return(admin_client, shipped, **{f"line_{shirt_line.pk}": "5"})
    assert str(
        services.RETURN_TOO_MANY % {"sku": "SHIRT-M", "quantity": 5, "left": 4}
    ) in messages_of(response)
    assert state(snapshot) == before


def test_request_return_of_units_already_in_a_return_is_refused(
    admin_client, snapshot, shipped, shirt_line, admin_user
):
    services.return_request(
        order=shipped, lines=[ReturnLineRequest(shirt_line, 3, "other")], actor=admin_user
    )
    before = state(snapshot)
    response = request_return(admin_client, shipped, **{f"line_{shirt_line.pk}": "2"})
    assert str(
        services.RETURN_TOO_MANY % {"sku": "SHIRT-M", "quantity": 2, "left": 1}
    ) in messages_of(response)
    assert state(snapshot) == before


def test_request_return_with_every_quantity_zero_is_refused(admin_client, snapshot, shipped):
    before = state(snapshot)
    response = request_return(admin_client, shipped)
    assert str(services.RETURN_NO_LINES) in messages_of(response)
    assert state(snapshot) == before


def test_request_return_with_a_negative_quantity_is_refused(
    admin_client, snapshot, shipped, shirt_line, cap_line
):
    before = state(snapshot)
    response = request_return(
        admin_client, shipped, **{f"line_{shirt_line.pk}": "-1", f"line_{cap_line.pk}": "1"}
    )
    assert response.context["form"].errors[f"line_{shirt_line.pk}"] == [str(QUANTITY_NOT_NEGATIVE)]
    assert state(snapshot) == before


def test_request_return_with_an_unknown_reason_is_refused(
    admin_client, snapshot, shipped, shirt_line
):
    before = state(snapshot)
    response = request_return(
        admin_client, shipped, reason="bored", **{f"line_{shirt_line.pk}": "1"}
    )
    assert "reason" in response.context["form"].errors
    assert state(snapshot) == before


def test_request_return_for_several_orders_is_refused(admin_client, snapshot, shipped):
    second = OrderFactory(status="shipped")
    before = state(snapshot)
    response = post(admin_client, ORDERS, "request_return_action", [shipped, second])
    assert str(RETURN_SELECT_ONE_ORDER) in messages_of(response)
    assert "form" not in response.context
    assert state(snapshot) == before


def test_request_return_for_an_unshipped_order_is_refused(admin_client, snapshot, order):
    before = state(snapshot)
    response = post(admin_client, ORDERS, "request_return_action", [order])
    assert str(
        services.RETURN_NOT_SHIPPED % {"number": "SO-1", "status": "Received"}
    ) in messages_of(response)
    assert state(snapshot) == before


def test_request_return_submitted_twice_creates_one_return(admin_client, shipped, shirt_line):
    request_return(admin_client, shipped, key="same", **{f"line_{shirt_line.pk}": "1"})
    response = request_return(admin_client, shipped, key="same", **{f"line_{shirt_line.pk}": "1"})
    assert str(ALREADY_SUBMITTED) in messages_of(response)
    assert ReturnRequest.objects.count() == 1


# --- Inspect… --------------------------------------------------------------------------------


def inspect(client, rma, *, key="ik1", refund="0", **fields):
    data = {"refund_amount": refund, "submission_key": key}
    for line in rma.lines.all():
        data.update(
            {
                f"resellable_{line.pk}": "0",
                f"damaged_{line.pk}": "0",
                f"to_supplier_{line.pk}": "0",
                f"supplier_{line.pk}": "",
            }
        )
    data.update(fields)
    return post(client, RETURNS, "inspect_action", [rma], apply="1", **data)


def test_inspect_page_shows_each_line_and_the_refund(admin_client, shipped, shirt_line, admin_user):
    rma = received(shipped, shirt_line, 2, admin_user)
    line = rma.lines.get()
    response = post(admin_client, RETURNS, "inspect_action", [rma])
    form = response.context["form"]
    assert {
        f"resellable_{line.pk}",
        f"damaged_{line.pk}",
        f"to_supplier_{line.pk}",
        f"supplier_{line.pk}",
        "refund_amount",
    } <= set(form.fields)
    assert form.fields["refund_amount"].initial == Decimal("39.80")
    assert form.fields[f"resellable_{line.pk}"].initial == 2


def test_inspect_restocks_disposes_and_records_the_refund(
    admin_client, shipped, shirt_line, stocked_variant, warehouse, admin_user
):
    supplier = SupplierFactory()
    rma = received(shipped, shirt_line, 4, admin_user)
    line = rma.lines.get()
    response = inspect(
        admin_client,
        rma,
        refund="59.70",
        **{
            f"resellable_{line.pk}": "2",
            f"damaged_{line.pk}": "1",
            f"to_supplier_{line.pk}": "1",
            f"supplier_{line.pk}": str(supplier.pk),
        },
    )
    rma.refresh_from_db()
    line.refresh_from_db()
    assert (rma.status, rma.refund_amount) == ("inspected", Decimal("59.70"))
    assert (line.resellable_quantity, line.damaged_quantity, line.supplier_quantity) == (2, 1, 1)
    assert line.supplier == supplier
    assert Stock.objects.get(variant=stocked_variant, warehouse=warehouse).on_hand == 8
    kinds = sorted(
        Movement.objects.filter(reference=f"return-line:{line.pk}").values_list("kind", "quantity")
    )
    assert kinds == sorted(
        [
            (MovementKind.RETURN, 4),
            (MovementKind.DISPOSAL, -1),
            (MovementKind.RETURN_TO_SUPPLIER, -1),
        ]
    )
    assert f"{rma} inspected; refund 59.70." in messages_of(response)


def test_inspect_of_an_exchange_links_the_replacement_order(
    admin_client, shipped, shirt_line, stocked_variant, admin_user
):
    larger = VariantFactory(product=stocked_variant.product, sku="SHIRT-L")
    rma = received(shipped, shirt_line, 1, admin_user, kind="exchange", exchange_variant=larger)
    line = rma.lines.get()
    response = inspect(admin_client, rma, **{f"resellable_{line.pk}": "1"})
    rma.refresh_from_db()
    replacement = rma.replacement_order
    assert replacement is not None and replacement.total == 0
    assert list(replacement.lines.values_list("variant__sku", "quantity")) == [("SHIRT-L", 1)]
    url = reverse("admin:orders_order_change", args=[replacement.pk])
    message = next(str(m) for m in response.context["messages"] if "replacement order" in str(m))
    assert f'<a href="{url}">{replacement.number}</a>' in message
    assert f"{rma} inspected; refund 0.00; replacement order {replacement.number} created." in (
        messages_of(response)
    )
    assert f'href="{url}"' in response.content.decode()


def test_inspect_that_does_not_add_up_is_refused(
    admin_client, snapshot, shipped, shirt_line, admin_user
):
    rma = received(shipped, shirt_line, 2, admin_user)
    line = rma.lines.get()
    before = state(snapshot)
    response = inspect(admin_client, rma, **{f"resellable_{line.pk}": "1"})
    assert str(
        services.RETURN_INSPECT_SUM % {"sku": "SHIRT-M", "quantity": 2, "total": 1}
    ) in messages_of(response)
    assert state(snapshot) == before


def test_inspect_of_more_than_returned_is_refused(
    admin_client, snapshot, shipped, shirt_line, admin_user
):
    rma = received(shipped, shirt_line, 2, admin_user)
    line = rma.lines.get()
    before = state(snapshot)
    response = inspect(
        admin_client, rma, **{f"resellable_{line.pk}": "2", f"damaged_{line.pk}": "1"}
    )
    assert str(
        services.RETURN_INSPECT_SUM % {"sku": "SHIRT-M", "quantity": 2, "total": 3}
    ) in messages_of(response)
    assert state(snapshot) == before


def test_inspect_with_a_negative_quantity_is_refused(
    admin_client, snapshot, shipped, shirt_line, admin_user
):
    rma = received(shipped, shirt_line, 2, admin_user)
    line = rma.lines.get()
    before = state(snapshot)
    response = inspect(
        admin_client, rma, **{f"resellable_{line.pk}": "3", f"damaged_{line.pk}": "-1"}
    )
    assert response.context["form"].errors[f"damaged_{line.pk}"] == [str(QUANTITY_NOT_NEGATIVE)]
    assert state(snapshot) == before


def test_inspect_to_supplier_without_a_supplier_is_refused(
    admin_client, snapshot, shipped, shirt_line, admin_user
):
    rma = received(shipped, shirt_line, 1, admin_user)
    line = rma.lines.get()
    before = state(snapshot)
    response = inspect(admin_client, rma, **{f"to_supplier_{line.pk}": "1"})
    assert str(services.RETURN_INSPECT_SUPPLIER % {"sku": "SHIRT-M"}) in messages_of(response)
    assert state(snapshot) == before


def test_inspect_with_a_refund_above_the_returned_value_is_refused(
    admin_client, snapshot, shipped, shirt_line, admin_user
):
    rma = received(shipped, shirt_line, 1, admin_user)
    line = rma.lines.get()
    before = state(snapshot)
    response = inspect(admin_client, rma, refund="19.91", **{f"resellable_{line.pk}": "1"})
    assert str(services.RETURN_REFUND_RANGE % {"limit": Decimal("19.90")}) in messages_of(response)
    assert state(snapshot) == before


def test_inspect_with_a_negative_refund_is_refused(
    admin_client, snapshot, shipped, shirt_line, admin_user
):
    rma = received(shipped, shirt_line, 1, admin_user)
    line = rma.lines.get()
    before = state(snapshot)
    response = inspect(admin_client, rma, refund="-1", **{f"resellable_{line.pk}": "1"})
    assert "refund_amount" in response.context["form"].errors
    assert state(snapshot) == before


def test_inspect_of_a_return_not_received_is_refused(
    admin_client, snapshot, shipped, shirt_line, admin_user
):
    rma = services.return_request(
        order=shipped, lines=[ReturnLineRequest(shirt_line, 1, "other")], actor=admin_user
    )
    before = state(snapshot)
    response = post(admin_client, RETURNS, "inspect_action", [rma])
    assert str(
        services.RETURN_WRONG_STATUS
        % {"number": str(rma), "status": "Requested", "action": "inspected"}
    ) in messages_of(response)
    assert "form" not in response.context
    assert state(snapshot) == before


def test_inspect_of_several_returns_is_refused(
    admin_client, snapshot, shipped, shirt_line, cap_line, admin_user
):
    first = received(shipped, shirt_line, 1, admin_user)
    second = received(shipped, cap_line, 1, admin_user)
    before = state(snapshot)
    response = post(admin_client, RETURNS, "inspect_action", [first, second])
    assert str(RETURN_SELECT_ONE_RETURN) in messages_of(response)
    assert state(snapshot) == before


def test_inspect_submitted_twice_moves_stock_once(
    admin_client, shipped, shirt_line, stocked_variant, warehouse, admin_user
):
    rma = received(shipped, shirt_line, 1, admin_user)
    line = rma.lines.get()
    inspect(admin_client, rma, key="same", **{f"resellable_{line.pk}": "1"})
    movements = Movement.objects.count()
    response = inspect(admin_client, rma, key="same", **{f"resellable_{line.pk}": "1"})
    # The second page is refused before the service: the return is no longer "received".
    assert str(
        services.RETURN_WRONG_STATUS
        % {"number": str(rma), "status": "Inspected", "action": "inspected"}
    ) in messages_of(response)
    assert Movement.objects.count() == movements
    assert Stock.objects.get(variant=stocked_variant, warehouse=warehouse).on_hand == 7
