"""Purchase orders (F-21): draft → sent → partially received → received → closed, or
cancelled; lines of a sent order change only through a recorded amendment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from suppliers import services
from suppliers.exceptions import InvalidTransition, PurchasingError
from suppliers.models import PurchaseOrder, PurchaseOrderAmendment
from suppliers.services import LineChange, POLineRequest
from suppliers.services import ReceiptLineRequest as Line

from ..factories import (
    SupplierFactory,
    VariantFactory,
    WarehouseFactory,
    purchase_order,
    supplier_price,
)

pytestmark = pytest.mark.django_db

S = PurchaseOrder.Status


def refused(call, state, error=PurchasingError) -> str:
    before = state()
    with pytest.raises(error) as caught:
        call()
    assert state() == before
    return caught.value.message


def wrong_status(order, status: str, action) -> str:
    return str(
        services.PO_WRONG_STATUS % {"number": order.number, "status": status, "action": action}
    )


@pytest.fixture
def draft(clock, acme, warehouse, skus, price_list, admin_user):
    return purchase_order(
        acme, warehouse, [(skus["shirt"], 10), (skus["mug"], 20, "5.50")], actor=admin_user
    )


def received(order, admin_user, **quantities):
    """Receive (all accepted) ``quantities`` by SKU on ``order``."""
    by_sku = {line.variant.sku: line for line in order.lines.select_related("variant")}
    return services.goods_receipt(
        order=order,
        lines=[Line(by_sku[sku].pk, n, n) for sku, n in quantities.items()],
        actor=admin_user,
    )


# --- create -----------------------------------------------------------------------------


def test_a_draft_takes_costs_from_the_price_list_and_its_date_from_the_lead_time(
    draft, acme, skus, admin_user
):
    assert draft.number == f"PO-{draft.pk:06d}"
    assert (draft.status, draft.currency, draft.created_by) == (S.DRAFT, "CNY", admin_user)
    assert draft.expected_date == date(2026, 3, 9)  # 2 March + Acme's 7 days
    rows = list(
        draft.lines.order_by("line_number").values_list(
            "line_number", "variant__sku", "quantity", "unit_cost", "list_unit_cost"
        )
    )
    assert rows == [
        (1, "SHIRT-M", 10, Decimal("8.00"), Decimal("8.00")),
        (2, "MUG-1", 20, Decimal("5.50"), Decimal("5.00")),
    ]
    assert sum(line.total for line in draft.lines.all()) == Decimal("190.00")
    assert draft.history.count() == 1
    assert draft.lines.get(line_number=1).history.get().history_user == admin_user


def test_the_longest_price_list_lead_time_sets_the_expected_date(
    clock, acme, warehouse, skus, price_list
):
    supplier_price(acme, skus["cap"], "3.00", lead_time_days=21)
    order = purchase_order(acme, warehouse, [(skus["shirt"], 1), (skus["cap"], 1)])
    assert order.expected_date == date(2026, 3, 23)


def test_a_quantity_break_applies_from_its_quantity(clock, acme, warehouse, skus, price_list):
    order = purchase_order(acme, warehouse, [(skus["cap"], 99)])
    assert order.lines.get().unit_cost == Decimal("3.00")
    order = purchase_order(acme, warehouse, [(skus["cap"], 100)])
    assert order.lines.get().unit_cost == Decimal("2.50")


@pytest.mark.parametrize(
    ("quantity", "cost", "expected"),
    [
        (0, None, services.PO_LINE_QUANTITY),
        (-3, None, services.PO_LINE_QUANTITY),
        (2.5, None, services.PO_LINE_QUANTITY),
        (5, "-1.00", services.PO_LINE_COST),
    ],
)
def test_bad_lines_are_refused(acme, warehouse, skus, price_list, state, quantity, cost, expected):
    cost = Decimal(cost) if cost else None
    message = refused(
        lambda: services.purchase_order_create(
            supplier=acme,
            warehouse=warehouse,
            lines=[POLineRequest(skus["shirt"], quantity, cost)],
            actor=None,
        ),
        state,
    )
    assert message == expected % {"sku": "SHIRT-M"}


def test_an_order_without_lines_is_refused(acme, warehouse, state):
    message = refused(
        lambda: services.purchase_order_create(
            supplier=acme, warehouse=warehouse, lines=[], actor=None
        ),
        state,
    )
    assert message == services.PO_NO_LINES


def test_a_quantity_below_the_moq_is_refused(acme, warehouse, skus, state):
    supplier_price(acme, skus["shirt"], "8.00", moq=12)
    message = refused(lambda: purchase_order(acme, warehouse, [(skus["shirt"], 6)]), state)
    assert message == ("SHIRT-M: 6 is below ACME · Acme Trading's minimum order quantity of 12.")


def test_a_sku_without_price_list_entry_needs_a_cost(acme, warehouse, state):
    loose = VariantFactory(sku="LOOSE-1")
    message = refused(lambda: purchase_order(acme, warehouse, [(loose, 2)]), state)
    assert message == services.PO_LINE_NO_COST % {"sku": "LOOSE-1", "supplier": acme}
    order = purchase_order(acme, warehouse, [(loose, 2, "1.25")])
    assert order.lines.get().list_unit_cost is None


def test_the_same_sku_on_two_lines_is_refused(acme, warehouse, skus, price_list, state):
    message = refused(
        lambda: purchase_order(acme, warehouse, [(skus["shirt"], 1), (skus["shirt"], 2)]), state
    )
    assert message == services.PO_LINE_DUPLICATE % {"sku": "SHIRT-M"}


def test_inactive_supplier_or_warehouse_is_refused(acme, skus, price_list, state):
    closed = WarehouseFactory(code="OLD", is_active=False)
    message = refused(lambda: purchase_order(acme, closed, [(skus["shirt"], 1)]), state)
    assert message == services.PO_WAREHOUSE_INACTIVE % {"warehouse": "OLD"}
    gone = SupplierFactory(code="GONE", is_active=False)
    message = refused(
        lambda: purchase_order(gone, WarehouseFactory(), [(skus["shirt"], 1, "1.00")]), state
    )
    assert message == services.PO_SUPPLIER_INACTIVE % {"supplier": gone}


# --- draft editing and sending -------------------------------------------------------------


def test_a_draft_is_edited_in_place(draft, skus, admin_user):
    shirt_line = draft.lines.get(variant=skus["shirt"])
    services.purchase_order_update_draft(
        order=draft,
        lines=[POLineRequest(skus["shirt"], 12), POLineRequest(skus["cap"], 100)],
        actor=admin_user,
    )
    rows = list(
        draft.lines.order_by("line_number").values_list(
            "pk", "line_number", "variant__sku", "quantity", "unit_cost"
        )
    )
    assert rows[0] == (shirt_line.pk, 1, "SHIRT-M", 12, Decimal("8.00"))
    assert rows[1][1:] == (3, "CAP-1", 100, Decimal("2.50"))  # the mug's L2 is not reused
    assert len(rows) == 2


def test_send_moves_the_expected_date_from_the_day_it_is_sent(draft, clock, admin_user):
    clock.advance(days=3)
    sent = services.purchase_order_send(order=draft, actor=admin_user)
    assert (sent.status, sent.sent_at, sent.expected_date) == (
        S.SENT,
        clock.now,
        date(2026, 3, 12),
    )


def test_lines_of_a_sent_order_cannot_be_edited_as_a_draft(draft, skus, admin_user, state):
    services.purchase_order_send(order=draft, actor=admin_user)
    message = refused(
        lambda: services.purchase_order_update_draft(
            order=draft, lines=[POLineRequest(skus["shirt"], 1)], actor=admin_user
        ),
        state,
        InvalidTransition,
    )
    assert message == services.PO_SENT_LINES_LOCKED % {"number": draft.number}
    assert "only through an amendment" in message


# --- illegal transitions ------------------------------------------------------------------


def test_sending_twice_is_refused(draft, admin_user, state):
    services.purchase_order_send(order=draft, actor=admin_user)
    message = refused(
        lambda: services.purchase_order_send(order=draft, actor=admin_user),
        state,
        InvalidTransition,
    )
    assert message == wrong_status(draft, "Sent", services.ACTION_SENT)
    assert message == f"{draft.number} is Sent: it cannot be sent."


def test_closing_a_draft_or_sent_order_is_refused(draft, admin_user, state):
    message = refused(
        lambda: services.purchase_order_close(order=draft, reason="x", actor=admin_user),
        state,
        InvalidTransition,
    )
    assert message == wrong_status(draft, "Draft", services.ACTION_CLOSED)
    services.purchase_order_send(order=draft, actor=admin_user)
    message = refused(
        lambda: services.purchase_order_close(order=draft, reason="x", actor=admin_user),
        state,
        InvalidTransition,
    )
    assert message == wrong_status(draft, "Sent", services.ACTION_CLOSED)


def test_a_draft_is_cancelled_without_a_reason_a_sent_order_needs_one(
    draft, acme, warehouse, skus, admin_user, state
):
    services.purchase_order_cancel(order=draft, reason="", actor=admin_user)
    draft.refresh_from_db()
    assert draft.status == S.CANCELLED
    sent = purchase_order(acme, warehouse, [(skus["shirt"], 1)], send=True)
    message = refused(
        lambda: services.purchase_order_cancel(order=sent, reason=" ", actor=admin_user), state
    )
    assert message == services.PO_REASON_REQUIRED % {"operation": "cancellation"}
    services.purchase_order_cancel(order=sent, reason="Found cheaper", actor=admin_user)
    sent.refresh_from_db()
    assert (sent.status, sent.status_note) == (S.CANCELLED, "Found cheaper")


def test_cancelled_orders_stay_cancelled(draft, admin_user, state):
    services.purchase_order_cancel(order=draft, reason="", actor=admin_user)
    for call, action in [
        (lambda: services.purchase_order_send(order=draft, actor=admin_user), "sent"),
        (
            lambda: services.purchase_order_cancel(order=draft, reason="x", actor=admin_user),
            "cancelled",
        ),
        (
            lambda: services.purchase_order_close(order=draft, reason="x", actor=admin_user),
            "closed",
        ),
    ]:
        message = refused(call, state, InvalidTransition)
        assert message == f"{draft.number} is Cancelled: it cannot be {action}."


def test_an_order_with_receipts_cannot_be_cancelled(draft, admin_user, state):
    services.purchase_order_send(order=draft, actor=admin_user)
    received(draft, admin_user, **{"SHIRT-M": 4})
    message = refused(
        lambda: services.purchase_order_cancel(order=draft, reason="x", actor=admin_user),
        state,
        InvalidTransition,
    )
    assert message == services.PO_CANCEL_HAS_RECEIPTS % {"number": draft.number}


def test_short_close_needs_a_reason_and_ends_what_is_on_order(draft, admin_user, state):
    services.purchase_order_send(order=draft, actor=admin_user)
    received(draft, admin_user, **{"SHIRT-M": 4})
    message = refused(
        lambda: services.purchase_order_close(order=draft, reason="", actor=admin_user), state
    )
    assert message == services.PO_REASON_REQUIRED % {"operation": "short close"}
    services.purchase_order_close(order=draft, reason="Rest discontinued", actor=admin_user)
    draft.refresh_from_db()
    assert (draft.status, draft.status_note) == (S.CLOSED, "Rest discontinued")


def test_a_received_order_closes(draft, admin_user):
    services.purchase_order_send(order=draft, actor=admin_user)
    received(draft, admin_user, **{"SHIRT-M": 10, "MUG-1": 20})
    draft.refresh_from_db()
    assert draft.status == S.RECEIVED
    services.purchase_order_close(order=draft, reason="", actor=admin_user)
    draft.refresh_from_db()
    assert draft.status == S.CLOSED


# --- amendments ---------------------------------------------------------------------------


@pytest.fixture
def sent(draft, admin_user):
    return services.purchase_order_send(order=draft, actor=admin_user)


def test_an_amendment_records_who_when_why_and_what(sent, skus, admin_user, clock):
    shirt = sent.lines.get(variant=skus["shirt"])
    mug = sent.lines.get(variant=skus["mug"])
    amendment = services.purchase_order_amend(
        order=sent,
        changes=[
            LineChange(line_id=shirt.pk, quantity=15),
            LineChange(line_id=mug.pk, unit_cost=Decimal("5.20")),
            LineChange(variant=skus["cap"], quantity=100),
        ],
        reason="Supplier confirmed a bigger lot and a better mug price",
        actor=admin_user,
    )
    assert (amendment.actor, amendment.created_at) == (admin_user, clock.now)
    assert amendment.reason == "Supplier confirmed a bigger lot and a better mug price"
    assert amendment.changes == [
        {"line": shirt.reference, "sku": "SHIRT-M", "quantity": [10, 15]},
        {"line": mug.reference, "sku": "MUG-1", "unit_cost": ["5.50", "5.20"]},
        {"line": None, "sku": "CAP-1", "quantity": [None, 100], "unit_cost": [None, "2.50"]},
    ]
    rows = set(sent.lines.values_list("line_number", "variant__sku", "quantity", "unit_cost"))
    assert rows == {
        (1, "SHIRT-M", 15, Decimal("8.00")),
        (2, "MUG-1", 20, Decimal("5.20")),
        (3, "CAP-1", 100, Decimal("2.50")),
    }
    sent.refresh_from_db()
    assert sent.status == S.SENT


def test_an_amendment_cannot_go_below_what_was_accepted(sent, admin_user, state):
    received(sent, admin_user, **{"SHIRT-M": 6})
    shirt = sent.lines.get(variant__sku="SHIRT-M")
    message = refused(
        lambda: services.purchase_order_amend(
            order=sent, changes=[LineChange(shirt.pk, quantity=5)], reason="x", actor=admin_user
        ),
        state,
    )
    assert message == services.PO_AMEND_BELOW_ACCEPTED % {
        "reference": shirt.reference,
        "accepted": 6,
    }


def test_amending_down_to_what_was_accepted_completes_the_order(sent, admin_user):
    received(sent, admin_user, **{"SHIRT-M": 6, "MUG-1": 20})
    shirt = sent.lines.get(variant__sku="SHIRT-M")
    services.purchase_order_amend(
        order=sent,
        changes=[LineChange(shirt.pk, quantity=6)],
        reason="Supplier cannot deliver the last 4",
        actor=admin_user,
    )
    sent.refresh_from_db()
    assert sent.status == S.RECEIVED


def test_a_line_nothing_was_received_on_can_be_removed(sent, admin_user, state):
    received(sent, admin_user, **{"SHIRT-M": 1})
    mug = sent.lines.get(variant__sku="MUG-1")
    shirt = sent.lines.get(variant__sku="SHIRT-M")
    message = refused(
        lambda: services.purchase_order_amend(
            order=sent, changes=[LineChange(shirt.pk, quantity=0)], reason="x", actor=admin_user
        ),
        state,
    )
    assert message == services.PO_AMEND_REMOVE_RECEIVED % {"reference": shirt.reference}
    services.purchase_order_amend(
        order=sent, changes=[LineChange(mug.pk, quantity=0)], reason="Mugs out", actor=admin_user
    )
    assert list(sent.lines.values_list("variant__sku", flat=True)) == ["SHIRT-M"]


@pytest.mark.parametrize(
    ("change", "reason", "expected"),
    [
        (LineChange(line_id=999_999, quantity=1), "why", services.PO_AMEND_UNKNOWN_LINE),
        (None, "", services.PO_REASON_REQUIRED),
        (None, "why", services.PO_AMEND_NOTHING),
        ("negative", "why", services.PO_LINE_QUANTITY),
        ("duplicate", "why", services.PO_LINE_DUPLICATE),
    ],
)
def test_bad_amendments_are_refused(sent, admin_user, state, skus, change, reason, expected):
    shirt = sent.lines.get(variant__sku="SHIRT-M")
    changes = {
        None: [LineChange(shirt.pk, quantity=10)],  # the same quantity: no change
        "negative": [LineChange(shirt.pk, quantity=-1)],
        "duplicate": [LineChange(variant=skus["mug"], quantity=1)],
    }.get(change, [change])
    message = refused(
        lambda: services.purchase_order_amend(
            order=sent, changes=changes, reason=reason, actor=admin_user
        ),
        state,
    )
    assert message == expected % {
        "line": 999_999,
        "number": sent.number,
        "operation": "amendment",
        "sku": "SHIRT-M" if change == "negative" else "MUG-1",
    }
    assert PurchaseOrderAmendment.objects.count() == 0


def test_a_draft_or_closed_order_is_not_amended(draft, admin_user, state):
    line = draft.lines.first()
    message = refused(
        lambda: services.purchase_order_amend(
            order=draft, changes=[LineChange(line.pk, quantity=3)], reason="x", actor=admin_user
        ),
        state,
        InvalidTransition,
    )
    assert message == services.PO_AMEND_DRAFT % {"number": draft.number}
    services.purchase_order_send(order=draft, actor=admin_user)
    received(draft, admin_user, **{"SHIRT-M": 10, "MUG-1": 20})
    services.purchase_order_close(order=draft, reason="", actor=admin_user)
    message = refused(
        lambda: services.purchase_order_amend(
            order=draft, changes=[LineChange(line.pk, quantity=30)], reason="x", actor=admin_user
        ),
        state,
        InvalidTransition,
    )
    assert message == wrong_status(draft, "Closed", services.ACTION_AMENDED)
