"""Review, pick/pack, partial shipment, delivery; returns and exchanges (退換貨)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from inventory import services as inventory
from inventory.models import Movement, MovementKind, Stock
from orders import selectors, services
from orders.models import Order, ReturnRequest, Shipment
from orders.services import Inspection, LineRequest, ReturnLineRequest

from ..factories import ProductFactory, SupplierFactory, VariantFactory

pytestmark = pytest.mark.django_db


def refused(snapshot, message, call, error=services.OrderError):
    before = snapshot()
    with pytest.raises(error) as excinfo:
        call()
    assert str(excinfo.value) == str(message)
    assert snapshot() == before


def level(variant, warehouse):
    return Stock.objects.values_list("on_hand", "allocated").get(
        variant=variant, warehouse=warehouse
    )


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


def test_order_totals_are_decimals(order):
    assert (order.subtotal, order.discount_total, order.total) == (
        Decimal("98.60"),
        Decimal("0.00"),
        Decimal("98.60"),
    )


def test_discount_above_the_line_amount_is_refused(snapshot, stocked_variant):
    refused(
        snapshot,
        services.ORDER_BAD_DISCOUNT % {"line": 1},
        lambda: services.order_create(
            number="SO-2",
            customer_name="Li",
            lines=[LineRequest(stocked_variant, 1, Decimal("5.00"), Decimal("5.01"))],
            actor=None,
        ),
    )


def test_review_flags_short_stock_and_prices(stocked_variant, cap, admin_user):
    cap.cost = Decimal("9.00")
    cap.save()
    order = services.order_create(
        number="SO-3",
        customer_name="Li",
        lines=[LineRequest(stocked_variant, 11, Decimal("19.90")), LineRequest(cap, 1, "8.00")],
        actor=None,
    )
    order = services.order_review(order=order, actor=admin_user)
    assert order.status == Order.Status.REVIEWED and order.needs_attention
    assert order.review_messages == [
        "SHIRT-M: 11 ordered, 10 available.",
        "CAP-1: sold at 8.00, list price is 9.50.",
        "CAP-1: sold at 8.00 per unit, below its cost 9.00.",
    ]


def test_review_of_a_clean_order_flags_nothing(order, admin_user):
    assert services.order_review(order=order, actor=admin_user).review_flags == []


def test_pick_pack_ship_deliver(order, warehouse, admin_user):
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    services.order_pick(order=order, actor=admin_user)
    services.order_pack(order=order, actor=admin_user)
    services.order_ship(order=order, carrier="SF", tracking_number="SF1", actor=admin_user)
    services.order_deliver(order=order, actor=admin_user)
    assert Order.objects.get(pk=order.pk).status == Order.Status.DELIVERED


def test_pack_before_pick_is_refused(snapshot, order, warehouse, admin_user):
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    refused(
        snapshot,
        services.ORDER_WRONG_STATUS % {"number": "SO-1", "status": "Allocated", "action": "packed"},
        lambda: services.order_pack(order=order, actor=admin_user),
    )


def test_partial_shipment_then_the_rest(order, stocked_variant, cap, warehouse, admin_user):
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    shirt_line = order.lines.get(variant=stocked_variant)
    services.order_ship(
        order=order,
        carrier="SF",
        tracking_number="SF1",
        quantities={shirt_line.pk: 1},
        actor=admin_user,
    )
    assert Order.objects.get(pk=order.pk).status == Order.Status.PARTIALLY_SHIPPED
    assert level(stocked_variant, warehouse) == (9, 3)
    services.order_ship(order=order, carrier="SF", tracking_number="SF2", actor=admin_user)
    assert Order.objects.get(pk=order.pk).status == Order.Status.SHIPPED
    assert level(stocked_variant, warehouse) == (6, 0)
    assert level(cap, warehouse) == (1, 0)
    assert Shipment.objects.count() == 2


def test_shipping_more_than_left_is_refused(
    snapshot, order, stocked_variant, warehouse, admin_user
):
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    line = order.lines.get(variant=stocked_variant)
    refused(
        snapshot,
        services.SHIP_TOO_MANY % {"quantity": 5, "sku": "SHIRT-M", "number": "SO-1", "left": 4},
        lambda: services.order_ship(
            order=order, carrier="SF", tracking_number="T", quantities={line.pk: 5}, actor=None
        ),
    )


def test_shipping_without_tracking_is_refused(snapshot, order, warehouse, admin_user):
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    refused(
        snapshot,
        services.SHIP_NEEDS_CARRIER,
        lambda: services.order_ship(order=order, carrier="SF", tracking_number=" ", actor=None),
    )


def test_cancel_after_partial_shipment_releases_exactly_the_unshipped_remainder(
    order, stocked_variant, cap, warehouse, admin_user
):
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    shirt = order.lines.get(variant=stocked_variant)
    cap_line = order.lines.get(variant=cap)
    services.order_ship(
        order=order, carrier="SF", tracking_number="T", quantities={shirt.pk: 1}, actor=None
    )
    assert (level(stocked_variant, warehouse), level(cap, warehouse)) == ((9, 3), (3, 2))
    ledger = sorted(Movement.objects.values_list("pk", "stock_id", "kind", "quantity"))

    released = services.order_cancel(order=order, actor=admin_user)

    assert released == 3 + 2  # the 3 shirts and 2 caps not shipped, nothing more
    assert (level(stocked_variant, warehouse), level(cap, warehouse)) == ((9, 0), (3, 0))
    assert sorted(Movement.objects.values_list("pk", "stock_id", "kind", "quantity")) == ledger
    assert dict(order.lines.values_list("pk", "shipped_quantity")) == {shirt.pk: 1, cap_line.pk: 0}
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED and order.cancelled_at is not None
    # What was shipped can still be delivered and returned.
    services.order_deliver(order=order, actor=admin_user)
    services.return_request(
        order=order, lines=[ReturnLineRequest(shirt, 1, "other")], actor=admin_user
    )


def test_cancel_after_partial_shipment_leaves_other_orders_allocations(
    order, stocked_variant, warehouse, admin_user
):
    other = services.order_create(
        number="SO-2",
        customer_name="Han",
        lines=[LineRequest(stocked_variant, 2, Decimal("19.90"))],
        actor=None,
    )
    services.order_allocate(order=other, warehouse=warehouse, actor=admin_user)
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    shirt = order.lines.get(variant=stocked_variant)
    services.order_ship(
        order=order, carrier="SF", tracking_number="T", quantities={shirt.pk: 4}, actor=None
    )
    assert level(stocked_variant, warehouse) == (6, 2)
    assert services.order_cancel(order=order, actor=admin_user) == 2  # the caps only
    assert level(stocked_variant, warehouse) == (6, 2)  # SO-2 keeps its two shirts


def test_cancel_of_a_fully_shipped_order_is_refused(snapshot, shipped, admin_user):
    refused(
        snapshot,
        services.ORDER_WRONG_STATUS
        % {"number": "SO-1", "status": "Shipped", "action": "cancelled"},
        lambda: services.order_cancel(order=shipped, actor=admin_user),
    )


def test_cancel_twice_after_partial_shipment_is_refused(
    snapshot, order, stocked_variant, warehouse, admin_user
):
    services.order_allocate(order=order, warehouse=warehouse, actor=admin_user)
    line = order.lines.get(variant=stocked_variant)
    services.order_ship(
        order=order, carrier="SF", tracking_number="T", quantities={line.pk: 1}, actor=None
    )
    services.order_cancel(order=order, actor=admin_user)
    refused(
        snapshot,
        services.ORDER_WRONG_STATUS
        % {"number": "SO-1", "status": "Shipped", "action": "cancelled"},
        lambda: services.order_cancel(order=order, actor=admin_user),
    )


# --- returns -------------------------------------------------------------------------------


def test_return_restocks_exactly_the_resellable_units(
    shipped, stocked_variant, warehouse, admin_user
):
    supplier = SupplierFactory()
    line = shipped.lines.get(variant=stocked_variant)
    assert level(stocked_variant, warehouse) == (6, 0)
    request = services.return_request(
        order=shipped,
        lines=[ReturnLineRequest(line, 4, "size_fit")],
        actor=admin_user,
    )
    services.return_approve(return_request=request, actor=admin_user)
    services.return_receive(return_request=request, actor=admin_user)
    return_line = request.lines.get()
    services.return_inspect(
        return_request=request,
        results={
            return_line.pk: Inspection(resellable=2, damaged=1, to_supplier=1, supplier=supplier)
        },
        refund_amount=Decimal("79.60"),
        actor=admin_user,
    )
    assert level(stocked_variant, warehouse) == (8, 0)  # exactly the 2 resellable units
    kinds = dict(
        Movement.objects.filter(reference=f"return-line:{return_line.pk}")
        .values("kind")
        .annotate(s=Sum("quantity"))
        .values_list("kind", "s")
    )
    assert kinds == {
        MovementKind.RETURN: 4,
        MovementKind.DISPOSAL: -1,
        MovementKind.RETURN_TO_SUPPLIER: -1,
    }
    request.refresh_from_db()
    assert (request.status, request.refund_amount) == ("inspected", Decimal("79.60"))
    by_product = list(selectors.return_reasons_by_product())
    assert (by_product[0]["reason"], by_product[0]["units"]) == ("size_fit", 4)
    by_supplier = list(selectors.return_reasons_by_supplier())
    assert (by_supplier[0]["supplier_id"], by_supplier[0]["units"]) == (supplier.pk, 1)
    for stock in Stock.objects.annotate(ledger=Sum("movements__quantity")):
        assert stock.on_hand == stock.ledger


def test_exchange_creates_a_replacement_order(shipped, stocked_variant, admin_user):
    larger = VariantFactory(product=stocked_variant.product, sku="SHIRT-L")
    line = shipped.lines.get(variant=stocked_variant)
    request = services.return_request(
        order=shipped,
        lines=[ReturnLineRequest(line, 1, "size_fit", exchange_variant=larger)],
        kind=ReturnRequest.Kind.EXCHANGE,
        actor=admin_user,
    )
    services.return_approve(return_request=request, actor=admin_user)
    services.return_receive(return_request=request, actor=admin_user)
    request = services.return_inspect(
        return_request=request,
        results={request.lines.get().pk: Inspection(resellable=1)},
        refund_amount=Decimal("0"),
        actor=admin_user,
    )
    replacement = request.replacement_order
    assert replacement.status == Order.Status.RECEIVED and replacement.total == 0
    assert list(replacement.lines.values_list("variant__sku", "quantity")) == [("SHIRT-L", 1)]


def test_return_of_more_than_shipped_is_refused(snapshot, shipped, stocked_variant, admin_user):
    line = shipped.lines.get(variant=stocked_variant)
    refused(
        snapshot,
        services.RETURN_TOO_MANY % {"sku": "SHIRT-M", "quantity": 5, "left": 4},
        lambda: services.return_request(
            order=shipped, lines=[ReturnLineRequest(line, 5, "other")], actor=admin_user
        ),
    )


def test_return_of_an_unshipped_order_is_refused(snapshot, order, stocked_variant, admin_user):
    line = order.lines.get(variant=stocked_variant)
    refused(
        snapshot,
        services.RETURN_NOT_SHIPPED % {"number": "SO-1", "status": "Received"},
        lambda: services.return_request(
            order=order, lines=[ReturnLineRequest(line, 1, "other")], actor=admin_user
        ),
    )


def test_inspection_that_does_not_add_up_is_refused(snapshot, shipped, stocked_variant, admin_user):
    line = shipped.lines.get(variant=stocked_variant)
    request = services.return_request(
        order=shipped, lines=[ReturnLineRequest(line, 2, "damaged")], actor=admin_user
    )
    services.return_approve(return_request=request, actor=admin_user)
    services.return_receive(return_request=request, actor=admin_user)
    refused(
        snapshot,
        services.RETURN_INSPECT_SUM % {"sku": "SHIRT-M", "quantity": 2, "total": 1},
        lambda: services.return_inspect(
            return_request=request,
            results={request.lines.get().pk: Inspection(resellable=1)},
            refund_amount=Decimal("0"),
            actor=admin_user,
        ),
    )


def test_refund_above_the_returned_value_is_refused(snapshot, shipped, stocked_variant, admin_user):
    line = shipped.lines.get(variant=stocked_variant)
    request = services.return_request(
        order=shipped, lines=[ReturnLineRequest(line, 1, "damaged")], actor=admin_user
    )
    services.return_approve(return_request=request, actor=admin_user)
    services.return_receive(return_request=request, actor=admin_user)
    refused(
        snapshot,
        services.RETURN_REFUND_RANGE % {"limit": Decimal("19.90")},
        lambda: services.return_inspect(
            return_request=request,
            results={request.lines.get().pk: Inspection(resellable=1)},
            refund_amount=Decimal("19.91"),
            actor=admin_user,
        ),
    )


def test_rejected_return_needs_a_note_and_frees_the_units(shipped, stocked_variant, admin_user):
    line = shipped.lines.get(variant=stocked_variant)
    request = services.return_request(
        order=shipped, lines=[ReturnLineRequest(line, 4, "changed_mind")], actor=admin_user
    )
    with pytest.raises(services.OrderError) as excinfo:
        services.return_reject(return_request=request, note=" ", actor=admin_user)
    assert str(excinfo.value) == str(services.RETURN_REJECT_NEEDS_NOTE)
    services.return_reject(return_request=request, note="Worn", actor=admin_user)
    services.return_request(
        order=shipped, lines=[ReturnLineRequest(line, 4, "changed_mind")], actor=admin_user
    )


def test_return_of_an_unknown_kind_is_refused(snapshot, shipped, stocked_variant, admin_user):
    line = shipped.lines.get(variant=stocked_variant)
    refused(
        snapshot,
        services.ORDER_UNKNOWN_CHOICE % {"field": "kind", "value": "swap"},
        lambda: services.return_request(
            order=shipped, lines=[ReturnLineRequest(line, 1, "other")], kind="swap", actor=None
        ),
    )


def test_returnable_quantities_leave_out_pending_returns(shipped, stocked_variant, cap, admin_user):
    shirt = shipped.lines.get(variant=stocked_variant)
    cap_line = shipped.lines.get(variant=cap)
    rejected = services.return_request(
        order=shipped, lines=[ReturnLineRequest(cap_line, 2, "other")], actor=admin_user
    )
    services.return_reject(return_request=rejected, note="Worn", actor=admin_user)
    services.return_request(
        order=shipped, lines=[ReturnLineRequest(shirt, 3, "other")], actor=admin_user
    )
    assert services.returnable_quantities(shipped) == {shirt.pk: 1, cap_line.pk: 2}


def test_return_status_labels_have_their_own_translation_context(monkeypatch):
    from django.utils import translation

    seen = []

    def pgettext(context, message):
        seen.append((context, message))
        return message

    monkeypatch.setattr(translation._trans, "pgettext", pgettext, raising=False)
    assert str(ReturnRequest.Status.RECEIVED.label) == "Received"
    assert seen == [("return status", "Received")]
    field = ReturnRequest._meta.get_field("warehouse")
    assert str(field.verbose_name) == "receiving warehouse"
