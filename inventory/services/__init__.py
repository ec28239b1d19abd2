"""The one writer of stock.

Every function here changes ``Stock.on_hand`` / ``Stock.allocated`` with a
conditional UPDATE (``… WHERE on_hand - allocated >= n``) and writes the
matching ``Movement`` in the same transaction, so that on hand always equals
the sum of the ledger and two staff taking the last unit cannot both win.
When one operation touches several stock rows it takes them in primary-key
order, so that two such operations never deadlock. A lot-tracked SKU's lot
rows (``LotStock``) are written by the same functions, always after their
stock row is locked (see ``lots.py``).

Nothing else in the project may write a stock level or a movement
(``tests/inventory/test_guard.py`` fails if something does).
"""

from __future__ import annotations

from ._base import (
    ADJUSTMENT_ZERO,
    ALREADY_ALLOCATED,
    BACKORDERS_IN_USE,
    BACKORDERS_LOT_TRACKED,
    DISPOSE_NOT_DELISTED,
    DISPOSITION_KINDS,
    INSUFFICIENT_LINE,
    INSUFFICIENT_LOT_LINE,
    INSUFFICIENT_STOCK,
    LOT_CODE_REQUIRED,
    LOT_CODE_TOO_LONG,
    LOT_EXPIRED,
    LOT_EXPIRY_CONFLICT,
    LOT_NOT_TRACKED,
    LOT_SWITCH_BACKORDERS,
    LOT_SWITCH_HAS_STOCK,
    LOT_UNKNOWN,
    LOTS_NOT_SUPPORTED,
    NOT_SELLABLE,
    OVER_RELEASE,
    QUANTITY_NOT_POSITIVE,
    REASON_REQUIRED,
    REFERENCE_REQUIRED,
    RESTOCK_DELISTED,
    RESTOCK_NO_VARIANTS,
    SAME_WAREHOUSE,
    SHIP_BEYOND_ON_HAND,
    UNKNOWN_DISPOSITION,
    WAREHOUSE_INACTIVE,
    AllocationLine,
    BulkResult,
)
from .alerts import stock_alerts_digest, stock_alerts_refresh
from .allocation import allocate, release, set_backorders, ship
from .audit import stock_audit
from .bulk import dispose_remaining, restock_products
from .history import (
    HISTORY_NEGATIVE,
    HISTORY_NOT_EMPTY,
    HISTORY_UNKNOWN_KIND,
    HISTORY_UNORDERED,
    ledger_load_history,
)
from .imports import StockImportResult, StockLine, stock_import
from .levels import adjust, dispose, receive, transfer
from .lots import variant_track_lots
from .operations import (
    CORRECTION_REFUSED,
    CORRECTION_REFUSED_LINE,
    CORRECTION_ZERO,
    LOT_TRACKED,
    CorrectionRefused,
    CountCorrection,
    TransitLine,
    count_correct,
    transfer_dispatch,
    transfer_receive,
)

__all__ = [
    "ADJUSTMENT_ZERO",
    "ALREADY_ALLOCATED",
    "AllocationLine",
    "BACKORDERS_IN_USE",
    "BACKORDERS_LOT_TRACKED",
    "BulkResult",
    "CORRECTION_REFUSED",
    "CORRECTION_REFUSED_LINE",
    "CORRECTION_ZERO",
    "CorrectionRefused",
    "CountCorrection",
    "DISPOSE_NOT_DELISTED",
    "DISPOSITION_KINDS",
    "HISTORY_NEGATIVE",
    "HISTORY_NOT_EMPTY",
    "HISTORY_UNKNOWN_KIND",
    "HISTORY_UNORDERED",
    "INSUFFICIENT_LINE",
    "INSUFFICIENT_LOT_LINE",
    "INSUFFICIENT_STOCK",
    "LOTS_NOT_SUPPORTED",
    "LOT_CODE_REQUIRED",
    "LOT_CODE_TOO_LONG",
    "LOT_EXPIRED",
    "LOT_EXPIRY_CONFLICT",
    "LOT_NOT_TRACKED",
    "LOT_SWITCH_BACKORDERS",
    "LOT_SWITCH_HAS_STOCK",
    "LOT_UNKNOWN",
    "LOT_TRACKED",
    "NOT_SELLABLE",
    "OVER_RELEASE",
    "QUANTITY_NOT_POSITIVE",
    "REASON_REQUIRED",
    "REFERENCE_REQUIRED",
    "RESTOCK_DELISTED",
    "RESTOCK_NO_VARIANTS",
    "SAME_WAREHOUSE",
    "SHIP_BEYOND_ON_HAND",
    "TransitLine",
    "UNKNOWN_DISPOSITION",
    "WAREHOUSE_INACTIVE",
    "adjust",
    "allocate",
    "count_correct",
    "dispose",
    "dispose_remaining",
    "ledger_load_history",
    "receive",
    "release",
    "restock_products",
    "set_backorders",
    "ship",
    "stock_alerts_digest",
    "stock_alerts_refresh",
    "stock_audit",
    "stock_import",
    "StockImportResult",
    "StockLine",
    "transfer",
    "transfer_dispatch",
    "transfer_receive",
    "variant_track_lots",
]
