"""Stock has one writer: only inventory/services/ creates movements or writes levels.

The guard reads the project's source (not tests, not migrations) with ``ast``
and reports every place that creates a ``Movement`` or writes ``on_hand`` /
``allocated``. It is tested on samples first, so that a guard that finds
nothing because it looks at nothing cannot pass.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("backoffice", "catalog", "inventory", "orders", "suppliers", "reviews", "warehouse")
THE_WRITER = Path("inventory/services")  # the package: levels, allocation, bulk, history

LEVELS = {"on_hand", "allocated"}
CREATORS = {"create", "get_or_create", "update_or_create", "bulk_create"}
# Ways to name the ledger and the stock rows in an expression: Movement.objects,
# stock.movements, Stock._default_manager, variant.stocks…
LEDGER_NAMES = {"Movement", "movements", "movement_set"}
STOCK_NAMES = {"Stock", "stocks", "stock_set"}
RAW_SQL = re.compile(
    r"\b(insert\s+into|update|delete\s+from)\s+[\"'`]?inventory_(movement|stock)\b", re.I
)


def _names(node: ast.AST) -> set[str]:
    """Every identifier and attribute name used in ``node``."""
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def _strings(node: ast.AST) -> set[str]:
    return {
        child.value
        for child in ast.walk(node)
        if isinstance(child, ast.Constant) and isinstance(child.value, str)
    }


def _keywords(call: ast.Call) -> set[str]:
    """Keyword names of a call, including ``**{"on_hand": …}`` and ``defaults={…}`` keys."""
    names = {kw.arg for kw in call.keywords if kw.arg}
    for kw in call.keywords:
        if kw.arg in (None, "defaults", "create_defaults") and isinstance(kw.value, ast.Dict):
            names |= {k.value for k in kw.value.keys if isinstance(k, ast.Constant)}
    return names


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _receiver_names(call: ast.Call) -> set[str]:
    return _names(call.func.value) if isinstance(call.func, ast.Attribute) else set()


def find_stock_writes(source: str, filename: str = "<sample>") -> list[str]:
    """Places in ``source`` that create movements or write stock levels."""
    findings = []

    def report(node: ast.AST, what: str) -> None:
        findings.append(f"{filename}:{node.lineno}: {what}")

    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call):
            name = _callee(node)
            receiver = _receiver_names(node)
            keywords = _keywords(node)
            if name in LEDGER_NAMES:
                report(node, "builds a Movement")
            elif name in CREATORS and receiver & LEDGER_NAMES:
                report(node, f"creates movements with {name}()")
            elif name == "insert_select" and node.args and _names(node.args[0]) & LEDGER_NAMES:
                report(node, "inserts movements with insert_select()")
            if name == "update" and keywords & LEVELS:
                report(node, "writes a stock level with update()")
            elif name in CREATORS and receiver & STOCK_NAMES and keywords & LEVELS:
                report(node, f"sets a stock level with {name}()")
            elif name in STOCK_NAMES and keywords & LEVELS:
                report(node, "builds a Stock with a level")
            elif (
                name == "insert_select"
                and node.args
                and _names(node.args[0]) & STOCK_NAMES
                and _strings(node) & LEVELS
            ):
                report(node, "inserts stock levels with insert_select()")
            elif name in ("bulk_update", "save") and _strings(node) & LEVELS:
                report(node, f"saves a stock level with {name}()")
            elif (
                name == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in LEVELS
            ):
                report(node, "sets a stock level with setattr()")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Attribute) and leaf.attr in LEVELS:
                        report(node, f"assigns .{leaf.attr}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and RAW_SQL.search(node.value)
        ):
            report(node, "writes the stock tables with raw SQL")
    return findings


def project_files(root: Path) -> list[Path]:
    files = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root)
            if "migrations" not in relative.parts:
                files.append(relative)
    return files


def is_the_writer(relative: Path) -> bool:
    return relative == THE_WRITER.with_suffix(".py") or THE_WRITER in relative.parents


def scan(root: Path) -> list[str]:
    findings = []
    for relative in project_files(root):
        if is_the_writer(relative):
            continue
        findings += find_stock_writes((root / relative).read_text(), str(relative))
    return findings


# --- the detector, on samples -------------------------------------------------------

VIOLATIONS = [
    "Movement.objects.create(stock=s, kind='receipt', quantity=1, on_hand_after=1)",
    "Movement(stock=s, quantity=1).save()",
    "models.Movement(stock=s)",
    "Movement.objects.bulk_create([m])",
    "Movement.objects.get_or_create(stock=s, reference='x')",
    "stock.movements.create(quantity=3)",
    "insert_select(Movement, {'stock_id': F('pk')}, rows)",
    "insert_select(inventory.models.Movement, columns, rows)",
    "Stock.objects.filter(pk=1).update(on_hand=F('on_hand') + 1)",
    "Stock.objects.update(allocated=0)",
    "stocks.update(on_hand=5, backorders_allowed=True)",
    "qs.update(**{'on_hand': 0})",
    "Stock.objects.create(variant=v, warehouse=w, on_hand=10)",
    "Stock.objects.get_or_create(variant=v, warehouse=w, defaults={'on_hand': 10})",
    "Stock(variant=v, warehouse=w, allocated=2)",
    "insert_select(Stock, {'variant_id': F('pk'), 'on_hand': Value(5)}, variants)",
    "stock.on_hand += 1",
    "stock.allocated -= quantity",
    "stock.on_hand = 0",
    "self.stock.on_hand, n = 3, 4",
    "row.on_hand: int = 7",
    "Stock.objects.bulk_update(rows, ['on_hand'])",
    "stock.save(update_fields=['allocated'])",
    "setattr(stock, 'on_hand', 3)",
    "cursor.execute('UPDATE inventory_stock SET on_hand = 0')",
    'cursor.execute("insert into \\"inventory_movement\\" (quantity) values (1)")',
    "cursor.execute('DELETE FROM inventory_movement')",
]

ALLOWED = [
    "class Movement(models.Model):\n    quantity = models.IntegerField()",
    "on_hand = models.IntegerField(default=0)",
    "Movement.objects.filter(stock=s).aggregate(total=Sum('quantity'))",
    "Stock.objects.filter(on_hand__gt=F('allocated')).values('on_hand', 'allocated')",
    "qs.annotate(_on_hand=Sum('stocks__on_hand'), available=F('on_hand') - F('allocated'))",
    "Stock.objects.create(variant=v, warehouse=w, reorder_point=5)",
    "Stock.objects.filter(pk=1).update(reorder_point=3, safety_stock=1)",
    "readonly_fields = ['on_hand', 'allocated', 'available']",
    "inventory.receive(variant=v, warehouse=w, quantity=3, actor=user)",
    "_insert_events(products, kind='delisted', on_hand=Coalesce(x, 0))",
    "total = stock.on_hand - stock.allocated",
    "def on_hand(self, obj):\n    return obj._on_hand",
    "cursor.execute('SELECT on_hand FROM inventory_stock')",
    "Product.objects.filter(pk=1).update(status='delisted')",
]


@pytest.mark.parametrize("sample", VIOLATIONS)
def test_the_guard_finds_a_write(sample):
    assert find_stock_writes(sample), sample


@pytest.mark.parametrize("sample", ALLOWED)
def test_the_guard_leaves_reads_and_other_fields_alone(sample):
    assert find_stock_writes(sample) == []


def test_the_guard_reports_file_and_line():
    sample = textwrap.dedent(
        """
        def cheat(stock):
            stock.on_hand += 1
            stock.save()
        """
    )
    assert find_stock_writes(sample, "orders/cheat.py") == ["orders/cheat.py:3: assigns .on_hand"]


def test_the_guard_recognises_the_real_writer():
    # The one legitimate writer is full of what the guard looks for.
    findings = []
    for path in sorted((ROOT / THE_WRITER).glob("*.py")):
        findings += find_stock_writes(path.read_text(), str(path.relative_to(ROOT)))
    kinds = {finding.split(": ", 1)[1] for finding in findings}
    assert "creates movements with create()" in kinds
    assert "inserts movements with insert_select()" in kinds
    assert "writes a stock level with update()" in kinds


def test_the_guard_catches_a_violation_planted_in_a_project(tmp_path):
    for app in APPS:
        (tmp_path / app / "migrations").mkdir(parents=True)
    (tmp_path / "catalog" / "services.py").write_text("def ok():\n    return 1\n")
    (tmp_path / "inventory" / "services").mkdir()
    (tmp_path / "inventory" / "services" / "levels.py").write_text("stock.on_hand += 1\n")  # ok
    (tmp_path / "orders" / "migrations" / "0002_data.py").write_text("s.on_hand = 1\n")
    (tmp_path / "orders" / "admin.py").write_text(
        "def fix(modeladmin, request, queryset):\n"
        "    queryset.update(on_hand=0)\n"
        "    Movement.objects.create(stock=queryset[0], quantity=-1)\n"
    )
    assert scan(tmp_path) == [
        "orders/admin.py:2: writes a stock level with update()",
        "orders/admin.py:3: creates movements with create()",
    ]


# --- the guard, on the project ---------------------------------------------------------


def test_only_inventory_services_writes_stock():
    files = project_files(ROOT)
    assert THE_WRITER / "levels.py" in files
    assert len(files) > 20, files  # the scan really reads the project
    assert scan(ROOT) == []
