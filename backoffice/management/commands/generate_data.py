"""Create a large, consistent data set quickly, for benchmarks and load tests.

    manage.py generate_data --skus 100000 --movements 1000000

Set-based: products, variants, stock rows and orders with ``bulk_create`` in
big batches, the movement history through ``inventory.services.
ledger_load_history`` (COPY on PostgreSQL), so that on hand equals the sum
of the ledger for every row, as everywhere else. Adds to what is there: each
run uses its own SKU prefix.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Category, ListingStatus, Product, Tag, Variant
from inventory import services as inventory
from inventory.models import Location, MovementKind, Stock, Warehouse, Zone
from orders.models import Order, OrderLine

ROOTS = {
    "Clothing": ["Tshirts", "Shirts", "Jeans", "Dresses", "Jackets", "Socks"],
    "Home": ["Kitchen", "Bedding", "Lighting", "Storage", "Decor"],
    "Electronics": ["Phones", "Audio", "Cables", "Chargers", "Cameras"],
    "Beauty": ["Skincare", "Makeup", "Hair"],
    "Sports": ["Running", "Cycling", "Yoga", "Camping"],
    "Toys": ["Puzzles", "Blocks", "Dolls"],
}
NOUNS = ["Widget", "Shirt", "Mug", "Lamp", "Cable", "Bottle", "Bag", "Towel", "Cap", "Sock"]
ADJECTIVES = ["Classic", "Organic", "Slim", "Premium", "Travel", "Eco", "Soft", "Bold"]
SIZES = ["S", "M", "L", "XL"]
COLOURS = ["Black", "White", "Red", "Blue", "Green"]
BATCH = 5000


class Command(BaseCommand):
    help = "Create N SKUs and M movements consistent with the levels, set-based."

    def add_arguments(self, parser):
        parser.add_argument("--skus", type=int, default=100_000)
        parser.add_argument("--movements", type=int, default=1_000_000)
        parser.add_argument("--warehouses", type=int, default=2)
        parser.add_argument("--orders", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):
        skus, movements = options["skus"], options["movements"]
        if skus <= 0 or movements < 0 or options["warehouses"] <= 0 or options["orders"] < 0:
            raise CommandError("--skus and --warehouses must be above zero, the others not below.")
        rng = random.Random(options["seed"])  # noqa: S311 - test data, not secrets
        run = uuid.uuid4().hex[:6]
        self.clock = time.perf_counter()
        with transaction.atomic():
            categories = self._categories()
            warehouses = self._warehouses(options["warehouses"])
            variants = self._catalog(rng, run, skus, categories)
            stock_ids = self._stock_rows(rng, variants, warehouses)
            self._history(rng, stock_ids, movements)
            self._orders(rng, run, options["orders"], variants, warehouses[0])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self._say(f"done: {len(variants):,} SKUs, {len(stock_ids):,} stock rows")

    def _say(self, text: str) -> None:
        if self.verbosity_ok:
            elapsed = time.perf_counter() - self.clock
            self.stdout.write(f"[{elapsed:6.1f}s] {text}")

    def execute(self, *args, **options):
        self.verbosity_ok = options.get("verbosity", 1) >= 1
        return super().execute(*args, **options)

    def _categories(self) -> list[Category]:
        leaves = []
        for root_name, children in ROOTS.items():
            root, _ = Category.objects.get_or_create(name=root_name, parent=None)
            for child in children:
                node, _ = Category.objects.get_or_create(name=child, parent=root)
                leaves.append(node)
        for kind, names in (
            (Tag.Kind.BRAND, ["Acme", "Nordic", "Huang"]),
            (Tag.Kind.LABEL, ["new"]),
        ):
            for name in names:
                Tag.objects.get_or_create(kind=kind, name=name)
        return leaves

    def _warehouses(self, count: int) -> list[Warehouse]:
        warehouses = []
        for n in range(1, count + 1):
            warehouse, _ = Warehouse.objects.get_or_create(
                code=f"W{n:02d}", defaults={"name": f"Warehouse {n}"}
            )
            warehouses.append(warehouse)
            Location.objects.bulk_create(
                [
                    Location(warehouse=warehouse, zone=zone, code=f"{zone[:2].upper()}-{b:03d}")
                    for zone in Zone.values
                    for b in range(50)
                ],
                ignore_conflicts=True,
            )
        return warehouses

    def _catalog(self, rng, run, skus, categories) -> list[tuple[int, int]]:
        """Products with 1–4 variants until ``skus`` variants exist; returns (variant, product)."""
        sizes = []
        while sum(sizes) < skus:
            sizes.append(min(rng.choice([1, 2, 2, 3, 4]), skus - sum(sizes)))
        products = [
            Product(
                title=f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {run}-{i}",
                handle=f"g{run}-{i}",
                category=rng.choice(categories),
                description="Generated for benchmarks.",
                option1_name="Size",
                option2_name="Colour",
                status=ListingStatus.ON_SALE,
            )
            for i in range(len(sizes))
        ]
        Product.objects.bulk_create(products, batch_size=BATCH)
        product_ids = list(
            Product.objects.filter(handle__startswith=f"g{run}-")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        self._say(f"{len(product_ids):,} products")
        variants = []
        for product_id, size in zip(product_ids, sizes, strict=True):
            for v in range(size):
                price = Decimal(rng.randrange(500, 50_000)) / 100
                variants.append(
                    Variant(
                        product_id=product_id,
                        sku=f"G{run}-{product_id}-{v}",
                        option1=SIZES[v % len(SIZES)],
                        option2=rng.choice(COLOURS),
                        price=price,
                        cost=(price * Decimal("0.45")).quantize(Decimal("0.01")),
                    )
                )
        Variant.objects.bulk_create(variants, batch_size=BATCH)
        pairs = list(
            Variant.objects.filter(sku__startswith=f"G{run}-")
            .order_by("pk")
            .values_list("pk", "product_id")
        )
        self._say(f"{len(pairs):,} variants")
        return pairs

    def _stock_rows(self, rng, variants, warehouses) -> list[int]:
        rows = []
        for index, (variant_id, _product) in enumerate(variants):
            homes = warehouses[:1] if index % 3 else warehouses
            for warehouse in homes:
                reorder = rng.randrange(0, 20)
                rows.append(
                    Stock(
                        variant_id=variant_id,
                        warehouse=warehouse,
                        reorder_point=reorder,
                        safety_stock=reorder // 2,
                        max_level=reorder + rng.randrange(50, 500),
                    )
                )
        Stock.objects.bulk_create(rows, batch_size=BATCH)
        variant_ids = [v for v, _p in variants]
        first, last = min(variant_ids), max(variant_ids)
        ids = list(
            Stock.objects.filter(variant_id__gte=first, variant_id__lte=last)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        self._say(f"{len(ids):,} stock rows")
        return ids

    def _history(self, rng, stock_ids, movements) -> None:
        if not movements:
            return
        per_row, extra = divmod(movements, len(stock_ids))
        start = timezone.now() - timedelta(days=365)

        def entries():
            for index, stock_id in enumerate(stock_ids):
                count = per_row + (1 if index < extra else 0)
                balance = 0
                when = start + timedelta(minutes=rng.randrange(0, 1440))
                for step in range(count):
                    when += timedelta(minutes=rng.randrange(30, 3000))
                    if step == 0 or balance < 3 or rng.random() < 0.3:
                        quantity = rng.randrange(5, 60)
                        kind = MovementKind.RECEIPT
                    else:
                        quantity = -rng.randrange(1, min(balance, 5) + 1)
                        kind = MovementKind.SHIPMENT
                    balance += quantity
                    yield stock_id, kind, quantity, when, f"gen-{index}-{step}"

        written = inventory.ledger_load_history(entries=entries(), actor=None, reason="generated")
        self._say(f"{written:,} movements")

    def _orders(self, rng, run, count, variants, warehouse) -> None:
        if not count:
            return
        statuses = [Order.Status.SHIPPED] * 6 + [Order.Status.RECEIVED, Order.Status.CANCELLED]
        orders = [
            Order(
                number=f"G{run}-{i:07d}",
                channel=rng.choice(Order.Channel.values),
                status=rng.choice(statuses),
                customer_name=f"Customer {rng.randrange(1, 50_000)}",
                customer_email=f"c{i}@example.com",
                warehouse=warehouse,
            )
            for i in range(count)
        ]
        Order.objects.bulk_create(orders, batch_size=BATCH)
        order_ids = Order.objects.filter(number__startswith=f"G{run}-").values_list("pk", flat=True)
        lines = [
            OrderLine(
                order_id=order_id,
                variant_id=rng.choice(variants)[0],
                quantity=rng.randrange(1, 4),
                unit_price=Decimal(rng.randrange(500, 20_000)) / 100,
            )
            for order_id in order_ids
            for _ in range(rng.choice([1, 1, 2, 3]))
        ]
        OrderLine.objects.bulk_create(lines, batch_size=BATCH)
        self._say(f"{count:,} orders, {len(lines):,} lines")
