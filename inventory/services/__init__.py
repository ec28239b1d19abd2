"""The one writer of stock.

Every function here changes ``Stock.on_hand`` / ``Stock.allocated`` with a
conditional UPDATE (``… WHERE on_hand - allocated >= n``) and writes the
matching ``Movement`` in the same transaction, so that on hand always equals
the sum of the ledger and two staff taking the last unit cannot both win.
When one operation touches several stock rows it takes them in primary-key
order, so that two such operations never deadlock.

Nothing else in the project may write a stock level or a movement
(``tests/inventory/test_guard.py`` fails if something does).
"""

from __future__ import annotations

from ._base import (
    ADJUSTMENT_ZERO,
    ALREADY_ALLOCATED,
    BACKORDERS_IN_USE,
    DISPOSE_NOT_DELISTED,
    DISPOSITION_KINDS,
    INSUFFICIENT_LINE,
    INSUFFICIENT_STOCK,
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
from .levels import adjust, dispose, receive, transfer
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
    "INSUFFICIENT_STOCK",
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
    "transfer",
    "transfer_dispatch",
    "transfer_receive",
]
