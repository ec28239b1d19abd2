"""Goods receipt with inspection (F-22): accepted units enter stock through the ledger,
rejected units do not, over-receipt is refused, and every bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from backoffice.errors import DuplicateSubmission
from backoffice.services import ALREADY_SUBMITTED
from inventory.models import Movement, MovementKind, Stock
from orders import services as orders
from suppliers import selectors, services
from suppliers.exceptions import InvalidReceipt, InvalidTransition, OverReceipt, PurchasingError
from suppliers.models import GoodsReceipt, PurchaseOrder, SupplierReturn
from suppliers.services import ReceiptLineRequest as Line

from ..factories import purchase_order

pytestmark = pytest.mark.django_db

S = PurchaseOrder.Status


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def levels() -> dict[str, int]:
    return dict(Stock.objects.values_list("variant__sku", "on_hand"))


def ledger() -> list[tuple[str, str, int, str]]:
    return list(
        Movement.objects.order_by("pk").values_list(
            "stock__variant__sku", "kind", "quantity", "reference"
        )
    )


NAMES = {"SHIRT-M": "shirt", "MUG-1": "mug", "CAP-1": "cap"}


def lines_of(order) -> dict[str, object]:
    """The order's lines by short name ("shirt", "mug", "cap")."""
    return {NAMES[line.variant.sku]: line for line in order.lines.select_related("variant")}


def assert_ledger_matches_levels() -> None:
    for stock in Stock.objects.annotate(ledger=Sum("movements__quantity")):
        assert stock.on_hand == stock.ledger, stock


@pytest.fixture
def sent_order(clock, acme, warehouse, skus, price_list, admin_user):
    """PO-…: 10 shirts at 8.00, 20 mugs at 5.50 (list 5.00), 100 caps at the list's break
    cost 2.50; sent on 2 March, expected on 9 March (7 days' lead time)."""
    return purchase_order(
        acme,
        warehouse,
        [(skus["shirt"], 10, "8.00"), (skus["mug"], 20, "5.50"), (skus["cap"], 100)],
        send=True,
        actor=admin_user,
    )


# --- the whole story -------------------------------------------------------------------------


def test_two_partial_receipts_with_a_rejected_line(
    sent_order, clock, skus, warehouse, admin_user, acme
):
    order = sent_order
    number = order.number
    assert (order.status, order.expected_date) == (S.SENT, date(2026, 3, 9))
    line = lines_of(order)
    assert (line["cap"].unit_cost, line["cap"].list_unit_cost) == (Decimal("2.50"), Decimal("2.50"))
    assert (line["mug"].unit_cost, line["mug"].list_unit_cost) == (Decimal("5.50"), Decimal("5.00"))
    refs = {sku: line[sku].reference for sku in line}
    assert refs == {"shirt": f"{number}/L1", "mug": f"{number}/L2", "cap": f"{number}/L3"}

    # 6 March (on time): 6 shirts; 20 mugs of which 4 arrived broken.
    clock.set(at(6))
    first = services.goods_receipt(
        order=order,
        lines=[
            Line(line["shirt"].pk, received=6, accepted=6),
            Line(line["mug"].pk, received=20, accepted=16, rejected=4, reason="damaged"),
        ],
        delivery_note="DN-1",
        actor=admin_user,
    )
    order.refresh_from_db()
    assert order.status == S.PARTIALLY_RECEIVED
    assert levels() == {"SHIRT-M": 6, "MUG-1": 16}
    assert ledger() == [  # in SKU order: one lock order for every receipt
        ("SHIRT-M", MovementKind.RECEIPT, 6, refs["shirt"]),
        ("MUG-1", MovementKind.RECEIPT, 16, refs["mug"]),
    ]
    assert sorted(first.lines.values_list("accepted", "rejected", "rejection_reason")) == [
        (6, 0, ""),
        (16, 4, "damaged"),
    ]

    # 12 March (late): the 4 missing shirts, 4 replacement mugs, and 105 caps (5 % tolerance).
    clock.set(at(12))
    second = services.goods_receipt(
        order=order,
        lines=[
            Line(line["shirt"].pk, received=4, accepted=4),
            Line(line["mug"].pk, received=4, accepted=4),
            Line(line["cap"].pk, received=105, accepted=105),
        ],
        actor=admin_user,
    )
    order.refresh_from_db()
    assert order.status == S.RECEIVED
    assert order.completed_at == at(12)
    assert levels() == {"SHIRT-M": 10, "MUG-1": 20, "CAP-1": 105}
    assert sorted(
        (sku, qty, ref) for sku, kind, qty, ref in ledger() if kind == MovementKind.RECEIPT
    ) == sorted(
        [
            ("SHIRT-M", 6, refs["shirt"]),
            ("MUG-1", 16, refs["mug"]),
            ("SHIRT-M", 4, refs["shirt"]),
            ("MUG-1", 4, refs["mug"]),
            ("CAP-1", 105, refs["cap"]),
        ]
    )
    assert len(ledger()) == 5
    assert_ledger_matches_levels()
    assert {
        sku: (row.received_quantity, row.accepted_quantity, row.rejected_quantity)
        for sku, row in lines_of(order).items()
    } == {"shirt": (10, 10, 0), "mug": (24, 20, 4), "cap": (105, 105, 0)}
    # Each receipt line points at the movement it wrote.
    cap_line = second.lines.get(order_line=line["cap"])
    assert (cap_line.movement.quantity, cap_line.movement.reference) == (105, refs["cap"])

    # Customers buy 5 shirts (Acme is the shirt's preferred supplier) and send 1 back; the
    # mug's preferred supplier is Other, so its sales and returns are not Acme's.
    clock.set(at(15))
    sale = orders.order_create(
        number="SO-1",
        customer_name="Li Lei",
        lines=[
            orders.LineRequest(skus["shirt"], 5, Decimal("19.90")),
            orders.LineRequest(skus["mug"], 4, Decimal("9.90")),
        ],
        actor=admin_user,
    )
    orders.order_allocate(order=sale, warehouse=warehouse, actor=admin_user)
    orders.order_ship(order=sale, carrier="SF", tracking_number="SF1", actor=admin_user)
    clock.set(at(20))
    shirt_line, mug_line = sale.lines.order_by("pk")
    orders.return_request(
        order=sale,
        lines=[
            orders.ReturnLineRequest(shirt_line, 1, "size_fit"),
            orders.ReturnLineRequest(mug_line, 2, "damaged"),
        ],
        actor=admin_user,
    )

    card = selectors.supplier_scorecard(
        supplier=acme, start=date(2026, 3, 1), end=date(2026, 3, 31)
    )
    assert (card.deliveries, card.on_time_deliveries, card.on_time_rate) == (2, 1, 0.5)
    assert (card.ordered_units, card.filled_units, card.fill_rate) == (130, 130, 1.0)
    assert (card.received_units, card.rejected_units) == (139, 4)
    assert card.rejection_rate == pytest.approx(4 / 139)
    # Paid 10×8.00 + 20×5.50 + 100×2.50 = 440.00 against 10×8 + 20×5 + 100×2.50 = 430.00.
    assert (card.paid_amount, card.list_amount) == (Decimal("440"), Decimal("430"))
    assert card.price_variance == pytest.approx(10 / 430)
    assert (card.shipped_units, card.returned_units, card.return_rate) == (5, 1, 0.2)

    # A period before anything happened has nothing to measure.
    empty = selectors.supplier_scorecard(
        supplier=acme, start=date(2026, 1, 1), end=date(2026, 1, 31)
    )
    assert (empty.deliveries, empty.on_time_rate, empty.fill_rate, empty.return_rate) == (
        0,
        None,
        None,
        None,
    )


def test_rejected_goods_go_back_to_the_supplier_without_a_stock_movement(
    sent_order, admin_user, state
):
    mug = lines_of(sent_order)["mug"]
    receipt = services.goods_receipt(
        order=sent_order,
        lines=[Line(mug.pk, received=20, accepted=15, rejected=5, reason="defective")],
        actor=admin_user,
    )
    receipt_line = receipt.lines.get()
    movements = Movement.objects.count()

    document = services.supplier_return_create(
        order=sent_order,
        quantities={receipt_line.pk: 3},
        carrier_reference="SF-RTV-1",
        actor=admin_user,
    )

    assert document.number.startswith("RTV-")
    assert list(document.lines.values_list("receipt_line", "quantity")) == [(receipt_line.pk, 3)]
    receipt_line.refresh_from_db()
    assert receipt_line.returned_quantity == 3
    assert Movement.objects.count() == movements  # never entered stock, nothing to take out
    assert levels() == {"MUG-1": 15}
    # Only 2 rejected units are left to send back.
    before = state()
    with pytest.raises(PurchasingError) as refused:
        services.supplier_return_create(
            order=sent_order, quantities={receipt_line.pk: 3}, actor=admin_user
        )
    assert refused.value.message == services.RTV_TOO_MANY % {
        "sku": "MUG-1",
        "receipt": receipt.number,
        "quantity": 3,
        "left": 2,
    }
    assert state() == before


# --- bad input: a clear message, nothing changed --------------------------------------------


def refused(call, state, error=PurchasingError) -> str:
    before = state()
    with pytest.raises(error) as caught:
        call()
    assert state() == before
    return caught.value.message


def test_over_receipt_beyond_the_tolerance_is_refused(sent_order, admin_user, state):
    cap = lines_of(sent_order)["cap"]
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order, lines=[Line(cap.pk, received=106, accepted=106)], actor=admin_user
        ),
        state,
        OverReceipt,
    )
    detail = services.OVER_RECEIPT_LINE % {
        "reference": cap.reference,
        "sku": "CAP-1",
        "ordered": 100,
        "already": 0,
        "limit": 105,
        "tolerance": Decimal("5"),
        "accepted": 106,
    }
    assert message == services.OVER_RECEIPT % {"lines": detail}
    assert "at most 105 may be accepted (tolerance 5%)" in message


def test_over_receipt_counts_what_earlier_receipts_accepted(sent_order, admin_user, state):
    shirt = lines_of(sent_order)["shirt"]
    services.goods_receipt(
        order=sent_order, lines=[Line(shirt.pk, received=8, accepted=8)], actor=admin_user
    )
    # 5 % of 10 is less than one unit: nothing beyond the 10 ordered.
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order, lines=[Line(shirt.pk, received=3, accepted=3)], actor=admin_user
        ),
        state,
        OverReceipt,
    )
    assert "ordered 10, already accepted 8, at most 10 may be accepted" in message


def test_units_rejected_as_not_ordered_do_not_count_as_over_receipt(sent_order, admin_user):
    shirt = lines_of(sent_order)["shirt"]
    services.goods_receipt(
        order=sent_order,
        lines=[Line(shirt.pk, received=14, accepted=10, rejected=4, reason="not_ordered")],
        actor=admin_user,
    )
    assert levels() == {"SHIRT-M": 10}


def test_a_per_supplier_tolerance(sent_order, admin_user, acme):
    acme.receipt_tolerance_percent = Decimal("10")
    acme.save()
    cap = lines_of(sent_order)["cap"]
    services.goods_receipt(
        order=sent_order, lines=[Line(cap.pk, received=110, accepted=110)], actor=admin_user
    )
    assert levels() == {"CAP-1": 110}


@pytest.mark.parametrize(
    ("received", "accepted", "rejected", "expected"),
    [
        (-1, 0, 0, services.RECEIPT_RECEIVED_POSITIVE),
        (0, 0, 0, services.RECEIPT_RECEIVED_POSITIVE),
        (5, -1, 6, services.RECEIPT_NEGATIVE),
        (5, 6, -1, services.RECEIPT_NEGATIVE),
        (2.5, 2.5, 0, services.RECEIPT_RECEIVED_POSITIVE),
    ],
)
def test_negative_zero_or_fractional_quantities_are_refused(
    sent_order, admin_user, state, received, accepted, rejected, expected
):
    shirt = lines_of(sent_order)["shirt"]
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order,
            lines=[Line(shirt.pk, received, accepted, rejected, reason="damaged")],
            actor=admin_user,
        ),
        state,
        InvalidReceipt,
    )
    assert message == expected % {"reference": shirt.reference, "sku": "SHIRT-M"}


def test_accepted_plus_rejected_must_equal_received(sent_order, admin_user, state):
    shirt = lines_of(sent_order)["shirt"]
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order,
            lines=[Line(shirt.pk, received=5, accepted=3, rejected=1, reason="damaged")],
            actor=admin_user,
        ),
        state,
        InvalidReceipt,
    )
    assert message == services.RECEIPT_SUM % {
        "reference": shirt.reference,
        "sku": "SHIRT-M",
        "accepted": 3,
        "rejected": 1,
        "received": 5,
    }


def test_a_rejection_needs_a_reason(sent_order, admin_user, state):
    shirt = lines_of(sent_order)["shirt"]
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order, lines=[Line(shirt.pk, 5, 3, 2)], actor=admin_user
        ),
        state,
        InvalidReceipt,
    )
    assert message == services.RECEIPT_REASON_REQUIRED % {
        "reference": shirt.reference,
        "sku": "SHIRT-M",
        "rejected": 2,
    }


def test_an_unknown_rejection_reason_is_refused(sent_order, admin_user, state):
    shirt = lines_of(sent_order)["shirt"]
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order, lines=[Line(shirt.pk, 5, 3, 2, reason="bored")], actor=admin_user
        ),
        state,
        InvalidReceipt,
    )
    assert message == services.RECEIPT_UNKNOWN_REASON % {
        "reference": shirt.reference,
        "sku": "SHIRT-M",
        "reason": "bored",
    }


def test_a_line_of_another_order_is_refused(sent_order, acme, warehouse, skus, admin_user, state):
    other = purchase_order(acme, warehouse, [(skus["shirt"], 3)], send=True)
    foreign = other.lines.get()
    shirt = lines_of(sent_order)["shirt"]
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order,
            lines=[Line(shirt.pk, 1, 1), Line(foreign.pk, 1, 1)],
            actor=admin_user,
        ),
        state,
        InvalidReceipt,
    )
    assert message == services.RECEIPT_UNKNOWN_LINE % {
        "line": foreign.pk,
        "number": sent_order.number,
    }


def test_the_same_line_twice_is_refused(sent_order, admin_user, state):
    shirt = lines_of(sent_order)["shirt"]
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order, lines=[Line(shirt.pk, 1, 1), Line(shirt.pk, 2, 2)], actor=admin_user
        ),
        state,
        InvalidReceipt,
    )
    assert message == services.RECEIPT_DUPLICATE_LINE % {"line": shirt.pk}


def test_an_empty_receipt_is_refused(sent_order, admin_user, state):
    message = refused(
        lambda: services.goods_receipt(order=sent_order, lines=[], actor=admin_user),
        state,
        InvalidReceipt,
    )
    assert message == services.RECEIPT_NO_LINES


def test_a_delivery_in_the_future_is_refused(sent_order, admin_user, state, clock):
    shirt = lines_of(sent_order)["shirt"]
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order,
            lines=[Line(shirt.pk, 1, 1)],
            received_at=at(3, 12),
            actor=admin_user,
        ),
        state,
        InvalidReceipt,
    )
    assert message == services.RECEIPT_IN_FUTURE


def test_one_bad_line_refuses_the_whole_receipt(sent_order, admin_user, state):
    line = lines_of(sent_order)
    refused(
        lambda: services.goods_receipt(
            order=sent_order,
            lines=[Line(line["shirt"].pk, 5, 5), Line(line["cap"].pk, 500, 500)],
            actor=admin_user,
        ),
        state,
        OverReceipt,
    )


def test_receiving_on_a_draft_is_refused(acme, warehouse, skus, price_list, admin_user, state):
    draft = purchase_order(acme, warehouse, [(skus["shirt"], 10)])
    message = refused(
        lambda: services.goods_receipt(
            order=draft, lines=[Line(draft.lines.get().pk, 1, 1)], actor=admin_user
        ),
        state,
        InvalidTransition,
    )
    assert message == services.PO_WRONG_STATUS % {
        "number": draft.number,
        "status": "Draft",
        "action": services.ACTION_RECEIVED,
    }
    assert message == f"{draft.number} is Draft: it cannot be received against."


def test_receiving_on_a_cancelled_order_is_refused(sent_order, admin_user, state):
    services.purchase_order_cancel(order=sent_order, reason="Supplier closed", actor=admin_user)
    shirt = lines_of(sent_order)["shirt"]
    message = refused(
        lambda: services.goods_receipt(
            order=sent_order, lines=[Line(shirt.pk, 1, 1)], actor=admin_user
        ),
        state,
        InvalidTransition,
    )
    assert message == f"{sent_order.number} is Cancelled: it cannot be received against."


def test_receiving_on_a_received_order_is_refused(
    acme, warehouse, skus, price_list, admin_user, state
):
    order = purchase_order(acme, warehouse, [(skus["shirt"], 2)], send=True)
    line = order.lines.get()
    services.goods_receipt(order=order, lines=[Line(line.pk, 2, 2)], actor=admin_user)
    message = refused(
        lambda: services.goods_receipt(
            order=order, lines=[Line(line.pk, 1, 0, 1, reason="other")], actor=admin_user
        ),
        state,
        InvalidTransition,
    )
    assert message == f"{order.number} is Received: it cannot be received against."


def test_the_same_receipt_form_submitted_twice_is_received_once(sent_order, admin_user, state):
    shirt = lines_of(sent_order)["shirt"]

    def submit():
        return services.goods_receipt(
            order=sent_order,
            lines=[Line(shirt.pk, 4, 4)],
            actor=admin_user,
            submission_key="receive-form-1",
        )

    submit()
    assert levels() == {"SHIRT-M": 4}
    message = refused(submit, state, DuplicateSubmission)
    assert message == str(ALREADY_SUBMITTED)
    assert GoodsReceipt.objects.count() == 1


def test_a_refused_receipt_gives_its_submission_key_back(sent_order, admin_user):
    shirt = lines_of(sent_order)["shirt"]
    with pytest.raises(OverReceipt):
        services.goods_receipt(
            order=sent_order, lines=[Line(shirt.pk, 50, 50)], actor=admin_user, submission_key="k"
        )
    # Corrected and submitted again with the same page: accepted.
    services.goods_receipt(
        order=sent_order, lines=[Line(shirt.pk, 5, 5)], actor=admin_user, submission_key="k"
    )
    assert levels() == {"SHIRT-M": 5}


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(0, services.RTV_NOTHING), (-1, services.RTV_QUANTITY)],
)
def test_bad_return_quantities_are_refused(sent_order, admin_user, state, quantity, expected):
    mug = lines_of(sent_order)["mug"]
    receipt = services.goods_receipt(
        order=sent_order, lines=[Line(mug.pk, 5, 3, 2, reason="damaged")], actor=admin_user
    )
    message = refused(
        lambda: services.supplier_return_create(
            order=sent_order, quantities={receipt.lines.get().pk: quantity}, actor=admin_user
        ),
        state,
    )
    assert message == expected % {"sku": "MUG-1"}
    assert SupplierReturn.objects.count() == 0


def test_returning_accepted_units_is_refused(sent_order, admin_user, state):
    shirt = lines_of(sent_order)["shirt"]
    receipt = services.goods_receipt(
        order=sent_order, lines=[Line(shirt.pk, 5, 5)], actor=admin_user
    )
    message = refused(
        lambda: services.supplier_return_create(
            order=sent_order, quantities={receipt.lines.get().pk: 1}, actor=admin_user
        ),
        state,
    )
    assert "only 0 rejected units are waiting to be returned" in message
