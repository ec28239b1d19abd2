"""factory-boy factories for the whole project."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from catalog.models import Category, ListingStatus, Product, Tag, Variant
from inventory.models import Location, Warehouse
from orders.models import Order, OrderLine
from suppliers.models import Supplier


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")


class AdminFactory(UserFactory):
    username = "admin"
    is_superuser = True


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    kind = Tag.Kind.LABEL
    name = factory.Sequence(lambda n: f"tag-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """A product on sale; its status is set directly because factories build fixtures,
    not business history (tests of transitions go through catalog.services)."""

    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Product {n}")
    handle = factory.Sequence(lambda n: f"product-{n}")
    category = factory.SubFactory(CategoryFactory)
    description = "A product."
    status = ListingStatus.ON_SALE


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    price = Decimal("19.90")
    cost = Decimal("8.00")


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    warehouse = factory.SubFactory(WarehouseFactory)
    code = factory.Sequence(lambda n: f"A-{n:02d}-01")


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    code = factory.Sequence(lambda n: f"SUP{n}")
    name = factory.Sequence(lambda n: f"Supplier {n}")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"SO-{n:06d}")
    customer_name = "Li Lei"


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    quantity = 1
    unit_price = Decimal("19.90")


def api_token(channel: str = "storefront", warehouse=None, name: str = "Web shop"):
    """An API token through the service; returns (token row, raw token)."""
    from orders.services import api_token_create

    return api_token_create(
        channel=channel, name=name, warehouse=warehouse or WarehouseFactory(), actor=None
    )


def supplier_price(supplier, variant, unit_cost="8.00", **options):
    """A price-list entry through the service (MOQ, pack size, breaks… as keyword options)."""
    from suppliers.services import supplier_price_set

    return supplier_price_set(
        supplier=supplier, variant=variant, unit_cost=Decimal(unit_cost), actor=None, **options
    )


def purchase_order(supplier, warehouse, lines, *, send=False, actor=None):
    """A purchase order through the service; ``lines`` are (variant, quantity[, unit cost])."""
    from suppliers.services import POLineRequest, purchase_order_create, purchase_order_send

    order = purchase_order_create(
        supplier=supplier,
        warehouse=warehouse,
        lines=[
            POLineRequest(line[0], line[1], Decimal(line[2]) if len(line) > 2 else None)
            for line in lines
        ],
        actor=actor,
    )
    return purchase_order_send(order=order, actor=actor) if send else order


class ReviewFactory(factory.django.DjangoModelFactory):
    """A review as customers leave it (pending); moderation goes through reviews.services."""

    class Meta:
        model = "reviews.Review"

    product = factory.SubFactory(ProductFactory)
    rating = 4
    title = factory.Sequence(lambda n: f"Review {n}")
    text = "Fits well."
    customer_name = factory.Sequence(lambda n: f"Customer {n}")
    customer_email = factory.LazyAttribute(
        lambda o: f"{o.customer_name.lower().replace(' ', '')}@example.com"
    )


def stock_count(warehouse, *, scope="warehouse", start=True, actor=None, **options):
    """A stock count through the services (zone, abc_class… as options), started by default."""
    from warehouse.services import stock_count_plan, stock_count_start

    count = stock_count_plan(warehouse=warehouse, scope=scope, actor=actor, **options)
    return stock_count_start(count=count, actor=actor) if start else count


def transfer(source, destination, lines, *, dispatch=False, actor=None):
    """A transfer through the services; ``lines`` are (variant, quantity)."""
    from warehouse.services import TransferLineRequest, transfer_create, transfer_dispatch

    created = transfer_create(
        source=source,
        destination=destination,
        lines=[TransferLineRequest(variant, quantity) for variant, quantity in lines],
        actor=actor,
    )
    return transfer_dispatch(transfer=created, actor=actor) if dispatch else created
