"""The warehouse admin through the test client: counts (plan, start, entry, csv upload,
report, apply), transfers (create, dispatch, receive), and who may do what."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from backoffice.roles import roles_sync
from inventory.models import Movement, MovementKind
from warehouse.models import StockCount, Transfer

from ..factories import UserFactory, stock_count, transfer
from .conftest import level

pytestmark = pytest.mark.django_db

COUNTS = "admin:warehouse_stockcount_changelist"
TRANSFERS = "admin:warehouse_transfer_changelist"


def act(client, changelist, action, objects, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in objects], **extra}
    return client.post(reverse(changelist), data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def upload(client, count, text: str):
    url = reverse("admin:warehouse_stockcount_upload", args=[count.pk])
    file = SimpleUploadedFile("counted.csv", text.encode(), content_type="text/csv")
    return client.post(url, {"file": file}, follow=True)


@pytest.fixture
def counting(three_skus, warehouse, admin_user):
    return stock_count(warehouse, actor=admin_user)


@pytest.fixture
def login_as(client, db):
    roles_sync()

    def login(role):
        user = UserFactory(is_staff=True, username=role.lower().replace(" ", "-"))
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        return client

    return login


# --- counts -----------------------------------------------------------------------------------


def test_a_count_is_planned_and_started_from_the_admin(admin_client, three_skus, warehouse):
    response = admin_client.post(
        reverse("admin:warehouse_stockcount_add"),
        {
            "warehouse": warehouse.pk,
            "scope": "zone",
            "zone": "picking",
            "abc_class": "",
            "planned_for": "2026-11-23",
            "note": "before the sale",
        },
        follow=True,
    )
    assert response.status_code == 200
    count = StockCount.objects.get()
    assert (count.status, count.zone, count.created_by.username) == ("planned", "picking", "admin")

    response = act(admin_client, COUNTS, "start_action", [count])

    assert messages_of(response) == ["1 counts started."]
    count.refresh_from_db()
    assert count.status == StockCount.Status.COUNTING
    assert count.lines.count() == 2


def test_a_zone_count_without_a_zone_is_refused_on_the_form(admin_client, warehouse):
    response = admin_client.post(
        reverse("admin:warehouse_stockcount_add"),
        {"warehouse": warehouse.pk, "scope": "zone", "zone": "", "planned_for": "2026-11-23"},
    )
    assert response.status_code == 200
    assert "Choose the zone to count" in response.content.decode()
    assert not StockCount.objects.exists()


def inline_data(count, **counted):
    lines = list(count.lines.select_related("stock__variant").order_by("pk"))
    data = {
        "note": "",
        "lines-TOTAL_FORMS": len(lines),
        "lines-INITIAL_FORMS": len(lines),
        "lines-MIN_NUM_FORMS": 0,
        "lines-MAX_NUM_FORMS": 1000,
    }
    for i, line in enumerate(lines):
        value = counted.get(line.stock.variant.sku.replace("-", "_"), ("", ""))
        number, reason = value if isinstance(value, tuple) else (value, "")
        data.update(
            {
                f"lines-{i}-id": line.pk,
                f"lines-{i}-count": count.pk,
                f"lines-{i}-counted": number,
                f"lines-{i}-reason": reason,
            }
        )
    return data


def test_counted_quantities_are_entered_on_the_change_page(admin_client, counting):
    url = reverse("admin:warehouse_stockcount_change", args=[counting.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Upload counted quantities" in page.content.decode()

    response = admin_client.post(
        url, inline_data(counting, SKU_A=(8, "broken"), SKU_B=5), follow=True
    )

    assert "2 lines counted." in messages_of(response)
    assert dict(counting.lines.values_list("stock__variant__sku", "counted")) == {
        "SKU-A": 8,
        "SKU-B": 5,
        "SKU-C": None,
    }


def test_a_negative_count_on_the_change_page_is_refused(admin_client, counting, state):
    before = state()
    url = reverse("admin:warehouse_stockcount_change", args=[counting.pk])
    response = admin_client.post(url, inline_data(counting, SKU_A=-3))
    assert response.status_code == 200
    assert "A counted quantity cannot be negative." in response.content.decode()
    assert state() == before


def test_a_csv_upload_records_every_row(admin_client, counting):
    response = upload(admin_client, counting, "sku,counted,reason\nSKU-A,7,lost\nSKU-B,5,\n")
    assert f"2 rows read; 2 lines of {counting.number} changed." in messages_of(response)
    assert counting.lines.get(stock__variant__sku="SKU-A").reason == "lost"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "sku,counted\nSKU-A,7\nNOPE-1,3\n",
            "Nothing was recorded: row 3: NOPE-1 is not in {number}.",
        ),
        (
            "sku,counted\nSKU-A,7\nSKU-B,1\nSKU-A,6\n",
            "Nothing was recorded: row 4: SKU-A is given more than once.",
        ),
        (
            "sku,counted\nSKU-A,seven\nSKU-B,1.5\n",
            "Nothing was recorded: row 2: SKU-A: counted 'seven' is not a whole number; "
            "row 3: SKU-B: counted '1.5' is not a whole number.",
        ),
        (
            "sku,counted\nSKU-A,-2\n",
            "Nothing was recorded: row 2: SKU-A: the counted quantity must be a whole number of "
            "at least 0, not -2.",
        ),
        (
            "code,qty\nSKU-A,2\n",
            "The file needs the columns sku and counted (reason is optional); found code, qty.",
        ),  # fmt: skip
        ("sku,counted\n", "The file has no rows under its header."),
    ],
    ids=["unknown-sku", "duplicate-sku", "not-a-number", "negative", "header", "empty"],
)
def test_a_bad_csv_upload_changes_nothing(admin_client, counting, state, text, message):
    before = state()
    response = upload(admin_client, counting, text)
    assert messages_of(response) == [message.format(number=counting.number)]
    assert state() == before


def test_a_file_that_is_not_text_is_refused(admin_client, counting, state):
    before = state()
    url = reverse("admin:warehouse_stockcount_upload", args=[counting.pk])
    file = SimpleUploadedFile("counted.csv", b"\xff\xfe\x00bad", content_type="text/csv")
    response = admin_client.post(url, {"file": file}, follow=True)
    assert messages_of(response) == ["The file is not a UTF-8 csv file."]
    assert state() == before


def test_the_count_sheet_is_the_upload_template(admin_client, counting):
    response = admin_client.get(reverse("admin:warehouse_stockcount_sheet", args=[counting.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = response.content.decode().splitlines()
    assert rows[0] == "line,bin,sku,title,counted,reason"
    assert rows[1] == "1,P-01,SKU-A,Product SKU-A,,"
    assert len(rows) == 4


def test_the_discrepancy_report_and_applying_it(admin_client, counting, three_skus, warehouse):
    upload(admin_client, counting, "sku,counted,reason\nSKU-A,7,lost\nSKU-B,5,\nSKU-C,2,found\n")

    report = admin_client.get(reverse("admin:warehouse_stockcount_report", args=[counting.pk]))
    html = report.content.decode()
    assert report.status_code == 200
    assert '<td id="net-value">-16.00</td>' in html
    assert "lost" in html and "found" in html

    page = act(admin_client, COUNTS, "apply_action", [counting])
    assert "Applying" in page.content.decode()
    response = act(
        admin_client, COUNTS, "apply_action", [counting], apply="1", submission_key="apply-1"
    )

    link = reverse("admin:warehouse_stockcount_change", args=[counting.pk])
    assert messages_of(response) == [
        f'<a href="{link}">{counting.number}</a> applied: 2 corrections, 1 units added, '
        "3 units removed."
    ]
    assert [level(v, warehouse)[0] for v in three_skus] == [7, 5, 2]
    assert Movement.objects.filter(kind=MovementKind.COUNT).count() == 2


def test_applying_twice_from_the_admin_is_refused(admin_client, counting, state):
    upload(admin_client, counting, "sku,counted\nSKU-A,10\nSKU-B,5\nSKU-C,1\n")
    act(admin_client, COUNTS, "apply_action", [counting], apply="1", submission_key="k1")
    before = state()
    response = act(admin_client, COUNTS, "apply_action", [counting], apply="1", submission_key="k2")
    assert messages_of(response) == [f"{counting.number} is Applied: it cannot be applied."]
    assert state() == before


def test_the_same_apply_form_submitted_twice_is_refused(admin_client, counting, state):
    upload(admin_client, counting, "sku,counted,reason\nSKU-A,9,lost\nSKU-B,5,\nSKU-C,1,\n")
    StockCount.objects.filter(pk=counting.pk)  # the page is open in two tabs
    act(admin_client, COUNTS, "apply_action", [counting], apply="1", submission_key="same")
    before = state()
    response = act(
        admin_client, COUNTS, "apply_action", [counting], apply="1", submission_key="same"
    )
    assert messages_of(response) == [f"{counting.number} is Applied: it cannot be applied."]
    assert state() == before


# --- transfers --------------------------------------------------------------------------------


def test_a_transfer_is_created_dispatched_and_received_in_the_admin(
    admin_client, three_skus, warehouse, other_warehouse
):
    sku_a, sku_b, _sku_c = three_skus
    response = admin_client.post(
        reverse("admin:warehouse_transfer_add"),
        {
            "source": warehouse.pk,
            "destination": other_warehouse.pk,
            "carrier_reference": "SF123",
            "note": "",
            "lines-TOTAL_FORMS": 2,
            "lines-INITIAL_FORMS": 0,
            "lines-MIN_NUM_FORMS": 0,
            "lines-MAX_NUM_FORMS": 1000,
            "lines-0-variant": sku_a.pk,
            "lines-0-quantity": 4,
            "lines-1-variant": sku_b.pk,
            "lines-1-quantity": 2,
        },
        follow=True,
    )
    assert response.status_code == 200
    tr = Transfer.objects.get()
    assert list(tr.lines.values_list("line_number", "variant__sku", "quantity")) == [
        (1, "SKU-A", 4),
        (2, "SKU-B", 2),
    ]

    response = act(admin_client, TRANSFERS, "dispatch_action", [tr])
    assert messages_of(response) == ["1 transfers dispatched."]
    assert level(sku_a, warehouse) == (6, 0)
    listing = admin_client.get(reverse(TRANSFERS))
    assert listing.status_code == 200

    page = act(admin_client, TRANSFERS, "receive_action", [tr])
    assert 'id="receive-lines"' in page.content.decode()
    line_a, line_b = tr.lines.order_by("line_number")
    response = act(
        admin_client,
        TRANSFERS,
        "receive_action",
        [tr],
        apply="1",
        submission_key="rcv-1",
        **{
            f"received_{line_a.pk}": 4,
            f"reason_{line_a.pk}": "",
            f"note_{line_a.pk}": "",
            f"received_{line_b.pk}": 1,
            f"reason_{line_b.pk}": "damaged",
            f"note_{line_b.pk}": "box crushed",
        },
    )
    link = reverse("admin:warehouse_transfer_change", args=[tr.pk])
    assert messages_of(response) == [f'<a href="{link}">{tr.number}</a> received at EAST.']
    assert (level(sku_a, other_warehouse), level(sku_b, other_warehouse)) == ((4, 0), (1, 0))


def test_receiving_twice_from_the_admin_is_refused(
    admin_client, three_skus, warehouse, other_warehouse, state
):
    tr = transfer(warehouse, other_warehouse, [(three_skus[0], 2)], dispatch=True)
    line = tr.lines.get()
    form = {f"received_{line.pk}": 2, f"reason_{line.pk}": "", f"note_{line.pk}": ""}
    act(admin_client, TRANSFERS, "receive_action", [tr], apply="1", submission_key="a", **form)
    before = state()
    response = act(
        admin_client, TRANSFERS, "receive_action", [tr], apply="1", submission_key="b", **form
    )
    assert messages_of(response) == [f"{tr.number} is Received: it cannot be received."]
    assert state() == before


def test_the_same_source_and_destination_is_refused_on_the_form(
    admin_client, three_skus, warehouse
):
    response = admin_client.post(
        reverse("admin:warehouse_transfer_add"),
        {
            "source": warehouse.pk,
            "destination": warehouse.pk,
            "lines-TOTAL_FORMS": 1,
            "lines-INITIAL_FORMS": 0,
            "lines-0-variant": three_skus[0].pk,
            "lines-0-quantity": 1,
        },
    )
    assert "A transfer needs two different warehouses." in response.content.decode()
    assert not Transfer.objects.exists()


def test_dispatching_more_than_available_from_the_admin_changes_nothing(
    admin_client, three_skus, warehouse, other_warehouse, state
):
    tr = transfer(warehouse, other_warehouse, [(three_skus[2], 5)])
    before = state()
    response = act(admin_client, TRANSFERS, "dispatch_action", [tr])
    assert messages_of(response) == [
        f"{tr.number}: Insufficient stock: SKU-C at MAIN: requested 5, available 1."
    ]
    assert state() == before


# --- who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "counts", "transfers"),
    [
        ("Administrator", 200, 200),
        ("Warehouse clerk", 200, 200),
        ("Analyst", 200, 200),
        ("Catalog manager", 403, 403),
        ("Purchaser", 403, 403),
        ("Customer service", 403, 403),
    ],
)
def test_each_role_sees_the_warehouse_pages_it_should(login_as, role, counts, transfers):
    client = login_as(role)
    assert client.get(reverse(COUNTS)).status_code == counts
    assert client.get(reverse(TRANSFERS)).status_code == transfers


def test_an_analyst_cannot_apply_a_count(login_as, counting, state):
    client = login_as("Analyst")
    before = state()
    response = client.post(
        reverse(COUNTS),
        {"action": "apply_action", "_selected_action": [counting.pk], "apply": "1"},
    )
    assert response.status_code == 403
    assert state() == before


def test_an_analyst_cannot_upload_counts(login_as, counting, state):
    client = login_as("Analyst")
    before = state()
    response = upload(client, counting, "sku,counted\nSKU-A,1\n")
    assert response.status_code == 403
    assert state() == before


def test_an_analyst_cannot_dispatch_a_transfer(
    login_as, three_skus, warehouse, other_warehouse, state
):
    tr = transfer(warehouse, other_warehouse, [(three_skus[0], 1)])
    client = login_as("Analyst")
    before = state()
    response = client.post(
        reverse(TRANSFERS), {"action": "dispatch_action", "_selected_action": [tr.pk]}
    )
    assert response.status_code == 403
    assert state() == before


def test_a_warehouse_clerk_can_apply_and_dispatch(
    login_as, counting, three_skus, warehouse, other_warehouse
):
    client = login_as("Warehouse clerk")
    upload(client, counting, "sku,counted\nSKU-A,10\nSKU-B,5\nSKU-C,1\n")
    act(client, COUNTS, "apply_action", [counting], apply="1", submission_key="clerk")
    assert StockCount.objects.get(pk=counting.pk).status == StockCount.Status.APPLIED
    tr = transfer(warehouse, other_warehouse, [(three_skus[0], 1)])
    act(client, TRANSFERS, "dispatch_action", [tr])
    assert Transfer.objects.get(pk=tr.pk).status == Transfer.Status.IN_TRANSIT


def test_customer_service_cannot_print_a_pick_list(login_as):
    from ..factories import OrderFactory

    order = OrderFactory()
    client = login_as("Customer service")
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "print_pick_list", "_selected_action": [order.pk]},
    )
    assert response.status_code == 403


def test_the_pages_open(admin_client, counting, three_skus, warehouse, other_warehouse):
    from warehouse import services

    services.abc_classify()
    tr = transfer(warehouse, other_warehouse, [(three_skus[0], 1)], dispatch=True)
    planned = stock_count(warehouse, scope="zone", zone="packing", start=False)
    pages = [
        reverse(COUNTS),
        reverse(COUNTS) + f"?q={counting.number}",
        reverse("admin:warehouse_stockcount_add"),
        reverse("admin:warehouse_stockcount_change", args=[planned.pk]),
        reverse("admin:warehouse_stockcount_report", args=[counting.pk]) + "?differences=1",
        reverse("admin:warehouse_stockcount_upload", args=[counting.pk]),
        reverse(TRANSFERS),
        reverse(TRANSFERS) + f"?q={tr.number}",
        reverse("admin:warehouse_transfer_add"),
        reverse("admin:warehouse_transfer_change", args=[tr.pk]),
        reverse("admin:warehouse_skuclass_changelist"),
        reverse("admin:warehouse_skuclass_changelist") + "?q=SKU-A",
    ]
    for url in pages:
        assert admin_client.get(url).status_code == 200, url
    # A planned count has no lines to report yet.
    report = reverse("admin:warehouse_stockcount_report", args=[planned.pk])
    assert admin_client.get(report).status_code == 404
    change = admin_client.get(reverse("admin:warehouse_transfer_change", args=[tr.pk]))
    assert "Receive…" in change.content.decode()
