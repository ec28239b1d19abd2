"""The purchasing admin through the test client: purchase orders with their lines, the
receive page, the other actions, supplier scorecards — and bad input that changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from suppliers import services
from suppliers.admin import SupplierAdmin
from suppliers.forms import SELECT_ONE_ORDER
from suppliers.models import GoodsReceipt, PurchaseOrder, PurchaseOrderAmendment

from ..factories import SupplierFactory, purchase_order

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:suppliers_purchaseorder_changelist"
S = PurchaseOrder.Status


def act(client, action, orders, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in orders], **extra}
    return client.post(reverse(CHANGELIST), data, follow=True)


def inline_management(prefix="lines", total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
        **{
            f"{name}-{key}": value
            for name in ("receipts", "amendments", "supplier_returns")
            for key, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0))
        },
    }


@pytest.fixture
def sent(clock, acme, warehouse, skus, price_list, admin_user):
    return purchase_order(
        acme,
        warehouse,
        [(skus["shirt"], 10), (skus["mug"], 20, "5.50")],
        send=True,
        actor=admin_user,
    )


def lines(order):
    return {line.variant.sku: line for line in order.lines.select_related("variant")}


def receive_form(order, key="receive-1", **per_sku):
    """The receive page's POST: ``per_sku`` maps SKU to (received, accepted, rejected, reason)."""
    data = {"apply": "1", "submission_key": key, "delivery_note": "DN-7", "note": ""}
    for sku, line in lines(order).items():
        received, accepted, rejected, reason = per_sku.get(sku, (0, 0, 0, ""))
        data |= {
            f"received_{line.pk}": received,
            f"accepted_{line.pk}": accepted,
            f"rejected_{line.pk}": rejected,
            f"reason_{line.pk}": reason,
            f"rejection_note_{line.pk}": "",
        }
    return data


def levels():
    from inventory.models import Stock

    return dict(Stock.objects.values_list("variant__sku", "on_hand"))


# --- pages ------------------------------------------------------------------------------------


def test_pages_open(admin_client, sent, admin_user):
    services.goods_receipt(
        order=sent,
        lines=[
            services.ReceiptLineRequest(
                lines(sent)["MUG-1"].pk, 5, 3, 2, reason="damaged", note="crushed box"
            )
        ],
        actor=admin_user,
    )
    receipt = GoodsReceipt.objects.get()
    rtv = services.supplier_return_create(
        order=sent, quantities={receipt.lines.get().pk: 2}, actor=admin_user
    )
    for url in [
        reverse(CHANGELIST),
        reverse("admin:suppliers_purchaseorder_add"),
        reverse("admin:suppliers_purchaseorder_change", args=[sent.pk]),
        reverse("admin:suppliers_purchaseorder_history", args=[sent.pk]),
        reverse("admin:suppliers_goodsreceipt_changelist"),
        reverse("admin:suppliers_goodsreceipt_change", args=[receipt.pk]),
        reverse("admin:suppliers_supplierreturn_changelist"),
        reverse("admin:suppliers_supplierreturn_change", args=[rtv.pk]),
        reverse("admin:suppliers_supplierprice_changelist"),
        reverse("admin:suppliers_supplier_changelist"),
        reverse("admin:suppliers_supplier_change", args=[sent.supplier_id]),
    ]:
        assert admin_client.get(url).status_code == 200, url
    page = admin_client.get(reverse("admin:suppliers_purchaseorder_change", args=[sent.pk]))
    content = page.content.decode()
    assert 'value="receive_action"' in content and 'value="amend_action"' in content
    assert f"{sent.number}/L2 MUG-1: 5 / 3 / 2 Damaged in transit" in content


def test_search_by_po_number(admin_client, sent):
    response = admin_client.get(reverse(CHANGELIST), {"q": sent.number})
    assert [o.pk for o in response.context["cl"].result_list] == [sent.pk]


def test_changelist_shows_totals_and_progress(admin_client, sent):
    content = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "190.00 CNY" in content and "0 / 30" in content


def test_add_a_purchase_order_with_lines(admin_client, acme, warehouse, skus, price_list):
    data = {
        "supplier": acme.pk,
        "warehouse": warehouse.pk,
        "supplier_reference": "",
        "note": "",
        **inline_management(total=2),
        "lines-0-variant": skus["shirt"].pk,
        "lines-0-quantity": 10,
        "lines-0-unit_cost": "",
        "lines-1-variant": skus["cap"].pk,
        "lines-1-quantity": 100,
        "lines-1-unit_cost": "2.40",
    }
    response = admin_client.post(reverse("admin:suppliers_purchaseorder_add"), data, follow=True)
    assert response.status_code == 200
    order = PurchaseOrder.objects.get()
    assert (order.status, order.created_by.username) == (S.DRAFT, "admin")
    assert set(
        order.lines.values_list("variant__sku", "quantity", "unit_cost", "list_unit_cost")
    ) == {
        ("SHIRT-M", 10, Decimal("8.00"), Decimal("8.00")),
        ("CAP-1", 100, Decimal("2.40"), Decimal("2.50")),
    }


def test_add_refuses_a_line_below_the_moq_and_saves_nothing(
    admin_client, acme, warehouse, skus, state
):
    from ..factories import supplier_price

    supplier_price(acme, skus["shirt"], "8.00", moq=12)
    before = state()
    data = {
        "supplier": acme.pk,
        "warehouse": warehouse.pk,
        **inline_management(total=1),
        "lines-0-variant": skus["shirt"].pk,
        "lines-0-quantity": 6,
    }
    response = admin_client.post(reverse("admin:suppliers_purchaseorder_add"), data)
    assert response.status_code == 200
    assert "SHIRT-M: 6 is below ACME · Acme Trading&#x27;s minimum order quantity of 12." in (
        response.content.decode()
    )
    assert state() == before


def test_add_refuses_a_negative_quantity(admin_client, acme, warehouse, skus, price_list, state):
    before = state()
    data = {
        "supplier": acme.pk,
        "warehouse": warehouse.pk,
        **inline_management(total=1),
        "lines-0-variant": skus["shirt"].pk,
        "lines-0-quantity": -2,
    }
    response = admin_client.post(reverse("admin:suppliers_purchaseorder_add"), data)
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    assert state() == before


def test_add_without_lines_is_refused(admin_client, acme, warehouse, state):
    before = state()
    data = {"supplier": acme.pk, "warehouse": warehouse.pk, **inline_management(total=0)}
    response = admin_client.post(reverse("admin:suppliers_purchaseorder_add"), data)
    assert "A purchase order needs at least one line." in response.content.decode()
    assert state() == before


def test_lines_of_a_draft_are_edited_in_admin_and_of_a_sent_order_are_not(
    admin_client, acme, warehouse, skus, price_list, admin_user
):
    draft = purchase_order(acme, warehouse, [(skus["shirt"], 10)])
    line = draft.lines.get()
    url = reverse("admin:suppliers_purchaseorder_change", args=[draft.pk])
    data = {
        "supplier_reference": "ACK-1",
        "note": "",
        **inline_management(total=1, initial=1),
        "lines-0-id": line.pk,
        "lines-0-order": draft.pk,
        "lines-0-variant": skus["shirt"].pk,
        "lines-0-quantity": 25,
        "lines-0-unit_cost": "7.90",
    }
    admin_client.post(url, data, follow=True)
    line.refresh_from_db()
    assert (line.quantity, line.unit_cost) == (25, Decimal("7.90"))
    services.purchase_order_send(order=draft, actor=admin_user)
    admin_client.post(url, {**data, "lines-0-quantity": 99}, follow=True)
    line.refresh_from_db()
    assert line.quantity == 25  # the inline is read-only once sent


# --- actions -------------------------------------------------------------------------------


def test_send_cancel_and_close_actions(admin_client, acme, warehouse, skus, price_list, admin_user):
    first = purchase_order(acme, warehouse, [(skus["shirt"], 1)])
    second = purchase_order(acme, warehouse, [(skus["mug"], 1)])
    response = act(admin_client, "send_action", [first, second])
    assert "2 purchase orders sent." in response.content.decode()
    response = act(admin_client, "cancel_action", [second])
    assert "Cancel" in response.content.decode()  # the reason page
    response = act(
        admin_client,
        "cancel_action",
        [second],
        apply="1",
        reason="Wrong supplier",
        submission_key="c",
    )
    assert "1 purchase orders cancelled." in response.content.decode()
    line = first.lines.get()
    services.goods_receipt(
        order=first, lines=[services.ReceiptLineRequest(line.pk, 1, 1)], actor=admin_user
    )
    act(admin_client, "close_action", [first], apply="1", reason="", submission_key="d")
    assert dict(PurchaseOrder.objects.values_list("pk", "status")) == {
        first.pk: S.CLOSED,
        second.pk: S.CANCELLED,
    }


def test_illegal_transitions_in_admin_are_reported(admin_client, sent, state):
    before = state()
    response = act(admin_client, "send_action", [sent])
    assert f"{sent.number}: {sent.number} is Sent: it cannot be sent." in response.content.decode()
    assert state() == before


def test_the_receive_page(admin_client, sent):
    page = act(admin_client, "receive_action", [sent])
    content = page.content.decode()
    assert page.templates[0].name == "admin/suppliers/purchaseorder/receive.html"
    assert f"Receive goods on {sent.number}" in content
    assert 'id="receive-lines"' in content and f"{sent.number}/L2" in content
    # Outstanding quantities are offered.
    assert page.context["form"]["received_" + str(lines(sent)["MUG-1"].pk)].initial == 20

    response = act(
        admin_client,
        "receive_action",
        [sent],
        **receive_form(sent, **{"SHIRT-M": (6, 6, 0, ""), "MUG-1": (20, 16, 4, "damaged")}),
    )
    content = response.content.decode()
    receipt = GoodsReceipt.objects.get()
    link = reverse("admin:suppliers_goodsreceipt_change", args=[receipt.pk])
    assert (
        f'<a href="{link}">{receipt.number}</a> recorded on {sent.number}, '
        "which is now Partially received." in content
    )
    assert levels() == {"SHIRT-M": 6, "MUG-1": 16}
    assert receipt.delivery_note == "DN-7"
    assert receipt.actor.username == "admin"


def test_receive_page_refuses_a_negative_quantity(admin_client, sent, state):
    before = state()
    response = act(
        admin_client, "receive_action", [sent], **receive_form(sent, **{"SHIRT-M": (5, -1, 6, "")})
    )
    assert "A quantity cannot be negative." in response.content.decode()
    assert state() == before


def test_receive_page_refuses_accepted_plus_rejected_not_received(admin_client, sent, state):
    before = state()
    response = act(
        admin_client,
        "receive_action",
        [sent],
        **receive_form(sent, **{"SHIRT-M": (5, 3, 1, "damaged")}),
    )
    shirt = lines(sent)["SHIRT-M"]
    assert (
        f"{shirt.reference} (SHIRT-M): accepted (3) + rejected (1) must equal received (5)."
        in response.content.decode()
    )
    assert state() == before


def test_receive_page_refuses_over_receipt(admin_client, sent, state):
    before = state()
    response = act(
        admin_client, "receive_action", [sent], **receive_form(sent, **{"MUG-1": (22, 22, 0, "")})
    )
    content = response.content.decode()
    assert "Over-receipt, nothing was received:" in content
    assert "ordered 20, already accepted 0, at most 21 may be accepted (tolerance 5%)" in content
    assert state() == before


def test_receive_page_ignores_a_line_of_another_order(
    admin_client, sent, acme, warehouse, skus, state
):
    other = purchase_order(acme, warehouse, [(skus["cap"], 100)], send=True)
    foreign = other.lines.get()
    before = state()
    data = receive_form(sent) | {
        f"received_{foreign.pk}": 5,
        f"accepted_{foreign.pk}": 5,
        f"rejected_{foreign.pk}": 0,
    }
    response = act(admin_client, "receive_action", [sent], **data)
    assert str(services.RECEIPT_NO_LINES) in response.content.decode()
    assert state() == before


def test_receive_page_refuses_a_draft_and_a_cancelled_order(
    admin_client, acme, warehouse, skus, price_list, admin_user, state
):
    draft = purchase_order(acme, warehouse, [(skus["shirt"], 3)])
    before = state()
    response = act(admin_client, "receive_action", [draft])
    assert f"{draft.number} is Draft: it cannot be received against." in response.content.decode()
    assert "receive-lines" not in response.content.decode()
    assert state() == before
    services.purchase_order_cancel(order=draft, reason="", actor=admin_user)
    before = state()
    response = act(
        admin_client, "receive_action", [draft], **receive_form(draft, **{"SHIRT-M": (3, 3, 0, "")})
    )
    assert (
        f"{draft.number} is Cancelled: it cannot be received against." in response.content.decode()
    )
    assert state() == before


def test_receive_page_submitted_twice_receives_once(admin_client, sent, state):
    data = receive_form(sent, key="once", **{"SHIRT-M": (4, 4, 0, "")})
    act(admin_client, "receive_action", [sent], **data)
    assert levels() == {"SHIRT-M": 4}
    before = state()
    response = act(admin_client, "receive_action", [sent], **data)
    assert "This form was already submitted" in response.content.decode()
    assert state() == before


def test_receive_needs_exactly_one_order(admin_client, sent, acme, warehouse, skus, state):
    other = purchase_order(acme, warehouse, [(skus["cap"], 100)], send=True)
    before = state()
    response = act(admin_client, "receive_action", [sent, other])
    assert str(SELECT_ONE_ORDER) in response.content.decode()
    assert state() == before


def test_the_amend_action_records_the_reason(admin_client, sent, admin_user):
    shirt = lines(sent)["SHIRT-M"]
    mug = lines(sent)["MUG-1"]
    page = act(admin_client, "amend_action", [sent])
    assert f"Amend {sent.number}" in page.content.decode()
    act(
        admin_client,
        "amend_action",
        [sent],
        apply="1",
        submission_key="a1",
        reason="Supplier short on shirts",
        **{
            f"quantity_{shirt.pk}": 8,
            f"unit_cost_{shirt.pk}": "8.00",
            f"quantity_{mug.pk}": 20,
            f"unit_cost_{mug.pk}": "5.50",
        },
    )
    amendment = PurchaseOrderAmendment.objects.get()
    assert (amendment.reason, amendment.actor) == ("Supplier short on shirts", admin_user)
    assert amendment.changes == [{"line": shirt.reference, "sku": "SHIRT-M", "quantity": [10, 8]}]
    change_page = admin_client.get(reverse("admin:suppliers_purchaseorder_change", args=[sent.pk]))
    assert "Supplier short on shirts" in change_page.content.decode()


def test_the_return_action(admin_client, sent, admin_user):
    response = act(admin_client, "return_action", [sent])
    assert "has no rejected goods waiting" in response.content.decode()
    mug = lines(sent)["MUG-1"]
    receipt = services.goods_receipt(
        order=sent,
        lines=[services.ReceiptLineRequest(mug.pk, 20, 17, 3, reason="defective")],
        actor=admin_user,
    )
    row = receipt.lines.get()
    response = act(
        admin_client,
        "return_action",
        [sent],
        apply="1",
        submission_key="r1",
        carrier_reference="SF-9",
        note="",
        **{f"return_{row.pk}": 3},
    )
    assert "recorded: rejected goods go back to ACME" in response.content.decode()
    row.refresh_from_db()
    assert row.returned_quantity == 3
    assert levels() == {"MUG-1": 17}


# --- suppliers and scorecards ----------------------------------------------------------------


def test_scorecard_on_the_supplier_page_for_a_chosen_period(admin_client, sent, clock, admin_user):
    clock.advance(days=10)  # after the expected date: late
    shirt = lines(sent)["SHIRT-M"]
    services.goods_receipt(
        order=sent,
        lines=[services.ReceiptLineRequest(shirt.pk, 10, 8, 2, reason="defective")],
        actor=admin_user,
    )
    url = reverse("admin:suppliers_supplier_change", args=[sent.supplier_id])
    response = admin_client.get(url, {"sc_from": "2026-03-01", "sc_to": "2026-03-31"})
    rows = {figure: value for figure, value, _detail in response.context["scorecard_rows"]}
    assert rows == {
        "On-time delivery": "0.0 %",
        "Fill rate": "26.7 %",  # 8 of 30
        "Rejection rate": "20.0 %",
        "Price variance": "5.6 %",  # 190.00 paid against 180.00
        "Customer return rate": "—",
    }
    content = response.content.decode()
    assert "Scorecard 2026-03-01 – 2026-03-31" in content
    february = admin_client.get(url, {"sc_from": "2026-02-01", "sc_to": "2026-02-28"})
    assert {v for _f, v, _d in february.context["scorecard_rows"]} == {"—"}
    reversed_period = admin_client.get(url, {"sc_from": "2026-03-31", "sc_to": "2026-03-01"})
    assert "The period must start on or before its end." in reversed_period.content.decode()


def test_scorecard_columns_sort_the_supplier_list(admin_client, clock, warehouse, skus, admin_user):
    late = SupplierFactory(code="LATE", lead_time_days=1)
    punctual = SupplierFactory(code="PUNCT", lead_time_days=30)
    for supplier in (late, punctual):
        order = purchase_order(supplier, warehouse, [(skus["shirt"], 5, "1.00")], send=True)
        clock.advance(days=5)
        services.goods_receipt(
            order=order,
            lines=[services.ReceiptLineRequest(order.lines.get().pk, 5, 5)],
            actor=admin_user,
        )
    changelist = reverse("admin:suppliers_supplier_changelist")
    on_time_column = SupplierAdmin.list_display.index("on_time")
    ascending = admin_client.get(changelist, {"o": on_time_column + 1, "period": "30"})
    codes = [s.code for s in ascending.context["cl"].result_list]
    assert codes == ["LATE", "PUNCT"]
    descending = admin_client.get(changelist, {"o": f"-{on_time_column + 1}", "period": "30"})
    assert [s.code for s in descending.context["cl"].result_list] == ["PUNCT", "LATE"]
    content = descending.content.decode()
    assert "100.0 %" in content and "0.0 %" in content


def test_supplier_list_queries_do_not_grow_with_rows(
    admin_client, monkeypatch, clock, warehouse, skus
):
    for n in range(210):
        SupplierFactory(code=f"S{n:03d}")
    counts = []
    for per_page in (20, 200):
        monkeypatch.setattr(SupplierAdmin, "list_per_page", per_page)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse("admin:suppliers_supplier_changelist"), {"o": "7"})
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == per_page
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_purchase_order_list_queries_do_not_grow_with_rows(
    admin_client, monkeypatch, acme, warehouse, skus, price_list
):
    for _ in range(205):
        purchase_order(acme, warehouse, [(skus["shirt"], 1)])
    from suppliers.admin import PurchaseOrderAdmin

    counts = []
    for per_page in (20, 200):
        monkeypatch.setattr(PurchaseOrderAdmin, "list_per_page", per_page)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse(CHANGELIST))
        assert len(response.context["cl"].result_list) == per_page
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- who may receive -------------------------------------------------------------------------


def staff_with(*codenames):
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from ..factories import UserFactory

    user = UserFactory(username="staff-" + "-".join(codenames))
    content_type = ContentType.objects.get_for_model(PurchaseOrder)
    for codename in codenames:
        permission, _created = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": codename}
        )
        user.user_permissions.add(permission)
    return user


def test_a_clerk_with_the_receive_permission_receives_without_editing_orders(client, sent):
    client.force_login(staff_with("view_purchaseorder", "receive_purchaseorder"))
    change = client.get(reverse("admin:suppliers_purchaseorder_change", args=[sent.pk]))
    content = change.content.decode()
    assert 'value="receive_action"' in content and 'value="amend_action"' not in content
    act(client, "receive_action", [sent], **receive_form(sent, **{"SHIRT-M": (2, 2, 0, "")}))
    assert levels() == {"SHIRT-M": 2}


def test_editing_orders_does_not_include_receiving(client, sent, state):
    client.force_login(staff_with("view_purchaseorder", "change_purchaseorder"))
    change = client.get(reverse("admin:suppliers_purchaseorder_change", args=[sent.pk]))
    assert 'value="receive_action"' not in change.content.decode()
    before = state()
    data = {"action": "receive_action", "_selected_action": [sent.pk]}
    assert client.post(reverse(CHANGELIST), data).status_code == 403
    act(client, "receive_action", [sent], **receive_form(sent, **{"SHIRT-M": (2, 2, 0, "")}))
    assert state() == before
