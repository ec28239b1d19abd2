"""Shared fixtures. Tests marked ``postgres`` need real PostgreSQL, ``redis`` a real Redis.

On SQLite the ``postgres`` tests are skipped with a reason; with
``STOCKROOM_REQUIRE_SERVICES=1`` (set by .ci/run for the PostgreSQL run) a
missing service fails the test instead, so CI can never skip them silently.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from backoffice.models import SubmissionKey
from catalog.models import ListingEvent, Product, Variant
from inventory import services as inventory
from inventory.models import Allocation, Movement, Stock
from orders.models import Order, OrderLine

from .factories import AdminFactory, ProductFactory, VariantFactory, WarehouseFactory

REQUIRE_SERVICES = os.environ.get("STOCKROOM_REQUIRE_SERVICES") == "1"


def _redis_up() -> bool:
    from django.conf import settings

    if not settings.CELERY_BROKER_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        message = "needs PostgreSQL: run with DATABASE_URL=postgres://…"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    if item.get_closest_marker("redis") and not _redis_up():
        message = "needs Redis: run with CELERY_BROKER_URL=redis://127.0.0.1:6379/0"
        if REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Uploaded import files are stored under MEDIA_ROOT: never in the checkout.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default PBKDF2 costs ~0.5 s per user created by a factory.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def take_snapshot() -> dict:
    """Everything a refused operation must leave as it was: levels, ledger, statuses…"""
    return {
        "stock": sorted(
            Stock.objects.values_list(
                "pk", "variant_id", "warehouse_id", "on_hand", "allocated", "backorders_allowed"
            )
        ),
        "movements": sorted(Movement.objects.values_list("pk", "stock_id", "kind", "quantity")),
        "allocations": sorted(Allocation.objects.values_list("pk", "stock_id", "quantity")),
        "products": sorted(
            Product.objects.values_list("pk", "status", "delist_reason", "category_id")
        ),
        "variants": sorted(Variant.objects.values_list("pk", "price", "allow_backorder")),
        "tags": sorted(Product.tags.through.objects.values_list("product_id", "tag_id")),
        "listing_events": ListingEvent.objects.count(),
        "product_history": Product.history.count(),
        "variant_history": Variant.history.count(),
        "submission_keys": SubmissionKey.objects.count(),
        "orders": sorted(Order.objects.values_list("pk", "number", "status")),
        "order_lines": OrderLine.objects.count(),
    }


@pytest.fixture
def snapshot(db):
    """A function returning the current state, to compare before and after a refusal."""
    return take_snapshot


@pytest.fixture
def admin_user(db):
    return AdminFactory()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def warehouse(db):
    return WarehouseFactory(code="MAIN", name="Main warehouse")


@pytest.fixture
def other_warehouse(db):
    return WarehouseFactory(code="EAST", name="East warehouse")


@pytest.fixture
def variant(db):
    return VariantFactory(product=ProductFactory(title="Linen shirt"), sku="SHIRT-M")


@pytest.fixture
def stocked_variant(variant, warehouse, admin_user):
    """A SKU with 10 units received through the ledger."""
    inventory.receive(
        variant=variant, warehouse=warehouse, quantity=10, actor=admin_user, reason="opening"
    )
    return variant
