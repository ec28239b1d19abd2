"""Stock levels from a spreadsheet: many rows set (or changed) in a few statements.

``stock_import`` is the set-based sibling of ``adjust``: the sheet says "SKU X
in warehouse W: 12" (or "+12"), and every row that changes a level becomes one
adjustment movement citing the import run and the row, in the caller's
transaction. It is built for files of 100,000 rows: a handful of statements
per call whatever the number of rows (the importers call it once per chunk).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from backoffice.db import copy_rows, reserve_ids, update_rows
from catalog.models import Product, Variant
from catalog.services import listing_refresh_sold_out

from ..exceptions import InvalidOperation
from ..models import Movement, MovementKind, Stock, Warehouse
from ._base import WAREHOUSE_INACTIVE, _actor_id

IMPORT_REASON = "import"
MODES = ("set", "add")

UNKNOWN_MODE = gettext_lazy("Unknown stock import mode %(mode)r: use “set” or “add”.")
IMPORT_QUANTITY_NOT_WHOLE = gettext_lazy("The quantity must be a whole number; got %(quantity)s.")
IMPORT_NEGATIVE = gettext_lazy("Stock cannot be negative; got %(quantity)s.")
IMPORT_BELOW_ZERO = gettext_lazy(
    "%(sku)s at %(warehouse)s: %(on_hand)s on hand %(change)s would leave %(after)s, below zero."
)
IMPORT_BELOW_ALLOCATED = gettext_lazy(
    "%(sku)s at %(warehouse)s: %(after)s on hand would be below the %(allocated)s units "
    "allocated to orders; release or ship them first."
)
IMPORT_LOT_TRACKED = gettext_lazy(
    "%(sku)s is tracked by lot: its stock is received through the receiving form, lot by lot, "
    "not by a stock import."
)
IMPORT_DUPLICATE = gettext_lazy(
    "%(sku)s at %(warehouse)s appears twice in the file (rows %(first)s and %(row)s): "
    "give one row per SKU and warehouse."
)
IMPORT_UNKNOWN_VARIANT = gettext_lazy("Unknown SKU (id %(variant)s).")
IMPORT_UNKNOWN_WAREHOUSE = gettext_lazy("Unknown warehouse (id %(warehouse)s).")


class StockLine(NamedTuple):
    """One row of a stock sheet, resolved: the SKU and warehouse as ids.

    Named tuples, not dataclasses: an import makes one of these and two
    outcomes per row, and a frozen dataclass costs several times as much to build.
    """

    row: int
    variant_id: int
    warehouse_id: int
    quantity: int
    note: str = ""


class StockOutcome(NamedTuple):
    row: int
    sku: str
    warehouse: str
    before: int
    after: int

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class StockRefusal:
    row: int
    field: str  # "quantity", "sku" or "warehouse": the importer maps it to its column
    message: str


@dataclass
class StockImportResult:
    outcomes: dict[int, StockOutcome] = field(default_factory=dict)  # row -> outcome
    refused: list[StockRefusal] = field(default_factory=list)
    movements: int = 0

    @property
    def ok(self) -> bool:
        return not self.refused


def _lines(rows: Iterable[StockLine | Sequence]) -> list[StockLine]:
    return [row if isinstance(row, StockLine) else StockLine(*row) for row in rows]


def _has_lot_tracking() -> bool:
    # Lot tracking (Variant.track_lots) arrives with F-14; until then no SKU is tracked by lot.
    return any(f.name == "track_lots" for f in Variant._meta.concrete_fields)


def stock_import(
    *,
    rows: Iterable[StockLine | Sequence],
    mode: str,
    reference: str,
    actor: Any,
    settled_products: Collection[int] = (),
    created_variants: Mapping[int, Mapping[str, Any]] | None = None,
    warehouses: Mapping[int, Mapping[str, Any]] | None = None,
    new_keys: Callable[[type[Stock], int], list[int]] = reserve_ids,
) -> StockImportResult:
    """Set (``mode="set"``) or change (``mode="add"``) stock levels from sheet rows.

    ``rows`` are ``(row number, variant id, warehouse id, quantity[, note])``.
    Runs in the caller's transaction and writes only when every row is
    accepted; otherwise returns the refusals (``result.refused``) and writes
    nothing. Refuses per row: a quantity that is not a whole number, a
    negative level to set, a result below zero or below the units allocated
    to orders, an inactive or unknown warehouse, an unknown SKU, a SKU
    tracked by lot (received lot by lot through the receiving form) and the
    same SKU and warehouse twice.

    Writes: the missing stock rows (bulk), then — after locking the affected
    rows in primary-key order — one ``adjustment`` movement per changed row
    with reason "import" (plus the row's note) and reference
    ``"<reference>/row <n>"``, the new levels (one ``UPDATE … FROM (VALUES …)``
    on PostgreSQL), and the sold-out / back-in-stock status of the products
    touched. Rows that change nothing write nothing. A constant number of
    statements whatever the number of rows.

    ``settled_products``: products whose listing status the caller has just
    set from these same levels (products created by a catalog import, see
    ``catalog.imports.engine``); their status is not looked at again.

    ``created_variants``: SKUs the caller created in this transaction, by id, with
    their ``sku``, ``product_id`` and ``allow_backorder``. Nobody else can see them
    yet, so they have no stock rows: they are not looked up, and their new stock
    rows are written without the savepoint that a concurrent writer of the same
    rows needs.
    ``warehouses``: every warehouse by id, with its ``code`` and ``is_active``, when
    the caller has read them in this transaction. ``new_keys(Stock, n)``: where the
    keys of new stock rows come from on PostgreSQL (the sequence, or keys the caller
    reserved ahead). With all three, a sheet of new SKUs costs no query: only the
    COPY of its stock rows and movements.
    """
    if mode not in MODES:
        raise InvalidOperation(UNKNOWN_MODE % {"mode": mode})
    lines = _lines(rows)
    result = StockImportResult()
    if not lines:
        return result

    created = created_variants or {}
    variant_ids = sorted({line.variant_id for line in lines} - created.keys())
    warehouse_ids = sorted({line.warehouse_id for line in lines})
    variants: dict[int, Mapping[str, Any]] = {pk: {**v, "pk": pk} for pk, v in created.items()}
    locked: dict[tuple[int, int], dict] = {}
    if variant_ids:
        # Existing rows first, locked in primary-key order (the order every writer uses).
        locked = {
            (s["variant_id"], s["warehouse_id"]): s
            for s in Stock.objects.filter(
                variant_id__any_of=variant_ids, warehouse_id__any_of=warehouse_ids
            )
            .order_by("pk")
            .select_for_update()
            .values("pk", "variant_id", "warehouse_id", "on_hand", "allocated")
        }
        variant_columns = ["pk", "sku", "product_id", "allow_backorder"]
        if _has_lot_tracking():
            variant_columns.append("track_lots")
        variants.update(
            (v["pk"], v)
            for v in Variant.objects.filter(pk__any_of=variant_ids).values(*variant_columns)
        )
    if warehouses is None:
        warehouses = {
            w["pk"]: w
            for w in Warehouse.objects.filter(pk__any_of=warehouse_ids).values(
                "pk", "code", "is_active"
            )
        }

    def refuse(line: StockLine, column: str, message: Any) -> None:
        result.refused.append(StockRefusal(line.row, column, str(message)))

    seen: dict[tuple[int, int], int] = {}
    accepted: list[tuple[StockLine, dict | None, int]] = []  # line, stock row, new level
    for line in lines:
        variant = variants.get(line.variant_id)
        warehouse = warehouses.get(line.warehouse_id)
        quantity = line.quantity
        if variant is None:
            refuse(line, "sku", IMPORT_UNKNOWN_VARIANT % {"variant": line.variant_id})
            continue
        if warehouse is None:
            refuse(line, "warehouse", IMPORT_UNKNOWN_WAREHOUSE % {"warehouse": line.warehouse_id})
            continue
        names = {"sku": variant["sku"], "warehouse": warehouse["code"]}
        key = (line.variant_id, line.warehouse_id)
        if key in seen:
            refuse(line, "sku", IMPORT_DUPLICATE % {**names, "first": seen[key], "row": line.row})
            continue
        seen[key] = line.row
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            refuse(line, "quantity", IMPORT_QUANTITY_NOT_WHOLE % {"quantity": quantity})
            continue
        if mode == "set" and quantity < 0:
            refuse(line, "quantity", IMPORT_NEGATIVE % {"quantity": quantity})
            continue
        if variant.get("track_lots"):
            refuse(line, "sku", IMPORT_LOT_TRACKED % names)
            continue
        if not warehouse["is_active"]:
            refuse(line, "warehouse", WAREHOUSE_INACTIVE % {"warehouse": warehouse["code"]})
            continue
        stock = locked.get(key)
        on_hand = stock["on_hand"] if stock else 0
        allocated = stock["allocated"] if stock else 0
        after = quantity if mode == "set" else on_hand + quantity
        if after < 0:
            change = f"{quantity:+d}"
            refuse(
                line,
                "quantity",
                IMPORT_BELOW_ZERO % {**names, "on_hand": on_hand, "change": change, "after": after},
            )
            continue
        if after < allocated and after < on_hand:  # a backorder SKU may still be raised
            refuse(
                line,
                "quantity",
                IMPORT_BELOW_ALLOCATED % {**names, "after": after, "allocated": allocated},
            )
            continue
        result.outcomes[line.row] = StockOutcome(
            line.row, variant["sku"], warehouse["code"], on_hand, after
        )
        if after != on_hand:
            accepted.append((line, stock, after))
    if result.refused or not accepted:
        return result

    missing = [(line, after) for line, stock, after in accepted if stock is None]
    if missing:
        locked.update(_create_rows(missing, variants, created, new_keys))

    now = timezone.now()
    batch = uuid.uuid4()
    actor_id = _actor_id(actor)
    movements: list[dict] = []
    levels: list[tuple[int, int]] = []
    products: set[int] = set()
    kind = MovementKind.ADJUSTMENT.value
    for line, _stock, after in accepted:
        stock = locked[(line.variant_id, line.warehouse_id)]
        before = stock["on_hand"]
        if mode == "add":  # a row another writer created meanwhile: add to what it holds
            after = before + line.quantity
        if after == before:
            continue
        outcome = result.outcomes[line.row]
        if outcome.before != before or outcome.after != after:  # changed meanwhile
            result.outcomes[line.row] = StockOutcome(
                line.row, outcome.sku, outcome.warehouse, before, after
            )
        note = line.note.strip()
        movements.append(
            {
                "stock_id": stock["pk"],
                "kind": kind,
                "quantity": after - before,
                "on_hand_after": after,
                "reason": (f"{IMPORT_REASON}: {note}" if note else IMPORT_REASON)[:255],
                "reference": f"{reference}/row {line.row}"[:120],
                "batch": batch,
                "actor_id": actor_id,
                "created_at": now,
            }
        )
        if not stock.get("written"):  # a row created by this call holds its level already
            levels.append((stock["pk"], after))
        products.add(variants[line.variant_id]["product_id"])
    levels.sort()
    _insert(Movement, movements)
    update_rows(Stock, ["on_hand"], levels)
    result.movements = len(movements)
    products.difference_update(settled_products)
    if products:
        listing_refresh_sold_out(
            products=Product.objects.filter(pk__any_of=sorted(products)), actor=actor
        )
    return result


def _insert(model, rows: list[dict]) -> None:
    """Insert ``rows`` (field attnames → values; the other fields take their defaults)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=5000)
        return
    fields = [f for f in model._meta.concrete_fields if f.attname in rows[0] or not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields if f.attname not in rows[0]}
    take = itemgetter(*(f.attname for f in fields))
    copy_rows(model, [f.column for f in fields], (take({**defaults, **row}) for row in rows))


def _create_rows(
    missing: list[tuple[StockLine, int]],
    variants: Mapping[int, Mapping[str, Any]],
    created: Collection[int] = (),
    new_keys: Callable[[type[Stock], int], list[int]] = reserve_ids,
) -> dict[tuple[int, int], dict]:
    """Create the stock rows the lines need, locked by this transaction; returns them by
    (variant, warehouse).

    On PostgreSQL each new row is written with the level its line sets (its
    movement follows in the same transaction), keys reserved from the sequence,
    by COPY in a savepoint — without one when every SKU is among ``created``, which
    no other writer can see. If another writer created one of the rows meanwhile
    (a unique violation), or on other databases: empty rows are inserted,
    skipping existing ones, and all are read back locked; their levels are
    then written like those of the rows that existed.
    """
    if connection.vendor == "postgresql":
        keys = new_keys(Stock, len(missing))
        rows = []
        for (line, after), key in zip(missing, keys, strict=True):
            rows.append(
                {
                    "id": key,
                    "variant_id": line.variant_id,
                    "warehouse_id": line.warehouse_id,
                    "on_hand": after,
                    "allocated": 0,
                    "backorders_allowed": variants[line.variant_id]["allow_backorder"],
                }
            )
        try:
            if all(line.variant_id in created for line, _after in missing):
                _insert(Stock, rows)
            else:
                with transaction.atomic():
                    _insert(Stock, rows)
        except IntegrityError:
            pass  # created meanwhile by another writer: the general way below
        else:
            return {
                (row["variant_id"], row["warehouse_id"]): {
                    "pk": row["id"], "on_hand": 0, "allocated": 0, "written": True,
                }
                for row in rows
            }  # fmt: skip
    Stock.objects.bulk_create(
        [
            Stock(
                variant_id=line.variant_id,
                warehouse_id=line.warehouse_id,
                backorders_allowed=variants[line.variant_id]["allow_backorder"],
            )
            for line, _after in missing
        ],
        ignore_conflicts=True,  # a row created meanwhile by another writer is used as is
    )
    return {
        (s["variant_id"], s["warehouse_id"]): s
        for s in Stock.objects.filter(
            variant_id__any_of=sorted({line.variant_id for line, _after in missing}),
            warehouse_id__any_of=sorted({line.warehouse_id for line, _after in missing}),
        )
        .order_by("pk")
        .select_for_update()
        .values("pk", "variant_id", "warehouse_id", "on_hand", "allocated")
    }
