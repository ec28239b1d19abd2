"""The role matrix (F-43): each role logs in and tries pages and actions.

Every denial is a 403 or Django's "No action selected." with nothing changed.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from backoffice.roles import ROLES, roles_sync
from catalog.models import ListingStatus, Product
from inventory.models import Movement, Stock
from orders.models import Order

from ..factories import OrderFactory, OrderLineFactory, UserFactory

ADMIN_ROLES = list(ROLES)


@pytest.fixture
def login_as(client, db):
    roles_sync()

    def login(role):
        user = UserFactory(is_staff=True, username=f"{role.lower().replace(' ', '-')}")
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        return client

    return login


def test_roles_sync_is_idempotent_and_creates_every_group(db):
    first = roles_sync()
    assert roles_sync() == first
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    assert all(count > 0 for count in first.values())


# (changelist, roles that may see it)
PAGES = {
    "catalog_product": {"Administrator", "Analyst", "Catalog manager", "Warehouse clerk",
                        "Purchaser", "Customer service"},
    "inventory_stock": {"Administrator", "Analyst", "Catalog manager", "Warehouse clerk",
                        "Purchaser", "Customer service"},
    "inventory_movement": {"Administrator", "Analyst", "Catalog manager", "Warehouse clerk",
                           "Purchaser"},
    "orders_order": {"Administrator", "Analyst", "Catalog manager", "Warehouse clerk",
                     "Customer service"},
    "orders_apitoken": {"Administrator"},
    "suppliers_purchaseorder": {"Administrator", "Analyst", "Warehouse clerk", "Purchaser"},
    "backoffice_outboxmessage": {"Administrator", "Analyst", "Customer service"},
    "backoffice_webhookendpoint": {"Administrator"},
    "auth_user": {"Administrator"},
    "inventory_stockauditrun": {"Administrator", "Analyst", "Warehouse clerk"},
}  # fmt: skip


@pytest.mark.parametrize("role", ADMIN_ROLES)
def test_each_role_sees_exactly_its_pages(login_as, role):
    client = login_as(role)
    for page, allowed in PAGES.items():
        status = client.get(reverse(f"admin:{page}_changelist")).status_code
        assert status == (200 if role in allowed else 403), (role, page, status)


@pytest.mark.parametrize("role", ["Analyst", "Warehouse clerk", "Customer service"])
def test_roles_without_change_cannot_edit_a_product(login_as, role, snapshot):
    from ..factories import ProductFactory

    product = ProductFactory(title="Linen shirt")
    client = login_as(role)
    before = snapshot()
    change = reverse("admin:catalog_product_change", args=[product.pk])
    response = client.post(change, {"title": "Hacked", "handle": product.handle})
    assert response.status_code == 403
    assert client.post(reverse("admin:catalog_product_add"), {}).status_code == 403
    assert snapshot() == before


def post_action(client, changelist, action, pks, **data):
    return client.post(
        reverse(f"admin:{changelist}_changelist"),
        {"action": action, "_selected_action": pks, **data},
        follow=True,
    )


@pytest.mark.parametrize(
    "role, allowed",
    [("Catalog manager", True), ("Administrator", True), ("Warehouse clerk", False),
     ("Purchaser", False), ("Customer service", False), ("Analyst", False)],
)  # fmt: skip
def test_only_catalog_roles_can_delist(login_as, stocked_variant, role, allowed, snapshot):
    product = stocked_variant.product
    Product.objects.filter(pk=product.pk).update(status=ListingStatus.ON_SALE)
    client = login_as(role)
    before = snapshot()
    response = post_action(client, "catalog_product", "delist_action", [product.pk])
    page = response.content.decode()
    if allowed:
        assert response.status_code == 200 and 'name="reason"' in page  # the reason form
    else:
        assert response.status_code == 403
        assert snapshot() == before


@pytest.mark.parametrize(
    "role, allowed",
    [("Warehouse clerk", True), ("Administrator", True), ("Catalog manager", False),
     ("Purchaser", False), ("Customer service", False), ("Analyst", False)],
)  # fmt: skip
def test_only_warehouse_roles_can_adjust_stock(
    login_as, stocked_variant, warehouse, role, allowed, snapshot
):
    stock = Stock.objects.get()
    client = login_as(role)
    before = snapshot()
    response = post_action(
        client,
        "inventory_stock",
        "adjust_action",
        [stock.pk],
        apply="1",
        quantity="2",
        reason="found",
        submission_key=uuid.uuid4().hex,
    )
    stock.refresh_from_db()
    if allowed:
        assert stock.on_hand == 12
        assert Movement.objects.filter(kind="adjustment").count() == 1
    else:
        assert response.status_code == 403
        assert snapshot() == before


@pytest.mark.parametrize(
    "role, action, allowed",
    [
        ("Warehouse clerk", "pick_action", True),
        ("Customer service", "pick_action", False),
        ("Customer service", "cancel_action", True),
        ("Warehouse clerk", "cancel_action", False),
        ("Analyst", "cancel_action", False),
    ],
)
def test_order_actions_follow_the_roles(
    login_as, stocked_variant, warehouse, role, action, allowed
):
    from orders import services as orders

    order = OrderFactory()
    OrderLineFactory(order=order, variant=stocked_variant, quantity=1)
    orders.order_review(order=order, actor=None)
    orders.order_allocate(order=order, warehouse=warehouse, actor=None)
    client = login_as(role)
    response = post_action(client, "orders_order", action, [order.pk])
    order.refresh_from_db()
    expected = {"pick_action": Order.Status.PICKED, "cancel_action": Order.Status.CANCELLED}
    if allowed:
        assert order.status == expected[action]
    else:
        assert order.status == Order.Status.ALLOCATED
        assert response.status_code == 403


@pytest.mark.parametrize("role, allowed", [("Customer service", True), ("Analyst", False)])
def test_only_customer_service_resends_notifications(login_as, db, role, allowed):
    from backoffice import outbox
    from backoffice.models import OutboxMessage

    message = outbox.enqueue(kind="email", event="x", idempotency_key="k", recipient="a@b.cn")
    OutboxMessage.objects.filter(pk=message.pk).update(status="failed", attempts=8)
    client = login_as(role)
    post_action(client, "backoffice_outboxmessage", "resend", [message.pk])
    message.refresh_from_db()
    assert (message.status == "pending") is allowed


@pytest.mark.parametrize("role", ["Analyst", "Purchaser"])
def test_run_now_of_the_audit_is_refused_without_its_permission(login_as, role):
    client = login_as(role)
    response = client.post(reverse("admin:inventory_stockauditrun_changelist") + "run-now/")
    assert response.status_code == 403
