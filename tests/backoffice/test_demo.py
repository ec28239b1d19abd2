"""The demo data set (seed_demo, demo) and the start-up errors of the settings."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.test import RequestFactory, override_settings

from catalog.models import Category, ListingStatus, Product, ProductImage, Tag, Variant
from inventory.models import Allocation, Location, Movement, MovementKind, Stock, Warehouse, Zone
from orders.models import Order, OrderLine
from suppliers.models import Supplier

BASE_DIR = Path(__file__).resolve().parents[2]
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
COUNTED = (
    Category,
    Tag,
    Product,
    Variant,
    ProductImage,
    Warehouse,
    Location,
    Stock,
    Movement,
    Allocation,
    Supplier,
    Order,
    OrderLine,
)


def counts() -> dict[str, int]:
    counted = {model.__name__: model.objects.count() for model in COUNTED}
    counted["User"] = get_user_model().objects.count()
    return counted


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo data, loaded once for this module and rolled back after it.

    Each test still runs in its own savepoint (the ``db`` fixture), nested in
    the module's transaction, so that no test sees another's changes.
    """
    out = StringIO()
    # The same fast hasher as the tests, and the demo's import file out of the checkout
    # (conftest sets both per test, after this fixture).
    fast_hashing = override_settings(
        PASSWORD_HASHERS=FAST_HASHERS, MEDIA_ROOT=tmp_path_factory.mktemp("demo-media")
    )
    with django_db_blocker.unblock(), transaction.atomic(), fast_hashing:
        call_command("seed_demo", stdout=out)
        assert "Demo data loaded" in out.getvalue()
        yield out.getvalue()
        transaction.set_rollback(True)


def test_the_catalog_is_realistic(seeded, db):
    assert 180 <= Product.objects.count() <= 220
    per_product = Product.objects.annotate(n=Count("variants")).aggregate(
        least=Min("n"), most=Max("n")
    )
    assert per_product == {"least": 1, "most": 6}
    assert not Variant.objects.filter(Q(barcode__isnull=True) | Q(price__lt=F("cost"))).exists()
    assert Variant.objects.filter(compare_at_price__gt=F("price")).exists()
    assert Category.objects.filter(path__regex=r"^[^>]+ > [^>]+ > [^>]+$").count() >= 10
    assert Category.objects.filter(path="Clothing > Tops > Tshirts").exists()
    assert set(Tag.objects.values_list("kind", flat=True)) >= {
        Tag.Kind.BRAND,
        Tag.Kind.MATERIAL,
        Tag.Kind.COLOUR,
        Tag.Kind.LABEL,
    }
    statuses = set(Product.objects.values_list("status", flat=True))
    assert statuses == set(ListingStatus.values)
    delisted = Product.objects.filter(status=ListingStatus.DELISTED)
    assert delisted.count() >= 5
    assert not delisted.filter(Q(delist_reason="") | Q(delisted_at__isnull=True)).exists()
    assert len(set(delisted.values_list("delist_reason", flat=True))) >= 4


def test_warehouses_suppliers_and_orders(seeded, db):
    warehouses = Warehouse.objects.all()
    assert warehouses.count() >= 2
    for warehouse in warehouses:
        zones = set(Location.objects.filter(warehouse=warehouse).values_list("zone", flat=True))
        assert zones == set(Zone.values), warehouse.code
    assert Supplier.objects.count() >= 5
    assert set(Order.objects.values_list("status", flat=True)) == set(Order.Status.values)
    assert 15 <= Order.objects.count() <= 30
    kinds = set(Movement.objects.values_list("kind", flat=True))
    assert kinds >= {
        MovementKind.RECEIPT,
        MovementKind.SHIPMENT,
        MovementKind.ADJUSTMENT,
        MovementKind.TRANSFER_IN,
        MovementKind.TRANSFER_OUT,
        MovementKind.DISPOSAL,
        MovementKind.RETURN,
    }
    span = Movement.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert (span["last"] - span["first"]).days >= 60, "the history is spread over weeks"
    assert Stock.objects.filter(max_level__isnull=False, reorder_point__gt=0).count() > 100


def test_every_stock_row_agrees_with_its_ledger_and_allocations(seeded, db):
    ledger = (
        Movement.objects.filter(stock=OuterRef("pk"))
        .values("stock")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    reserved = (
        Allocation.objects.filter(stock=OuterRef("pk"))
        .values("stock")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    last_after = (
        Movement.objects.filter(stock=OuterRef("pk")).order_by("-pk").values("on_hand_after")[:1]
    )
    rows = Stock.objects.annotate(
        ledger=Coalesce(Subquery(ledger), 0),
        reserved=Coalesce(Subquery(reserved), 0),
        last_after=Coalesce(Subquery(last_after), 0),
    )
    assert rows.count() > 500
    assert list(rows.exclude(on_hand=F("ledger")).values_list("pk", "on_hand", "ledger")) == []
    assert list(rows.exclude(allocated=F("reserved")).values("pk", "allocated", "reserved")) == []
    assert list(rows.exclude(on_hand=F("last_after")).values_list("pk", flat=True)) == []
    assert not rows.filter(Q(on_hand__lt=0) | Q(allocated__lt=0)).exists()
    assert not rows.filter(allocated__gt=F("on_hand"), backorders_allowed=False).exists()
    assert not rows.filter(max_level__lt=F("reorder_point")).exists()
    assert Allocation.objects.filter(quantity__gt=0).exists(), "open orders hold stock"


def test_lots_counts_transfers_and_an_import_are_there_to_see(seeded, db):
    from backoffice.models import ImportRun
    from inventory.models import LotStock, Movement, StockAlert
    from warehouse.models import StockCount, Transfer

    lots = LotStock.objects.filter(on_hand__gt=0)
    assert lots.values("lot__variant").distinct().count() == 2
    assert Movement.objects.filter(kind="shipment", lot__isnull=False).exists()
    assert StockAlert.objects.filter(kind="expiring", resolved_at__isnull=True).count() == 2
    statuses = set(StockCount.objects.values_list("status", flat=True))
    assert {"applied", "counting", "planned"} <= statuses
    assert set(Transfer.objects.values_list("status", flat=True)) == {
        "received",
        "in_transit",
        "draft",
    }
    assert list(ImportRun.objects.values_list("kind", "status")) == [("stock", "applied")]
    assert Movement.objects.filter(reference__startswith="IMP-000001/row").count() == 5


def test_running_it_again_changes_nothing(seeded, db):
    before = counts()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "demo data not loaded" in out.getvalue()
    assert counts() == before


def test_the_demo_login_works(seeded, db):
    request = RequestFactory().post("/admin/login/")
    user = authenticate(request, username="admin", password="stockroom-demo")
    assert user is not None and user.is_superuser and user.is_staff


def test_demo_command_migrates_and_prints_the_login_without_serving(seeded, db):
    before = counts()
    out = StringIO()
    call_command("demo", no_serve=True, stdout=out)
    output = out.getvalue()
    assert "Demo login: admin / stockroom-demo at http://127.0.0.1:8000/admin/" in output
    assert "demo data not loaded" in output
    assert counts() == before


# --- settings: a mistake fails at start-up with a message naming the variable -------------

SETTINGS_VARIABLES = (
    "STOCKROOM_ENV",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "DB_CONN_MAX_AGE",
    "CELERY_BROKER_URL",
    "LANGUAGE_CODE",
)


def manage_check(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'settings-check.sqlite3'}"
    env.update(overrides)
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_clean_environment_passes_the_check(tmp_path):
    result = manage_check(tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DATABASE_URL": "mysql2://x"}, "DATABASE_URL must point to PostgreSQL or SQLite"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL is not a database URL Stockroom understands"),
        (
            {"STOCKROOM_ENV": "production", "ALLOWED_HOSTS": "shop.example.com"},
            "SECRET_KEY is required when STOCKROOM_ENV=production",
        ),
        (
            {"STOCKROOM_ENV": "production", "SECRET_KEY": "x" * 50},
            "ALLOWED_HOSTS is required when STOCKROOM_ENV=production",
        ),
        ({"STOCKROOM_ENV": "staging"}, "STOCKROOM_ENV must be one of development, production"),
        (
            {"CELERY_BROKER_URL": "amqp://guest@127.0.0.1//"},
            "CELERY_BROKER_URL must be a redis:// or rediss:// URL",
        ),
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({"DB_CONN_MAX_AGE": "forever"}, "DB_CONN_MAX_AGE must be an integer"),
        ({"LANGUAGE_CODE": "fr"}, "LANGUAGE_CODE must be 'en' or 'zh-hans'"),
    ],
    ids=lambda value: "" if isinstance(value, str) else ",".join(value),
)
def test_a_bad_setting_stops_the_start_with_a_clear_message(tmp_path, overrides, message):
    result = manage_check(tmp_path, **overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
