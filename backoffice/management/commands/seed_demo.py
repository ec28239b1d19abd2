"""Load the demo data set: about ninety days of a small shop's life.

Everything that changes stock or a listing status goes through the services
the admin uses (``catalog.services``, ``inventory.services``,
``orders.services``), so the demo ledger is as consistent as a real one: for
every stock row, on hand == Sum(movements) and allocated == Sum(allocations).
Plain records without a workflow (categories, tags, draft products and their
variants, warehouses, bins, suppliers, stock-level settings) are created
directly, as the admin's forms would.

The history is replayed day by day under a simulated clock (``timezone.now``
is patched while seeding), so that receipts, orders, transfers and delistings
are spread over the last weeks instead of all carrying the same second — the
dashboard and the "units sold in the 30 days before delisting" have something
to show. The last weeks also give the warehouse features something to show
(``lot_tracking``, ``warehouse_operations``): a SKU pair sold by lot with an
expiring lot, ABC classes, stock counts applied, in progress and planned,
transfers received, in transit and draft, and an applied stock import.

Deterministic (``--seed``) and safe to run twice: when the catalog already has
products it says so and loads nothing.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from unittest import mock

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from catalog import services as catalog
from catalog.models import (
    Category,
    DelistReason,
    ListingStatus,
    Product,
    ProductImage,
    Tag,
    Variant,
)
from inventory import services as inventory
from inventory.models import (
    Allocation,
    Location,
    Lot,
    Movement,
    MovementKind,
    Stock,
    Warehouse,
    Zone,
)
from orders import services as orders
from orders.models import Order
from suppliers import services as purchasing
from suppliers.models import PurchaseOrder, Supplier, SupplierPrice, SupplierPriceBreak
from suppliers.selectors import replenishment_suggestions, round_order_quantity
from warehouse import services as warehousing
from warehouse.models import AbcClass, DiscrepancyReason, StockCount, Transfer

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "stockroom-demo"  # noqa: S105 - the documented demo login
HISTORY_DAYS = 90
# Rows are picked at random from lists in this order: natural keys, not primary keys,
# because rows written by INSERT … SELECT get their ids in no promised order.
NATURAL_STOCK_ORDER = ("variant__sku", "warehouse__code")
CENT = Decimal("0.01")

# --- the catalog -------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A leaf category and what its products look like."""

    path: tuple[str, str, str]
    prefix: str
    nouns: tuple[str, ...]
    option1: tuple[str, tuple[str, ...]] | None
    option2: tuple[str, tuple[str, ...]] | None
    price: tuple[int, int]
    weight: tuple[int, int]
    materials: tuple[str, ...]
    supplier: str
    count: int


SIZES = ("S", "M", "L", "XL")
APPAREL_COLOURS = ("Black", "White", "Navy", "Grey", "Olive", "Red")
GADGET_COLOURS = ("Black", "White", "Blue", "Pink")

LINES = (
    Line(("Clothing", "Tops", "Tshirts"), "TS",
         ("Crew-neck tee", "V-neck tee", "Pocket tee", "纯棉短袖T恤", "Heavyweight tee"),
         ("Size", SIZES), ("Colour", APPAREL_COLOURS), (59, 199), (150, 260),
         ("Cotton", "Organic cotton", "Modal"), "HZSILK", 20),
    Line(("Clothing", "Tops", "Shirts"), "SH",
         ("Oxford shirt", "Linen shirt", "Flannel shirt", "亚麻衬衫"),
         ("Size", SIZES), ("Colour", APPAREL_COLOURS), (129, 399), (220, 380),
         ("Linen", "Cotton"), "HZSILK", 14),
    Line(("Clothing", "Bottoms", "Jeans"), "JN",
         ("Slim jeans", "Straight jeans", "Wide-leg jeans", "牛仔裤"),
         ("Waist", ("28", "30", "32", "34", "36")), ("Colour", ("Indigo", "Black", "Light wash")),
         (199, 499), (550, 800), ("Denim",), "HZSILK", 12),
    Line(("Clothing", "Outerwear", "Jackets"), "JK",
         ("Down jacket", "Rain jacket", "Fleece jacket", "羽绒服"),
         ("Size", SIZES), ("Colour", ("Black", "Navy", "Khaki", "Red")), (399, 1299),
         (450, 1200), ("Nylon", "Polyester", "Duck down"), "HZSILK", 12),
    Line(("Home", "Kitchen", "Cookware"), "CW",
         ("Cast-iron skillet", "Carbon-steel wok", "Saucepan", "Stockpot", "铸铁炒锅"),
         ("Size", ("20 cm", "24 cm", "28 cm", "32 cm")), None, (89, 599), (800, 3500),
         ("Cast iron", "Stainless steel", "Carbon steel"), "NBHOME", 14),
    Line(("Home", "Kitchen", "Tableware"), "TW",
         ("Rice bowl set", "Dinner plate", "Tea cup set", "青花瓷碗", "Chopsticks set"),
         ("Colour", ("White", "Celadon", "Blue and white")), None, (39, 259), (200, 1800),
         ("Porcelain", "Ceramic", "Bamboo"), "JDZ", 14),
    Line(("Home", "Textiles", "Bedding"), "BD",
         ("Duvet cover set", "Silk pillowcase", "Fitted sheet", "真丝枕套"),
         ("Size", ("Single", "Double", "Queen", "King")), ("Colour", ("White", "Grey", "Sage")),
         (159, 899), (300, 1800), ("Cotton sateen", "Mulberry silk", "Linen"), "HZSILK", 12),
    Line(("Home", "Textiles", "Towels"), "TL",
         ("Bath towel", "Hand towel", "Beach towel"),
         ("Colour", ("White", "Grey", "Navy", "Sand")), None, (29, 129), (120, 700),
         ("Cotton", "Bamboo"), "NBHOME", 10),
    Line(("Electronics", "Audio", "Headphones"), "HP",
         ("Wireless earbuds", "Over-ear headphones", "Sports earphones", "蓝牙耳机"),
         ("Colour", GADGET_COLOURS), None, (99, 1299), (40, 320),
         ("ABS plastic", "Aluminium"), "SZORBIT", 14),
    Line(("Electronics", "Audio", "Speakers"), "SP",
         ("Bluetooth speaker", "Smart speaker", "Soundbar"),
         ("Colour", ("Black", "White", "Grey")), None, (149, 1599), (300, 2500),
         ("ABS plastic", "Fabric"), "SZORBIT", 10),
    Line(("Electronics", "Accessories", "Chargers"), "CH",
         ("GaN charger 65W", "Power bank 10000mAh", "Wireless charger", "快充充电器"),
         ("Colour", ("Black", "White")), None, (59, 299), (60, 260),
         ("PC plastic",), "SZORBIT", 12),
    Line(("Electronics", "Accessories", "Cables"), "CB",
         ("USB-C cable", "Lightning cable", "HDMI cable"),
         ("Length", ("1 m", "2 m", "3 m")), ("Colour", ("Black", "White")), (19, 99),
         (30, 150), ("Braided nylon", "TPE"), "SZORBIT", 10),
    Line(("Food & Drink", "Tea", "Green tea"), "GT",
         ("West Lake Longjing", "Biluochun", "Huangshan Maofeng", "西湖龙井"),
         ("Weight", ("50 g", "100 g", "250 g")), None, (68, 688), (60, 300),
         ("Loose leaf",), "ANXITEA", 10),
    Line(("Food & Drink", "Tea", "Oolong and black tea"), "OT",
         ("Tieguanyin", "Da Hong Pao", "Keemun black tea", "滇红", "铁观音"),
         ("Weight", ("50 g", "100 g", "250 g")), None, (58, 888), (60, 300),
         ("Loose leaf",), "ANXITEA", 12),
    Line(("Beauty", "Skincare", "Face care"), "SK",
         ("Hydrating serum", "Sunscreen SPF50", "Gentle cleanser", "Night cream", "保湿面霜"),
         ("Size", ("30 ml", "50 ml", "100 ml")), None, (79, 459), (50, 250),
         ("Hyaluronic acid", "Ceramides"), "GZBEAUTY", 12),
    Line(("Sports", "Fitness", "Yoga"), "YG",
         ("Yoga mat", "Yoga block", "Resistance band set", "瑜伽垫"),
         ("Colour", ("Purple", "Black", "Teal", "Pink")), None, (39, 299), (200, 2200),
         ("TPE", "Cork", "Natural rubber"), "YWSPORT", 12),
)  # fmt: skip

TOP_LEVEL_DESCRIPTIONS = {
    "Clothing": "服装 · apparel for men and women",
    "Home": "家居 · kitchen, tableware and home textiles",
    "Electronics": "数码 · audio and everyday accessories",
    "Food & Drink": "食品 · tea from Zhejiang, Fujian and Yunnan",
    "Beauty": "美妆 · skincare",
    "Sports": "运动 · fitness and yoga",
}
BRANDS = {
    "Clothing": ("Nordwind", "青木 Aoki", "Linea"),
    "Home": ("Hearth & Co", "景德 Jingde", "Bamboo Leaf"),
    "Electronics": ("Orbit", "Kestrel", "声浪 Soundwave"),
    "Food & Drink": ("山茶 Camellia", "West Lake Tea Co"),
    "Beauty": ("Lumen", "素颜 Suyan"),
    "Sports": ("Lotus Flow", "Kestrel"),
}
STYLES = ("Classic", "Essential", "Everyday", "Premium", "Heritage", "Urban", "Lite", "Pro")
LABELS = ("New arrival", "Bestseller", "Eco-friendly", "Gift idea", "Limited edition", "新品")
SEASONS = ("Spring/Summer", "Autumn/Winter", "All year")
COLOUR_CODES = {
    "Black": "BLK", "White": "WHT", "Navy": "NVY", "Grey": "GRY", "Olive": "OLV", "Red": "RED",
    "Blue": "BLU", "Pink": "PNK", "Indigo": "IND", "Light wash": "LTW", "Khaki": "KHK",
    "Celadon": "CEL", "Blue and white": "BAW", "Sage": "SGE", "Sand": "SND", "Purple": "PUR",
    "Teal": "TEL",
}  # fmt: skip

SUPPLIERS = (
    ("HZSILK", "杭州丝绸纺织有限公司 Hangzhou Silk & Textiles", "Chen Jing 陈静",
     "sales@hz-silk.example.com", "+86 571 8888 1200", "浙江省杭州市余杭区 良渚街道 88号",
     "30 days net", 12, True),
    ("SZORBIT", "Shenzhen Orbit Electronics Co., Ltd.", "Zhang Wei 张伟",
     "orders@orbit-sz.example.com", "+86 755 2666 0931", "广东省深圳市南山区 科技园 12栋",
     "T/T 30% deposit, balance before shipment", 7, True),
    ("JDZ", "景德镇瓷器厂 Jingdezhen Porcelain Works", "Liu Yang 刘洋",
     "export@jdz-porcelain.example.com", "+86 798 822 3051", "江西省景德镇市珠山区 瓷都大道 5号",
     "45 days net", 21, True),
    ("ANXITEA", "安溪铁观音合作社 Anxi Tea Cooperative", "Lin Mei 林梅",
     "tea@anxi-coop.example.com", "+86 595 2322 8810", "福建省泉州市安溪县 茶都路 36号",
     "Cash on delivery", 10, True),
    ("NBHOME", "Ningbo Home & Kitchen Manufacturing", "Wang Lei 王磊",
     "sales@nb-home.example.com", "+86 574 8765 4321", "浙江省宁波市北仑区 大港工业城",
     "30 days net", 14, True),
    ("GZBEAUTY", "广州白云美妆代工厂 Guangzhou Baiyun Cosmetics OEM", "Huang Li 黄丽",
     "oem@by-cosmetics.example.com", "+86 20 3622 7788", "广东省广州市白云区 太和镇 18号",
     "60 days net", 18, True),
    ("YWSPORT", "Yiwu Sports Goods Trading", "Zhou Qiang 周强",
     "info@yw-sport.example.com", "+86 579 8555 0102", "浙江省义乌市 国际商贸城 五区",
     "Prepayment", 9, False),
)  # fmt: skip

WAREHOUSES = (
    ("SH", "Shanghai DC 上海中心仓", "上海市浦东新区 外高桥保税区 富特北路 211号"),
    ("GZ", "Guangzhou DC 广州南方仓", "广东省广州市白云区 人和镇 鹤龙路 9号"),
)

CUSTOMERS = (
    ("王芳", "wang.fang"), ("李娜", "li.na"), ("Zhang Wei", "zhang.wei"), ("Emily Chen", "emily"),
    ("陈静", "chen.jing"), ("刘洋", "liu.yang"), ("Oliver Smith", "oliver"), ("赵敏", "zhao.min"),
    ("Sophie Martin", "sophie"), ("黄磊", "huang.lei"), ("Kenji Sato", "kenji"),
    ("周杰", "zhou.jie"),
)  # fmt: skip
ADDRESSES = (
    "上海市徐汇区 漕溪北路 398号 12楼",
    "北京市朝阳区 建国路 88号 SOHO 3号楼",
    "广东省深圳市福田区 深南大道 6008号",
    "浙江省杭州市西湖区 文三路 90号",
    "四川省成都市锦江区 春熙路 19号",
    "Flat 4, 21 Harbour Road, Wan Chai, Hong Kong",
)

# Orders: (days ago, final status, channel, priority).
SHIPPED, ALLOCATED, RECEIVED = Order.Status.SHIPPED, Order.Status.ALLOCATED, Order.Status.RECEIVED
CANCELLED_AFTER_ALLOCATION = "cancelled-allocated"
CANCELLED = Order.Status.CANCELLED
DELIVERED, PARTIALLY_SHIPPED = Order.Status.DELIVERED, Order.Status.PARTIALLY_SHIPPED
REVIEWED, PICKED, PACKED = Order.Status.REVIEWED, Order.Status.PICKED, Order.Status.PACKED
STORE, MARKET, MANUAL = Order.Channel.STOREFRONT, Order.Channel.MARKETPLACE, Order.Channel.MANUAL
NORMAL, URGENT, PRESALE = Order.Priority.NORMAL, Order.Priority.URGENT, Order.Priority.PRESALE
ORDER_PLAN = (
    (82, DELIVERED, STORE, NORMAL), (76, DELIVERED, MARKET, NORMAL), (69, SHIPPED, STORE, URGENT),
    (63, DELIVERED, MANUAL, NORMAL), (57, SHIPPED, MARKET, NORMAL), (51, SHIPPED, STORE, NORMAL),
    (47, CANCELLED_AFTER_ALLOCATION, STORE, NORMAL), (44, SHIPPED, MARKET, NORMAL),
    (38, SHIPPED, STORE, NORMAL), (31, SHIPPED, STORE, URGENT), (25, SHIPPED, MARKET, NORMAL),
    (19, SHIPPED, STORE, NORMAL), (16, CANCELLED, MANUAL, NORMAL), (13, SHIPPED, STORE, NORMAL),
    (7, SHIPPED, MARKET, NORMAL), (4, PARTIALLY_SHIPPED, STORE, URGENT), (3, PACKED, STORE, NORMAL),
    (2, PICKED, MARKET, NORMAL), (1, CANCELLED_AFTER_ALLOCATION, STORE, NORMAL),
    (1, ALLOCATED, STORE, PRESALE), (0, ALLOCATED, MANUAL, URGENT), (0, RECEIVED, STORE, NORMAL),
    (0, REVIEWED, MARKET, NORMAL), (0, RECEIVED, STORE, NORMAL),
)  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------


class SimulatedClock:
    """Stands in for ``timezone.now`` while seeding; only ever moves forward, never past ``end``."""

    def __init__(self, end: datetime) -> None:
        self.end = end
        self.current = end - timedelta(days=HISTORY_DAYS + 5)

    def go_to(self, days_ago: int, hour: int = 9) -> None:
        day = self.end - timedelta(days=days_ago)
        target = day.replace(hour=hour, minute=0, second=0, microsecond=0)
        self.current = min(max(self.current, target), self.end)

    def __call__(self) -> datetime:
        self.current = min(self.current + timedelta(seconds=3), self.end)
        return self.current


def ean13(number: int) -> str:
    """A valid EAN-13 with the GS1 China prefix 690 and a check digit."""
    body = f"690{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def code(value: str) -> str:
    if value in COLOUR_CODES:
        return COLOUR_CODES[value]
    return "".join(ch for ch in value.upper() if ch.isalnum()) or "X"


@dataclass
class Plan:
    """What happens to one product during the replay."""

    product: Product
    line: Line
    role: str = "regular"
    variants: list[Variant] = field(default_factory=list)


class Command(BaseCommand):
    help = (
        "Load the demo data set (categories, ~200 products with variants, 2 warehouses, "
        "suppliers, stock with ~90 days of movements, orders, purchase orders, lots, stock "
        "counts, transfers, an import) through the services, and "
        f"create the demo superuser {DEMO_USERNAME!r}. Does nothing if products exist."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=2025, help="Random seed (default 2025).")
        parser.add_argument(
            "--password",
            default=DEMO_PASSWORD,
            help=f"Password of the demo superuser if it is created (default {DEMO_PASSWORD!r}).",
        )

    def handle(self, *args, seed: int, password: str, **options) -> None:
        self.user = self.ensure_superuser(password)
        existing = Product.objects.count()
        if existing:
            self.stdout.write(
                f"The catalog already has {existing} products: demo data not loaded "
                "(it is loaded into an empty catalog only)."
            )
            return
        started = time.monotonic()
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
        # Purchasing draws from its own sequence, so that it leaves the rest of the demo as it was.
        self.purchasing_rng = random.Random(seed + 1)  # noqa: S311 - demo data, not secrets
        # So do lots, counts, transfers and the import (``warehouse_rng``).
        self.warehouse_rng = random.Random(seed + 2)  # noqa: S311 - demo data, not secrets
        self.clock = SimulatedClock(timezone.now())
        with transaction.atomic(), mock.patch.object(timezone, "now", self.clock):
            self.replay()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded in {time.monotonic() - started:.1f} s: "
                f"{Product.objects.count()} products, {Variant.objects.count()} variants, "
                f"{Stock.objects.count()} stock rows, {Movement.objects.count()} movements, "
                f"{Order.objects.count()} orders, "
                f"{PurchaseOrder.objects.count()} purchase orders, "
                f"{Lot.objects.count()} lots, {Transfer.objects.count()} transfers, "
                f"{StockCount.objects.count()} stock counts."
            )
        )

    def ensure_superuser(self, password: str):
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USERNAME).first()
        if user is not None:
            self.stdout.write(f"User {DEMO_USERNAME!r} exists: its password was left unchanged.")
            return user
        user = user_model.objects.create_superuser(
            DEMO_USERNAME, "admin@stockroom.example.com", password
        )
        self.stdout.write(f"Created the demo superuser {DEMO_USERNAME!r}.")
        return user

    # --- the replay -----------------------------------------------------------------------

    def replay(self) -> None:
        self.clock.go_to(HISTORY_DAYS + 5)
        self.create_reference_data()
        self.plans = self.create_products()
        self.price_lists()
        self.order_seq = 0
        self.po_seq = 0
        self.transfer_seq = 0
        self.transfer_runs = 0
        order_plan = list(ORDER_PLAN)
        for day in range(HISTORY_DAYS, -1, -1):
            self.clock.go_to(day, hour=8)
            if day == HISTORY_DAYS:
                self.opening_stock(roles={"regular", "limited"})
            if day == HISTORY_DAYS - 2:
                self.publish(roles={"regular", "limited", "sold_out"})
            if day in (70, 42, 21):
                self.replenish()
            if day in (60, 35, 10):
                self.transfers()
            if day in (75, 50, 28, 9):
                self.adjustments()
            if day in (45, 18):
                self.damaged()
            if day == 16:
                self.opening_stock(roles={"new"})
            if day == 14:
                self.publish(roles={"new"})
            if day == 5:
                self.opening_stock(roles={"draft_stocked"})
            self.clock.go_to(day, hour=10)
            while order_plan and order_plan[0][0] == day:
                self.place_order(*order_plan.pop(0))
            if day == 33:
                self.customer_return()
            self.delistings(day)
            self.purchasing(day)
            self.lot_tracking(day)
            self.warehouse_operations(day)
        self.reviews_and_compliance()
        self.notifications_and_checks()

    # --- notifications, audit and alerts (F-60, F-18, F-15) -----------------------------------

    def notifications_and_checks(self) -> None:
        from backoffice.models import WebhookEndpoint, WebhookEvent
        from catalog.services import watch_add
        from inventory import services as inventory

        # Switched off: point it at the sales platform's URL and switch it on.
        WebhookEndpoint.objects.get_or_create(
            name="Sales platform (example)",
            defaults={
                "audience": WebhookEndpoint.Audience.SALES_PLATFORM,
                "url": "https://platform.example.com/webhooks/stockroom",
                "secret": "demo-secret-change-me-0123456789",
                "events": [event.value for event in WebhookEvent],
                "is_active": False,
            },
        )
        waiting = Product.objects.filter(status__in=["sold_out", "delisted"]).order_by("pk")[:3]
        for index, product in enumerate(waiting):
            variant = product.variants.order_by("pk").first()
            if variant:
                watch_add(sku=variant.sku, email=f"waiting{index + 1}@example.com")
        inventory.stock_alerts_refresh()
        inventory.stock_audit(actor=self.user)

    # --- reviews and listing compliance (F-35, F-36, F-40) ----------------------------------

    DEMO_REVIEWS = (
        (5, "Lovely fabric", "Soft and cool, true to size.", "Ana"),
        (4, "Good value", "Nice colour, a little long.", "Ben"),
        (1, "Colour runs", "The colour ran after one wash, thin fabric.", "Chloe"),
        (2, "质量一般", "洗了一次就掉色，面料很薄。", "王小明"),
        (1, "掉色严重", "掉色严重，尺码偏小。", "李雷"),
        (3, "OK", "Does the job.", "Dev"),
        (5, "非常满意", "面料舒服，做工精细。", "韩梅梅"),
        (2, "Seams came apart", "Seams came apart, thin fabric, colour faded.", "Eve"),
    )

    def reviews_and_compliance(self) -> None:
        from catalog import compliance
        from reviews import services as reviews
        from reviews.models import Review

        compliance.banned_words_add(words=["miracle", "最好", "100% guaranteed"], actor=self.user)
        products = list(Product.objects.filter(status="on_sale").order_by("pk")[:4])
        for index, product in enumerate(products):
            for rating, title, text, name in self.DEMO_REVIEWS[index % 2 :: 1 + index % 2]:
                reviews.review_submit(
                    product=product, rating=rating, title=title, text=text, customer_name=name
                )
        pending = Review.objects.order_by("pk")
        spam = reviews.review_submit(
            product=products[0], rating=5, title="Cheap followers", customer_name="Bot"
        )
        reviews.reviews_approve(reviews=pending.exclude(pk=spam.pk)[:20], actor=self.user)
        reviews.reviews_reject(
            reviews=Review.objects.filter(pk=spam.pk), reason="Spam", actor=self.user
        )
        compliance.compliance_check()

    def create_reference_data(self) -> None:
        self.warehouses = {}
        for wh_code, name, address in WAREHOUSES:
            warehouse, _created = Warehouse.objects.get_or_create(
                code=wh_code, defaults={"name": name, "address": address}
            )
            self.warehouses[wh_code] = warehouse
            bins = [(Zone.STORAGE, f"{aisle}-{rack:02d}-{level}") for aisle in "ABC"
                    for rack in range(1, 5) for level in range(1, 4)]  # fmt: skip
            bins += [(Zone.PICKING, f"P-{n:02d}") for n in range(1, 13)]
            bins += [(Zone.PACKING, f"PK-{n:02d}") for n in range(1, 5)]
            bins += [(Zone.SHIPPING, f"DOCK-{n}") for n in range(1, 4)]
            Location.objects.bulk_create(
                [
                    Location(warehouse=warehouse, zone=zone, code=bin_code)
                    for zone, bin_code in bins
                ],
                ignore_conflicts=True,
            )
        self.suppliers = {}
        for sup_code, name, contact, email, phone, address, terms, lead, active in SUPPLIERS:
            supplier, _created = Supplier.objects.get_or_create(
                code=sup_code,
                defaults={
                    "name": name,
                    "contact_name": contact,
                    "email": email,
                    "phone": phone,
                    "address": address,
                    "payment_terms": terms,
                    "lead_time_days": lead,
                    "is_active": active,
                    "notes": "" if active else "Stopped trading with us this quarter.",
                },
            )
            self.suppliers[sup_code] = supplier
        self.categories = {}
        for line in LINES:
            parent = None
            for depth, name in enumerate(line.path):
                description = TOP_LEVEL_DESCRIPTIONS.get(name, "") if depth == 0 else ""
                parent, _created = Category.objects.get_or_create(
                    name=name, parent=parent, defaults={"description": description}
                )
            self.categories[line.path] = parent

    def tag(self, kind: str, name: str) -> Tag:
        key = (kind, name)
        if key not in self.tag_cache:
            self.tag_cache[key] = catalog.tag_get_or_create(kind=kind, name=name)
        return self.tag_cache[key]

    def create_products(self) -> list[Plan]:
        """Draft products with their variants, tags and images, written in bulk with history."""
        rng = self.rng
        self.tag_cache: dict[tuple[str, str], Tag] = {}
        plans: list[Plan] = []
        product_tags: list[set[Tag]] = []
        images: list[ProductImage] = []
        handles: set[str] = set()
        barcode_seq = 100_000
        number = 0
        roles = self.roles(sum(line.count for line in LINES))
        for line in LINES:
            top = line.path[0]
            for index in range(line.count):
                number += 1
                noun = line.nouns[index % len(line.nouns)]
                brand = rng.choice(BRANDS[top])
                style = STYLES[(index // len(line.nouns) + number) % len(STYLES)]
                title = f"{brand} {style} {noun}"
                handle = slugify(title, allow_unicode=True)
                while handle in handles:
                    handle = f"{handle}-{number}"
                handles.add(handle)
                material = rng.choice(line.materials)
                product = Product(
                    title=title,
                    handle=handle,
                    category=self.categories[line.path],
                    short_description=f"{noun} by {brand}, {material.lower()}.",
                    description=(
                        f"{title}: {noun.lower()} in {material.lower()} from {brand}. "
                        f"Ships from our Shanghai or Guangzhou warehouse within 24 hours."
                    ),
                    option1_name=line.option1[0] if line.option1 else "",
                    option2_name=line.option2[0] if line.option2 else "",
                )
                plan = Plan(product=product, line=line, role=roles[number - 1])
                tags = {
                    self.tag(Tag.Kind.BRAND, brand),
                    self.tag(Tag.Kind.MATERIAL, material),
                    self.tag(Tag.Kind.STYLE, style),
                }
                if rng.random() < 0.35:
                    tags.add(self.tag(Tag.Kind.LABEL, rng.choice(LABELS)))
                if top == "Clothing":
                    tags.add(self.tag(Tag.Kind.SEASON, rng.choice(SEASONS)))
                if plan.role == "new":
                    tags.add(self.tag(Tag.Kind.LABEL, "New arrival"))
                if rng.random() < 0.85:  # the rest is for the compliance checks to find
                    images.append(
                        ProductImage(
                            product=product,
                            url=f"https://placehold.co/600x600/png?text={line.prefix}{number:04d}",
                            alt_text=title,
                        )
                    )
                options = self.pick_options(line)
                if plan.role == "limited":
                    # One SKU, a handful of units: an order sells it out.
                    options = options[:1]
                    tags.add(self.tag(Tag.Kind.LABEL, "Limited edition"))
                base = rng.randint(*line.price)
                base_price = money(base - Decimal("0.10") if base > 100 else base)
                compare_at = (
                    money(base_price * Decimal(rng.choice(("1.2", "1.3", "1.5"))))
                    if rng.random() < 0.3
                    else None
                )
                cost_ratio = Decimal(str(rng.uniform(0.35, 0.6)))
                weight = rng.randint(*line.weight)
                colours_per_size = len({v2 for _v1, v2 in options})
                for position, (value1, value2) in enumerate(options):
                    # Bigger sizes (pans, bottles, tea tins) cost a little more.
                    step = position // colours_per_size
                    price = base_price + Decimal(step * 10 if line.option2 is None else 0)
                    codes = "-".join(code(v) for v in (value1, value2) if v) or "STD"
                    barcode_seq += rng.randint(1, 7)
                    plan.variants.append(
                        Variant(
                            product=product,
                            sku=f"{line.prefix}-{number:04d}-{codes}",
                            barcode=ean13(barcode_seq),
                            option1=value1,
                            option2=value2,
                            price=price,
                            compare_at_price=(
                                compare_at + (price - base_price) if compare_at else None
                            ),
                            cost=money(price * cost_ratio),
                            weight_grams=weight + step * 50,
                        )
                    )
                    for option, value in ((line.option1, value1), (line.option2, value2)):
                        if option and option[0] == "Colour" and value:
                            tags.add(self.tag(Tag.Kind.COLOUR, value))
                plans.append(plan)
                product_tags.append(tags)
        history = {"default_user": self.user, "default_change_reason": "demo data"}
        bulk_create_with_history([plan.product for plan in plans], Product, **history)
        products = {p.handle: p for p in Product.objects.all()}
        variants = []
        for plan in plans:
            plan.product = products[plan.product.handle]
            for variant in plan.variants:
                variant.product = plan.product
                variants.append(variant)
        bulk_create_with_history(variants, Variant, **history)
        by_sku = {v.sku: v for v in Variant.objects.select_related("product")}
        for plan in plans:
            plan.variants = [by_sku[v.sku] for v in plan.variants]
        for image in images:
            image.product = products[image.product.handle]
        ProductImage.objects.bulk_create(images)
        Product.tags.through.objects.bulk_create(
            Product.tags.through(product_id=plan.product.pk, tag_id=tag.pk)
            for plan, tags in zip(plans, product_tags, strict=True)
            for tag in tags
        )
        self.limited = next(plan for plan in plans if plan.role == "limited")
        return plans

    def pick_options(self, line: Line) -> list[tuple[str, str]]:
        """1–6 (option1, option2) pairs: a run of sizes times one or two colours."""
        rng = self.rng
        if line.option1 is None or rng.random() < 0.1:
            return [("", "")] if line.option1 is None else [(line.option1[1][0], "")]
        values1 = line.option1[1]
        colours = [""]
        if line.option2 is not None:
            colours = rng.sample(line.option2[1], k=rng.choice((1, 1, 2)))
        most = max(1, 6 // len(colours))
        count = rng.randint(1, min(most, len(values1)))
        start = rng.randint(0, len(values1) - count)
        return [(v1, v2) for v1 in values1[start : start + count] for v2 in colours]

    def roles(self, total: int) -> list[str]:
        """Most products go on sale at the start; a few are special on purpose."""
        special = ["draft"] * 3 + ["draft_stocked"] * 3 + ["sold_out"] * 2 + ["new"] * 12
        special.append("limited")
        roles = special + ["regular"] * (total - len(special))
        self.rng.shuffle(roles)
        return roles

    # --- stock --------------------------------------------------------------------------

    def next_po(self, supplier: str) -> str:
        self.po_seq += 1
        return f"PO-{supplier}-{self.po_seq:04d}"

    def opening_stock(self, roles: set[str]) -> None:
        """Receive the first delivery of each selected product: one purchase order per
        supplier and warehouse, the same quantity of each of a product's SKUs."""
        rng = self.rng
        deliveries: dict[tuple[str, str, int], list[int]] = {}
        for plan in self.plans:
            if plan.role not in roles:
                continue
            for wh_code in self.warehouses:
                if plan.role == "limited":
                    quantity = 3 if wh_code == "SH" else 0
                elif wh_code == "GZ" and rng.random() < 0.4:
                    quantity = 0  # not every product is stocked in both warehouses
                elif plan.line.price[1] > 500:
                    quantity = rng.choice((4, 6, 8, 10, 16, 24))
                else:
                    quantity = rng.choice((10, 12, 20, 30, 40, 60, 80))
                if quantity:
                    key = (plan.line.supplier, wh_code, quantity)
                    deliveries.setdefault(key, []).append(plan.product.pk)
        orders_placed: dict[tuple[str, str], str] = {}
        for (supplier_code, wh_code, quantity), product_ids in sorted(deliveries.items()):
            key = (supplier_code, wh_code)
            if key not in orders_placed:
                orders_placed[key] = self.next_po(supplier_code)
            supplier = self.suppliers[supplier_code]
            inventory.restock_products(
                products=Product.objects.filter(pk__in=product_ids),
                warehouse=self.warehouses[wh_code],
                quantity=quantity,
                actor=self.user,
                reason=f"{orders_placed[key]}: goods receipt from {supplier.name}",
            )
        self.plan_stock_levels()

    def plan_stock_levels(self) -> None:
        """Reorder point, safety stock, maximum and bin for the rows that have none yet,
        as a clerk sets them in the admin (no level is touched). Relative to what was
        received: most rows sit between reorder point and maximum, some low, some over."""
        rng = self.rng
        storage = {
            wh.pk: list(Location.objects.filter(warehouse=wh, zone=Zone.STORAGE).order_by("code"))
            for wh in self.warehouses.values()
        }
        rows = list(
            Stock.objects.filter(max_level__isnull=True, on_hand__gt=0).order_by(
                *NATURAL_STOCK_ORDER
            )
        )
        for stock in rows:
            if stock.variant_id == self.limited.variants[0].pk:
                stock.reorder_point, stock.max_level = 0, 10
            else:
                ratio = rng.choice((0.15, 0.5, 0.7, 0.8, 0.9, 1.0, 1.0, 1.3))
                stock.max_level = max(int(stock.on_hand / ratio), 4)
                stock.reorder_point = max(1, stock.max_level // rng.randint(4, 6))
            stock.safety_stock = stock.reorder_point // 2
            stock.default_location = rng.choice(storage[stock.warehouse_id])
        bulk_update_with_history(
            rows,
            Stock,
            ["reorder_point", "safety_stock", "max_level", "default_location"],
            default_user=self.user,
            default_change_reason="stock settings",
        )

    def publish(self, roles: set[str]) -> None:
        ids = [plan.product.pk for plan in self.plans if plan.role in roles]
        catalog.publish(products=Product.objects.filter(pk__in=ids), actor=self.user)

    def free_stock(self, warehouse: Warehouse | None = None, minimum: int = 1) -> list[Stock]:
        """On-sale stock rows with at least ``minimum`` free units (the limited edition aside)."""
        rows = (
            Stock.objects.filter(
                variant__is_active=True,
                variant__product__status=ListingStatus.ON_SALE,
                on_hand__gte=F("allocated") + minimum,
            )
            .exclude(variant__product=self.limited.product)
            .exclude(variant__track_lots=True)  # moved lot by lot: see lot_tracking()
            .select_related("variant__product", "warehouse")
        )
        if warehouse is not None:
            rows = rows.filter(warehouse=warehouse)
        return list(rows.order_by(*NATURAL_STOCK_ORDER))

    def replenish(self) -> None:
        """The purchaser tops up most rows at or below their reorder point to the maximum."""
        low = (
            Stock.objects.filter(
                variant__is_active=True,
                variant__product__status__in=(ListingStatus.ON_SALE, ListingStatus.SOLD_OUT),
                max_level__isnull=False,
                on_hand__lte=F("allocated") + F("reorder_point"),
            )
            .exclude(variant__product=self.limited.product)
            .exclude(variant__track_lots=True)  # received lot by lot: see lot_tracking()
            .select_related("variant", "warehouse")
            .order_by(*NATURAL_STOCK_ORDER)
        )
        plans_by_product = {plan.product.pk: plan for plan in self.plans}
        references: dict[tuple[str, str], str] = {}
        for stock in low:
            if self.rng.random() < 0.4:  # not this time: some stay low for the alerts
                continue
            supplier = plans_by_product[stock.variant.product_id].line.supplier
            key = (supplier, stock.warehouse.code)
            if key not in references:
                references[key] = self.next_po(supplier)
            inventory.receive(
                variant=stock.variant,
                warehouse=stock.warehouse,
                quantity=stock.max_level - stock.available,
                actor=self.user,
                reason=f"Goods receipt from {self.suppliers[supplier].name}",
                reference=references[key],
            )

    def transfers(self) -> None:
        rng = self.rng
        self.transfer_runs += 1
        source, destination = self.warehouses["SH"], self.warehouses["GZ"]
        if self.transfer_runs % 2 == 0:  # every other time, the other way
            source, destination = destination, source
        candidates = self.free_stock(source, minimum=20)
        for stock in rng.sample(candidates, k=min(4, len(candidates))):
            self.transfer_seq += 1
            inventory.transfer(
                variant=stock.variant,
                source=source,
                destination=destination,
                quantity=rng.randint(5, 15),
                actor=self.user,
                reason=f"Rebalance stock to {destination.code}",
                reference=f"TR-{self.transfer_seq:04d}",
            )

    def adjustments(self) -> None:
        rng = self.rng
        reasons = (
            (2, "Found during cycle count"),
            (-1, "Damaged in handling"),
            (-2, "Missing after stock check"),
            (3, "Supplier over-shipment accepted"),
        )
        for stock in rng.sample(self.free_stock(minimum=5), k=3):
            quantity, reason = rng.choice(reasons)
            inventory.adjust(
                variant=stock.variant,
                warehouse=stock.warehouse,
                quantity=quantity,
                reason=reason,
                actor=self.user,
            )

    def damaged(self) -> None:
        for stock in self.rng.sample(self.free_stock(minimum=5), k=2):
            inventory.dispose(
                variant=stock.variant,
                warehouse=stock.warehouse,
                quantity=self.rng.randint(1, 3),
                kind=MovementKind.DISPOSAL,
                reason="Water damage in storage: scrapped",
                actor=self.user,
            )

    # --- purchasing -------------------------------------------------------------------------

    def price_lists(self) -> None:
        """Every SKU on its line's supplier's price list at its cost (the preferred supplier,
        unless the supplier is inactive), with an MOQ, a pack size and, from 10 packs, a
        5 % break; some SKUs also on a second supplier's list at a higher cost. Plain
        records, written in bulk with their history."""
        rng = self.purchasing_rng
        codes = sorted(self.suppliers)
        entries = []
        for plan in self.plans:
            supplier = self.suppliers[plan.line.supplier]
            moq, pack = rng.choice(((1, 1), (6, 6), (10, 5), (12, 12), (20, 10)))
            for variant in plan.variants:
                entries.append(
                    SupplierPrice(
                        supplier=supplier,
                        variant=variant,
                        supplier_sku=f"{supplier.code[:3]}-{variant.sku}",
                        unit_cost=variant.cost,
                        moq=moq,
                        pack_size=pack,
                        is_preferred=supplier.is_active,
                    )
                )
                if rng.random() < 0.15:
                    other = self.suppliers[rng.choice([c for c in codes if c != supplier.code])]
                    entries.append(
                        SupplierPrice(
                            supplier=other,
                            variant=variant,
                            unit_cost=money(variant.cost * Decimal("1.08")),
                            lead_time_days=other.lead_time_days + 5,
                        )
                    )
        history = {"default_user": self.user, "default_change_reason": "demo data"}
        entries = bulk_create_with_history(entries, SupplierPrice, **history)
        SupplierPriceBreak.objects.bulk_create(
            SupplierPriceBreak(
                price=entry,
                min_quantity=entry.pack_size * 10,
                unit_cost=money(entry.unit_cost * Decimal("0.95")),
            )
            for entry in entries
            if entry.is_preferred and entry.pack_size >= 5
        )

    def purchase_lines(self, supplier_code: str, warehouse: Warehouse, count: int):
        """``count`` regular SKUs of the supplier's lines stocked in ``warehouse``, with a
        quantity that respects their MOQ and pack size."""
        rng = self.purchasing_rng
        stocked = set(
            Stock.objects.filter(warehouse=warehouse).values_list("variant_id", flat=True)
        )
        candidates = sorted(
            (variant for plan in self.plans if plan.role == "regular"
             and plan.line.supplier == supplier_code for variant in plan.variants
             if variant.pk in stocked),
            key=lambda v: v.sku,
        )  # fmt: skip
        prices = {
            p.variant_id: p
            for p in SupplierPrice.objects.filter(supplier__code=supplier_code, is_preferred=True)
        }
        return [
            purchasing.POLineRequest(
                variant,
                round_order_quantity(
                    rng.choice((20, 24, 36, 40)),
                    moq=prices[variant.pk].moq,
                    pack_size=prices[variant.pk].pack_size,
                ),
            )
            for variant in rng.sample(candidates, k=min(count, len(candidates)))
        ]

    def purchasing(self, day: int) -> None:
        """Purchase orders through the purchasing services: one partially received with a
        rejected line (its rejects returned), one received and closed, one amended, one
        cancelled, and today's drafts from the replenishment suggestions."""
        user, sh, gz = self.user, self.warehouses["SH"], self.warehouses["GZ"]
        if day == 30:
            order = purchasing.purchase_order_create(
                supplier=self.suppliers["HZSILK"],
                warehouse=sh,
                lines=self.purchase_lines("HZSILK", sh, 3),
                supplier_reference="HZ-SO-88121",
                actor=user,
            )
            self.partial_po = purchasing.purchase_order_send(order=order, actor=user)
        elif day == 29:
            order = purchasing.purchase_order_create(
                supplier=self.suppliers["JDZ"],
                warehouse=sh,
                lines=self.purchase_lines("JDZ", sh, 2),
                actor=user,
            )
            purchasing.purchase_order_send(order=order, actor=user)
            purchasing.purchase_order_cancel(
                order=order, reason="The kiln is down: nothing ships this month.", actor=user
            )
        elif day == 27:
            order = purchasing.purchase_order_create(
                supplier=self.suppliers["SZORBIT"],
                warehouse=gz,
                lines=self.purchase_lines("SZORBIT", gz, 2),
                actor=user,
            )
            self.complete_po = purchasing.purchase_order_send(order=order, actor=user)
        elif day == 25:
            line = self.partial_po.lines.order_by("line_number").last()
            purchasing.purchase_order_amend(
                order=self.partial_po,
                changes=[purchasing.LineChange(line.pk, quantity=line.quantity + line.quantity)],
                reason="Supplier offered the same price for a double lot.",
                actor=user,
            )
        elif day == 20:
            purchasing.goods_receipt(
                order=self.complete_po,
                lines=[
                    purchasing.ReceiptLineRequest(line.pk, line.quantity, line.quantity)
                    for line in self.complete_po.lines.order_by("line_number")
                ],
                delivery_note="ORB-DN-5531",
                actor=user,
            )
        elif day == 19:
            first, second, _third = self.partial_po.lines.order_by("line_number")
            rejected = min(4, second.quantity - 1)
            self.partial_receipt = purchasing.goods_receipt(
                order=self.partial_po,
                lines=[
                    purchasing.ReceiptLineRequest(first.pk, first.quantity, first.quantity),
                    purchasing.ReceiptLineRequest(
                        second.pk,
                        second.quantity,
                        second.quantity - rejected,
                        rejected,
                        reason="damaged",
                        note="Water stains on the outer cartons.",
                    ),
                ],
                delivery_note="HZ-DN-0193",
                actor=user,
            )
        elif day == 17:
            purchasing.supplier_return_create(
                order=self.partial_po,
                quantities={
                    row.pk: row.rejected
                    for row in self.partial_receipt.lines.filter(rejected__gt=0)
                },
                carrier_reference="SF1400873321",
                note="Stained cartons back to Hangzhou for credit.",
                actor=user,
            )
        elif day == 12:
            purchasing.purchase_order_close(order=self.complete_po, reason="", actor=user)
        elif day == 0:
            ordered = [s.stock_id for s in replenishment_suggestions() if s.supplier_id][:12]
            if ordered:
                purchasing.replenishment_create_orders(stock_ids=ordered, actor=user)

    # --- lots and expiry dates (F-14) -------------------------------------------------------

    LOT_PRODUCT = ("素颜 Suyan", "Vitamin C serum", "Vitamin C", (("30 ml", 189), ("50 ml", 269)))
    # Per lot: (days ago received, expiry in days after today, units of the 30 ml, of the 50 ml).
    # The second lot is short-dated (a clearance buy): first expired first out sells it before
    # the first lot, which came in earlier, and it raises the "expiring lot" alert.
    LOT_RECEIPTS = ((55, 240, 24, 18), (24, 20, 12, 8), (6, 400, 36, 24))

    def lot_tracking(self, day: int) -> None:
        """A face serum sold by lot: tracking switched on before its first receipt, three
        lots with their expiry dates, and orders that take the earliest expiry first."""
        receipts = {received: index for index, (received, *_rest) in enumerate(self.LOT_RECEIPTS)}
        if day == self.LOT_RECEIPTS[0][0]:
            self.lot_variants = self.create_lot_product()
        if day in receipts:
            self.receive_lot(receipts[day])
        if day == self.LOT_RECEIPTS[0][0]:
            self.lot_stock_settings()
            catalog.publish(
                products=Product.objects.filter(pk=self.lot_variants[0].product_id),
                actor=self.user,
            )
        if day == 12:
            self.lot_order({0: 4, 1: 2}, final=SHIPPED, channel=STORE)
        elif day == 1:
            # 10 of the 30 ml: the 8 left of the short-dated lot, then 2 of the first lot.
            self.lot_order({0: 10, 1: 3}, final=ALLOCATED, channel=MARKET)

    def create_lot_product(self) -> list[Variant]:
        """A draft product with two SKUs, created as the admin's form would, then lot
        tracking switched on for its SKUs while they have no stock (the service refuses
        it once they have)."""
        brand, noun, material, sizes = self.LOT_PRODUCT
        line = next(candidate for candidate in LINES if candidate.prefix == "SK")
        number = sum(each.count for each in LINES) + 1  # after the generated products
        title = f"{brand} {noun}"
        history = {"default_user": self.user, "default_change_reason": "demo data"}
        product = Product(
            title=title,
            handle=slugify(title, allow_unicode=True),
            category=self.categories[line.path],
            short_description=f"{noun} by {brand}, 15 % vitamin C. Use by the date on the box.",
            description=(
                f"{title}: a light daily serum with 15 % vitamin C. Sold by lot: every bottle "
                "carries its batch code and expiry date, and orders ship the earliest date first."
            ),
            option1_name="Size",
        )
        bulk_create_with_history([product], Product, **history)
        product = Product.objects.get(handle=product.handle)
        variants = [
            Variant(
                product=product,
                sku=f"{line.prefix}-{number:04d}-{code(size)}",
                barcode=ean13(900_000 + position),
                option1=size,
                price=money(price - Decimal("0.10")),
                cost=money(price * Decimal("0.42")),
                weight_grams=60 + 40 * position,
            )
            for position, (size, price) in enumerate(sizes)
        ]
        bulk_create_with_history(variants, Variant, **history)
        variants = list(product.variants.order_by("sku"))
        ProductImage.objects.create(
            product=product,
            url=f"https://placehold.co/600x600/png?text={line.prefix}{number:04d}",
            alt_text=title,
        )
        product.tags.add(
            self.tag(Tag.Kind.BRAND, brand),
            self.tag(Tag.Kind.MATERIAL, material),
            self.tag(Tag.Kind.LABEL, "New arrival"),
        )
        for variant in variants:
            inventory.variant_track_lots(variant, on=True, actor=self.user)
        return variants

    def receive_lot(self, index: int) -> None:
        _received, expires_in, *quantities = self.LOT_RECEIPTS[index]
        today = timezone.localdate()
        expiry = timezone.localdate(self.clock.end) + timedelta(days=expires_in)
        reference = self.next_po("GZBEAUTY")
        for variant, quantity in zip(self.lot_variants, quantities, strict=True):
            inventory.receive(
                variant=variant,
                warehouse=self.warehouses["SH"],
                quantity=quantity,
                actor=self.user,
                reason=f"Goods receipt from {self.suppliers['GZBEAUTY'].name}",
                reference=reference,
                lot_code=f"VC{variant.option1.split()[0]}-{today:%y%m%d}",
                expiry=expiry,
            )

    def lot_stock_settings(self) -> None:
        """Reorder point, maximum and bin of the serum's rows, as a clerk sets them."""
        rows = list(
            Stock.objects.filter(variant__in=self.lot_variants).order_by(*NATURAL_STOCK_ORDER)
        )
        bins = list(
            Location.objects.filter(warehouse=self.warehouses["SH"], zone=Zone.STORAGE).order_by(
                "code"
            )
        )
        for stock in rows:
            stock.reorder_point, stock.safety_stock, stock.max_level = 12, 6, 90
            stock.default_location = self.warehouse_rng.choice(bins)
        bulk_update_with_history(
            rows,
            Stock,
            ["reorder_point", "safety_stock", "max_level", "default_location"],
            default_user=self.user,
            default_change_reason="stock settings",
        )

    def lot_order(self, quantities: dict[int, int], *, final: str, channel: str) -> None:
        rng = self.warehouse_rng
        warehouse = self.warehouses["SH"]
        self.order_seq += 1
        name, login = rng.choice(CUSTOMERS)
        order = orders.order_create(
            number=f"SR-{timezone.now():%y%m%d}-{self.order_seq:03d}",
            customer_name=name,
            customer_email=f"{login}@example.com",
            lines=[
                orders.LineRequest(self.lot_variants[i], units, self.lot_variants[i].price)
                for i, units in quantities.items()
            ],
            channel=channel,
            shipping_address=rng.choice(ADDRESSES),
            warehouse=warehouse,
            actor=self.user,
        )
        orders.order_allocate(order=order, warehouse=warehouse, actor=self.user)
        if final == SHIPPED:
            orders.order_ship(
                order=order,
                carrier="SF Express",
                tracking_number=f"SF{order.pk:010d}",
                actor=self.user,
            )

    # --- stock counts, ABC classes, transfers, an import (F-16, F-17, F-50, F-61) ------------

    def warehouse_operations(self, day: int) -> None:
        """Through ``warehouse.services`` and the import runs, in the last week: a transfer
        received with a short line, one in transit and a draft; the SKUs classified A/B/C, a
        count of Shanghai's A class applied with two differences, a count of Guangzhou's
        storage zone half done, the cycle counts the nightly job plans; a stock sheet
        applied. Units move only between rows that keep well above what the orders of the
        week pick, so that those orders are the same as without this."""
        user, sh, gz = self.user, self.warehouses["SH"], self.warehouses["GZ"]
        if day == 6:
            self.received_transfer = self.transfer(
                sh, gz, 3, "Rebalance: Guangzhou runs short of fast movers"
            )
            self.clock.go_to(day, hour=17)
            warehousing.transfer_dispatch(transfer=self.received_transfer, actor=user)
        elif day == 4:
            self.clock.go_to(day, hour=16)
            lines = list(self.received_transfer.lines.order_by("line_number"))
            short = lines[1]
            received = {line.pk: warehousing.LineReceipt(line.quantity) for line in lines}
            received[short.pk] = warehousing.LineReceipt(
                short.quantity - 2,
                reason=DiscrepancyReason.SHORT,
                note="Carton arrived re-taped: 2 units missing. Claim filed with the carrier.",
            )
            warehousing.transfer_receive(
                transfer=self.received_transfer, received=received, actor=user
            )
        elif day == 3:
            self.clock.go_to(day, hour=18)
            warehousing.abc_classify()
        elif day == 2:
            self.applied_count(sh)
        elif day == 1:
            self.count_in_progress(gz)
            in_transit = self.transfer(gz, sh, 2, "Back to Shanghai for the Tmall flagship")
            self.clock.go_to(day, hour=18)
            warehousing.transfer_dispatch(transfer=in_transit, actor=user)
        elif day == 0:
            self.transfer(sh, gz, 2, "Top-up for the Guangzhou live-stream next week")
            self.stock_import(sh)
            warehousing.cycle_counts_run(today=timezone.localdate(), actor=user)

    def transfer(self, source: Warehouse, destination: Warehouse, count: int, note: str):
        """A draft transfer of ``count`` SKUs with at least 20 free at the source and, where
        there are such SKUs, 8 at the destination (so the orders of the week still find what
        they found)."""
        rng = self.warehouse_rng
        stocked = {s.variant_id for s in self.free_stock(destination, minimum=8)}
        sources = self.free_stock(source, minimum=20)
        candidates = [s for s in sources if s.variant_id in stocked] or sources
        picked = rng.sample(candidates, k=min(count, len(candidates)))
        return warehousing.transfer_create(
            source=source,
            destination=destination,
            lines=[warehousing.TransferLineRequest(s.variant, rng.randint(4, 10)) for s in picked],
            note=note,
            carrier_reference=f"DB{rng.randint(10**9, 10**10 - 1)}",
            actor=self.user,
        )

    def applied_count(self, wh: Warehouse) -> None:
        """The A class of ``wh`` counted in one go: every line counted, two differences with
        their reasons, then applied."""
        rng = self.warehouse_rng
        self.clock.go_to(2, hour=16)
        count = warehousing.stock_count_plan(
            warehouse=wh,
            scope=StockCount.Scope.ABC,
            abc_class=AbcClass.A,
            note="Monthly count of the fast movers",
            actor=self.user,
        )
        count = warehousing.stock_count_start(count=count, actor=self.user)
        self.clock.go_to(2, hour=18)
        lines = list(count.lines.select_related("stock").order_by("line_number"))
        spare = [line for line in lines if line.stock.on_hand - line.stock.allocated >= 2]
        found_missing = (
            (1, "Found in the returns cage, not booked back"),
            (-1, "Not in its bin: presumed picked without a scan"),
        )
        differences = {
            line.pk: difference
            for line, difference in zip(
                rng.sample(spare, k=min(2, len(spare))), found_missing, strict=False
            )
        }
        entries = []
        for line in lines:
            change, reason = differences.get(line.pk, (0, ""))
            entries.append(
                warehousing.CountEntry(
                    line_id=line.pk, counted=line.expected + change, reason=reason
                )
            )
        warehousing.stock_count_record(count=count, entries=entries, actor=self.user)
        self.clock.go_to(2, hour=19)
        warehousing.stock_count_apply(count=count, actor=self.user)

    def count_in_progress(self, wh: Warehouse) -> None:
        """The storage zone of ``wh``: started, aisle A counted (one difference), the rest
        still to do."""
        self.clock.go_to(1, hour=16)
        count = warehousing.stock_count_plan(
            warehouse=wh,
            scope=StockCount.Scope.ZONE,
            zone=Zone.STORAGE,
            note="Wall-to-wall count of the storage racks, aisle by aisle",
            actor=self.user,
        )
        count = warehousing.stock_count_start(count=count, actor=self.user)
        self.clock.go_to(1, hour=17)
        lines = count.lines.order_by("line_number")
        aisle_a = list(lines.filter(stock__default_location__code__startswith="A-"))
        aisle_a = aisle_a or list(lines[: max(1, lines.count() // 3)])
        over = self.warehouse_rng.choice(aisle_a)
        warehousing.stock_count_record(
            count=count,
            entries=[
                warehousing.CountEntry(
                    line_id=line.pk,
                    counted=line.expected + (2 if line is over else 0),
                    reason="Two units on the wrong shelf (belong here)" if line is over else "",
                )
                for line in aisle_a
            ],
            actor=self.user,
        )

    def stock_import(self, wh: Warehouse) -> None:
        """A five-row stock sheet (mode "add"): stock back from a pop-up store, one item
        written off; checked, then applied by the demo superuser."""
        from backoffice.spreadsheets.runs import import_run_confirm, import_run_start

        rng = self.warehouse_rng
        self.clock.go_to(0, hour=17)
        picked = rng.sample(self.free_stock(wh, minimum=5), k=5)
        rows = ["sku,warehouse,quantity,reason"]
        for index, stock in enumerate(sorted(picked, key=lambda s: s.variant.sku)):
            if index == 2:
                rows.append(f"{stock.variant.sku},{wh.code},-1,Display sample: soiled")
            else:
                quantity = rng.choice((2, 3, 4, 6))
                rows.append(f"{stock.variant.sku},{wh.code},{quantity},Back from the pop-up store")
        run = import_run_start(
            kind="stock",
            name="popup-store-returns.csv",
            data=("\n".join(rows) + "\n").encode(),
            options={"mode": "add"},
            actor=self.user,
        )
        import_run_confirm(run=run, actor=self.user)

    # --- orders ---------------------------------------------------------------------------

    def place_order(self, days_ago: int, final: str, channel: str, priority: str) -> None:
        rng = self.rng
        warehouse = self.warehouses["SH" if rng.random() < 0.7 else "GZ"]
        self.order_seq += 1
        number = f"SR-{timezone.now():%y%m%d}-{self.order_seq:03d}"
        if final == SHIPPED and days_ago == 7:
            # This one buys the whole limited edition: it goes "sold out" by itself.
            variant = self.limited.variants[0]
            lines = [orders.LineRequest(variant, 3, variant.price)]
            warehouse = self.warehouses["SH"]
        else:
            biggest = 8 if channel == MARKET else 3
            candidates = self.free_stock(warehouse, minimum=biggest)
            picked = rng.sample(candidates, k=min(len(candidates), rng.choice((1, 1, 2, 3))))
            lines = [
                orders.LineRequest(s.variant, rng.randint(1, biggest), s.variant.price)
                for s in picked
            ]
            if final == PARTIALLY_SHIPPED:  # two units at least, so that one can stay behind
                lines[0] = orders.LineRequest(lines[0].variant, 2, lines[0].unit_price)
        name, login = rng.choice(CUSTOMERS)
        order = orders.order_create(
            number=number,
            customer_name=name,
            customer_email=f"{login}@example.com",
            lines=lines,
            channel=channel,
            priority=priority,
            shipping_address=rng.choice(ADDRESSES),
            warehouse=warehouse,
            actor=self.user,
        )
        if final == RECEIVED:
            return
        if final == REVIEWED:
            orders.order_review(order=order, actor=self.user)
            return
        if final == CANCELLED:
            orders.order_cancel(order=order, actor=self.user)
            return
        orders.order_allocate(order=order, warehouse=warehouse, actor=self.user)
        if final == CANCELLED_AFTER_ALLOCATION:
            orders.order_cancel(order=order, actor=self.user)
            return
        if final in (PICKED, PACKED):
            orders.order_pick(order=order, actor=self.user)
        if final == PACKED:
            orders.order_pack(order=order, actor=self.user)
        if final in (SHIPPED, DELIVERED, PARTIALLY_SHIPPED):
            first = order.lines.order_by("pk").first()
            orders.order_ship(
                order=order,
                carrier="SF Express",
                tracking_number=f"SF{order.pk:010d}",
                quantities={first.pk: 1} if final == PARTIALLY_SHIPPED else None,
                actor=self.user,
            )
        if final == DELIVERED:
            orders.order_deliver(order=order, actor=self.user)

    def customer_return(self) -> None:
        order = Order.objects.filter(status=Order.Status.SHIPPED).order_by("-pk").first()
        line = order.lines.select_related("variant").order_by("pk").first()
        inventory.receive(
            variant=line.variant,
            warehouse=order.warehouse,
            quantity=1,
            kind=MovementKind.RETURN,
            reason="Customer return: wrong size, resellable",
            reference=order.number,
            actor=self.user,
        )

    # --- delisting ------------------------------------------------------------------------

    def delist_candidates(self, path_part: str, count: int) -> list[Product]:
        held = Allocation.objects.filter(stock__variant__product=OuterRef("pk"), quantity__gt=0)
        products = (
            Product.objects.filter(
                status__in=(ListingStatus.ON_SALE, ListingStatus.SOLD_OUT),
                category__path__contains=path_part,
            )
            .exclude(Exists(held))
            .exclude(tags__name__in=("New arrival", "Limited edition"))
            .exclude(variants__track_lots=True)
            .distinct()
            .order_by("handle")
        )
        products = list(products)
        return self.rng.sample(products, k=min(count, len(products)))

    def delist(
        self, products: list[Product], reason: str, note: str = "", disposition: str = ""
    ) -> None:
        selection = Product.objects.filter(pk__in=[p.pk for p in products])
        catalog.delist(products=selection, reason=reason, note=note, actor=self.user)
        if disposition:
            inventory.dispose_remaining(
                products=selection, disposition=disposition, note=note, actor=self.user
            )

    def delistings(self, day: int) -> None:
        self.clock.go_to(day, hour=15)
        if day == 60:
            self.seasonal = self.delist_candidates("Jackets", 2)
            self.delist(
                self.seasonal,
                DelistReason.SEASONAL,
                "Winter range off the shop for spring and summer.",
                disposition="keep",
            )
        elif day == 40:
            self.delist(
                self.delist_candidates("Headphones", 1),
                DelistReason.QUALITY,
                "Left earbud fails to pair; QA rejected the batch.",
                disposition="scrap",
            )
        elif day == 27:
            self.delist(
                self.delist_candidates("Yoga", 2),
                DelistReason.SUPPLIER_DISCONTINUED,
                "Yiwu Sports Goods stopped trading; unsold stock goes back.",
                disposition="return_to_supplier",
            )
        elif day == 20:
            sold_out = Product.objects.filter(status=ListingStatus.SOLD_OUT).order_by("handle")[:1]
            self.delist(list(sold_out), DelistReason.OUT_OF_STOCK, "No reorder planned.")
        elif day == 15:
            cables = [p for p in self.delist_candidates("Cables", 10) if "Lightning" in p.title]
            self.delist(
                cables[:1] or self.delist_candidates("Cables", 1),
                DelistReason.OBSOLETE,
                "Replaced by USB-C across the range.",
                disposition="donate",
            )
        elif day == 10:
            catalog.relist(products=Product.objects.filter(pk=self.seasonal[0].pk), actor=self.user)
        elif day == 6:
            self.delist(
                self.delist_candidates("Face care", 1),
                DelistReason.COMPLIANCE,
                "Listing claims 'whitening' without the required registration.",
            )
        elif day == 2:
            self.delist(
                self.delist_candidates("Towels", 1),
                DelistReason.OTHER,
                "Duplicate listing: merged into the bath towel range.",
            )
