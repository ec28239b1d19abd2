"""Roles with least privilege (F-43): groups and the permissions each one holds.

``roles_sync()`` creates the custom permissions (where a model permission is
not precise enough: delist, adjust stock, receive goods…) and makes every
role group hold exactly its permissions. It is idempotent and runs after
every ``migrate`` (so new models' permissions reach the roles) and from
``manage.py setup_roles``.

A rule is ``app.codename``, ``app.*`` (every permission of the app),
``app.view_*`` / ``*.view_*`` (every view permission), or any of those with a
leading ``-`` to take permissions away again.
"""

from __future__ import annotations

import fnmatch

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

# (app label, model): [(codename, name)]
CUSTOM_PERMISSIONS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("catalog", "product"): [
        ("delist_product", "Can delist and relist products and dispose of their stock"),
        ("restock_product", "Can restock products"),
        ("import_product", "Can import products (catalog spreadsheets)"),
    ],
    ("inventory", "stock"): [
        ("adjust_stock", "Can adjust stock"),
        ("transfer_stock", "Can transfer stock between warehouses"),
        ("import_stock", "Can import stock levels"),
    ],
    ("orders", "order"): [
        ("fulfil_order", "Can pick, pack, ship and deliver orders"),
        ("import_order", "Can import orders"),
    ],
    ("orders", "returnrequest"): [
        ("inspect_returnrequest", "Can receive and inspect returned goods"),
    ],
    ("suppliers", "purchaseorder"): [
        ("receive_purchaseorder", "Can receive goods on purchase orders"),
        ("import_purchaseorder", "Can import purchase orders"),
    ],
    ("suppliers", "supplier"): [
        ("import_supplier", "Can import suppliers"),
    ],
    ("suppliers", "supplierprice"): [
        ("import_supplierprice", "Can import supplier price lists"),
    ],
    ("reviews", "review"): [
        ("import_review", "Can import reviews"),
    ],
}

BUSINESS_APPS = (
    "catalog",
    "inventory",
    "orders",
    "suppliers",
    "reviews",
    "warehouse",
    "backoffice",
)

ROLES: dict[str, list[str]] = {
    "Administrator": [
        *(f"{app}.*" for app in BUSINESS_APPS),
        "auth.*",
        "django_celery_beat.*",
        "axes.*",
    ],  # fmt: skip
    "Analyst": [
        *(f"{app}.view_*" for app in BUSINESS_APPS),
        "-orders.view_apitoken",
        "-backoffice.view_webhookendpoint",
        "-backoffice.view_submissionkey",
    ],  # fmt: skip
    "Catalog manager": [
        "catalog.*",
        "-catalog.restock_product",
        "reviews.*",
        "inventory.view_stock",
        "inventory.view_movement",
        "inventory.view_warehouse",
        "inventory.view_stockalert",
        "suppliers.view_supplier",
        "suppliers.view_supplierprice",
        "orders.view_order",
    ],
    "Warehouse clerk": [
        "catalog.view_product",
        "catalog.view_variant",
        "catalog.view_category",
        "catalog.restock_product",
        "inventory.*",
        "-inventory.delete_*",
        "-inventory.import_stock",
        "warehouse.*",
        "-warehouse.delete_*",
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_shipment",
        "orders.view_returnrequest",
        "orders.fulfil_order",
        "orders.inspect_returnrequest",
        "suppliers.view_purchaseorder",
        "suppliers.view_goodsreceipt",
        "suppliers.view_supplier",
        "suppliers.receive_purchaseorder",
    ],
    "Purchaser": [
        "suppliers.*",
        "-suppliers.receive_purchaseorder",
        "-suppliers.delete_*",
        "catalog.view_product",
        "catalog.view_variant",
        "inventory.view_stock",
        "inventory.view_movement",
        "inventory.view_warehouse",
        "inventory.view_stockalert",
    ],
    "Customer service": [
        "orders.view_order",
        "orders.add_order",
        "orders.change_order",
        "orders.import_order",
        "orders.view_orderline",
        "orders.view_shipment",
        "orders.view_returnrequest",
        "orders.add_returnrequest",
        "orders.change_returnrequest",
        "catalog.view_product",
        "catalog.view_variant",
        "catalog.view_stockwatch",
        "catalog.add_stockwatch",
        "catalog.change_stockwatch",
        "inventory.view_stock",
        "reviews.view_*",
        "reviews.change_review",
        "backoffice.view_outboxmessage",
        "backoffice.resend_outboxmessage",
    ],
}


def _custom_permissions() -> None:
    for (app_label, model), permissions in CUSTOM_PERMISSIONS.items():
        try:
            model_class = apps.get_model(app_label, model)
        except LookupError:
            continue
        content_type = ContentType.objects.get_for_model(model_class)
        for codename, name in permissions:
            Permission.objects.update_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )


def permissions_for(rules: list[str]) -> set[int]:
    """The ids of the permissions that ``rules`` grant."""
    every = {
        f"{app}.{codename}": pk
        for pk, app, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    granted: set[str] = set()
    for rule in rules:
        negative = rule.startswith("-")
        pattern = rule.lstrip("-")
        matched = {name for name in every if fnmatch.fnmatchcase(name, pattern)}
        granted = granted - matched if negative else granted | matched
    return {every[name] for name in granted}


def roles_sync() -> dict[str, int]:
    """Create the custom permissions and give each role group exactly its permissions."""
    with transaction.atomic():
        _custom_permissions()
        counts = {}
        for role, rules in ROLES.items():
            group, _created = Group.objects.get_or_create(name=role)
            ids = permissions_for(rules)
            group.permissions.set(ids)
            counts[role] = len(ids)
    return counts


def sync_after_migrate(sender, **kwargs) -> None:
    """post_migrate receiver (connected in BackofficeConfig.ready): keep the roles current.

    post_migrate fires once per app, and each app's permissions are created by
    its own firing: the roles are synced after the last app's.
    """
    if sender is not list(apps.get_app_configs())[-1]:
        return
    roles_sync()
