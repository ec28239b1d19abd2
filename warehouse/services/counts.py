"""Stock counts (盤點, F-16): plan, start (snapshot), record counted quantities, apply, cancel.

Uncounted lines: a count is applied only when every line has a counted
quantity — a line left empty is refused, never read as "unchanged" or as
zero, because both guesses can be wrong by the whole level. Staff enter the
expected quantity for a line they checked and found right. A line whose
counted quantity differs from the expected one needs a reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Value, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backoffice.db import insert_select
from backoffice.services import submission_claim
from inventory import services as inventory
from inventory.models import Movement, Stock, Warehouse, Zone

from ..exceptions import InvalidCountEntry, WarehouseError
from ..models import AbcClass, StockCount, StockCountLine
from ._base import (
    ACTION_APPLIED,
    ACTION_CANCELLED,
    ACTION_COUNTED,
    ACTION_STARTED,
    OPERATION_CANCEL,
    REASON_REQUIRED,
    is_count,
    locked,
    not_lot_tracked,
    require_status,
    save_as,
    user_of,
)

# --- messages (asserted by the tests) -----------------------------------------------------

COUNT_UNKNOWN_SCOPE = _("Unknown count scope %(scope)r.")
COUNT_ZONE_REQUIRED = _("Choose the zone to count (one of %(zones)s).")
COUNT_CLASS_REQUIRED = _("Choose the ABC class to count (A, B or C).")
COUNT_CLASS_OPEN = _(
    "%(warehouse)s already has an open count of class %(abc_class)s (%(number)s): "
    "apply or cancel it first."
)
COUNT_NOTHING_IN_SCOPE = _(
    "%(number)s has nothing to count: no stock rows of %(warehouse)s are in its scope "
    "(%(scope)s). Nothing was changed."
)
COUNT_OVERLAP = _(
    "%(number)s cannot start: %(skus)s already being counted in %(others)s. "
    "Apply or cancel that count first; nothing was changed."
)
COUNT_ENTRIES_REFUSED = _("Nothing was recorded: %(errors)s.")
COUNT_ROW = _("row %(row)s: %(error)s")
COUNT_NEGATIVE = _(
    "%(sku)s: the counted quantity must be a whole number of at least 0, not %(counted)s"
)
COUNT_NOT_A_NUMBER = _("%(sku)s: counted %(value)r is not a whole number")
COUNT_UNKNOWN_SKU = _("%(sku)s is not in %(number)s")
COUNT_UNKNOWN_LINE = _("line %(line)s is not a line of %(number)s")
COUNT_DUPLICATE_SKU = _("%(sku)s is given more than once")
COUNT_NO_ENTRIES = _("No counted quantities were given.")
CSV_NOT_TEXT = _("The file is not a UTF-8 csv file.")
CSV_HEADER = _("The file needs the columns sku and counted (reason is optional); found %(found)s.")
CSV_EMPTY = _("The file has no rows under its header.")
COUNT_UNCOUNTED = _(
    "%(number)s cannot be applied: %(count)s lines are not counted (%(lines)s). Enter a "
    "counted quantity for every line — the expected one where nothing differs. Nothing was "
    "changed."
)
COUNT_REASON_MISSING = _(
    "%(number)s cannot be applied: give a reason for every difference (%(lines)s). "
    "Nothing was changed."
)

OPEN_STATUSES = (StockCount.Status.PLANNED, StockCount.Status.COUNTING)
S = StockCount.Status


@dataclass(frozen=True)
class CountEntry:
    """A counted quantity for one line of a count, by SKU (csv) or by line id (admin).

    ``counted`` None clears the line (not counted); ``row`` numbers a csv row in messages.
    """

    counted: Any
    sku: str = ""
    line_id: int | None = None
    reason: str = ""
    row: int | None = None


@dataclass(frozen=True)
class AppliedCount:
    count: StockCount
    corrections: int
    units_added: int
    units_removed: int


# --- plan ----------------------------------------------------------------------------------


def stock_count_plan(
    *,
    warehouse: Warehouse,
    scope: str,
    actor: Any,
    zone: str = "",
    abc_class: str = "",
    planned_for: date | None = None,
    note: str = "",
    is_cycle_count: bool = False,
) -> StockCount:
    """Plan a count of a whole warehouse, one zone (by the SKUs' default bins) or an ABC class.

    Refuses an unknown scope, a zone scope without a known zone, a class
    scope without A/B/C, and a second open (planned or counting) count of the
    same class in the same warehouse. Writes the count, status planned.
    """
    if scope not in StockCount.Scope.values:
        raise WarehouseError(COUNT_UNKNOWN_SCOPE % {"scope": scope})
    zone = zone if scope == StockCount.Scope.ZONE else ""
    abc_class = abc_class if scope == StockCount.Scope.ABC else ""
    if scope == StockCount.Scope.ZONE and zone not in Zone.values:
        raise WarehouseError(COUNT_ZONE_REQUIRED % {"zones": ", ".join(Zone.values)})
    if scope == StockCount.Scope.ABC and abc_class not in AbcClass.values:
        raise WarehouseError(COUNT_CLASS_REQUIRED)
    count = StockCount(
        warehouse=warehouse,
        scope=scope,
        zone=zone,
        abc_class=abc_class,
        planned_for=planned_for or timezone.localdate(),
        note=note.strip(),
        is_cycle_count=is_cycle_count,
        created_by=user_of(actor),
    )
    try:
        with transaction.atomic():
            save_as(count, actor)
    except IntegrityError:
        raise WarehouseError(_class_open_message(warehouse, abc_class)) from None
    return count


def _class_open_message(warehouse: Warehouse, abc_class: str) -> str:
    other = (
        StockCount.objects.filter(
            warehouse=warehouse, scope=StockCount.Scope.ABC, abc_class=abc_class
        )
        .filter(status__in=OPEN_STATUSES)
        .first()
    )
    return str(
        COUNT_CLASS_OPEN
        % {
            "warehouse": warehouse.code,
            "abc_class": abc_class,
            "number": other.number if other else "?",
        }
    )


# --- start: the snapshot -------------------------------------------------------------------


def scope_rows(count: StockCount) -> QuerySet[Stock]:
    """The stock rows a count covers (lot-tracked SKUs are counted per lot, not here)."""
    rows = Stock.objects.filter(warehouse_id=count.warehouse_id).filter(
        not_lot_tracked("variant__")
    )
    if count.scope == StockCount.Scope.ZONE:
        rows = rows.filter(default_location__zone=count.zone)
    elif count.scope == StockCount.Scope.ABC:
        rows = rows.filter(abc__abc_class=count.abc_class)
    return rows


def stock_count_start(*, count: StockCount, actor: Any) -> StockCount:
    """Start counting: snapshot the expected quantities of every stock row in scope.

    One INSERT … SELECT writes a line per row with on hand as expected, the
    SKU's cost, and the row's last movement id (its ledger position), in the
    same statement so that the three agree; lines are numbered by zone, bin
    and SKU, the order in which staff walk the warehouse. Costs the same
    number of queries for ten rows as for a hundred thousand.

    Refuses a count that is not planned, a scope with no stock rows, and rows
    already in another count being counted (a row is counted by one count at
    a time, or two corrections would add up). Two counts of a warehouse start
    one after the other (its row is locked).
    """
    with transaction.atomic():
        count = locked(count)
        require_status(count, S.PLANNED, ACTION_STARTED)
        Warehouse.objects.select_for_update(no_key=True).filter(pk=count.warehouse_id).first()
        rows = scope_rows(count)
        busy = list(
            StockCountLine.objects.filter(
                count__warehouse_id=count.warehouse_id,
                count__status=S.COUNTING,
                stock__in=rows,
            )
            .order_by("stock__variant__sku")
            .values_list("stock__variant__sku", "count_id")[:10]
        )
        if busy:
            raise WarehouseError(
                COUNT_OVERLAP
                % {
                    "number": count.number,
                    "skus": ", ".join(sku for sku, _count in busy),
                    "others": ", ".join(sorted({StockCount(pk=pk).number for _sku, pk in busy})),
                }
            )
        last_movement = Movement.objects.filter(stock=OuterRef("pk")).order_by("-id").values("id")
        inserted = insert_select(
            StockCountLine,
            {
                "count_id": Value(count.pk),
                "line_number": Window(
                    RowNumber(),
                    order_by=[
                        F("default_location__zone").asc(nulls_last=True),
                        F("default_location__code").asc(nulls_last=True),
                        F("variant__sku").asc(),
                    ],
                ),
                "stock_id": F("pk"),
                "expected": F("on_hand"),
                "ledger_position": Coalesce(Subquery(last_movement[:1]), Value(0)),
                "unit_cost": F("variant__cost"),
                "reason": Value(""),
            },
            rows,
        )
        if not inserted:
            raise WarehouseError(
                COUNT_NOTHING_IN_SCOPE
                % {
                    "number": count.number,
                    "warehouse": count.warehouse.code,
                    "scope": count.scope_label,
                }
            )
        count.status = S.COUNTING
        count.started_at = timezone.now()
        count.started_by = user_of(actor)
        save_as(count, actor, ["status", "started_at", "started_by"])
    return count


# --- counted quantities --------------------------------------------------------------------


def _as_count(value: Any) -> int | None:
    """``value`` as a whole number if it is one (``"12"``, ``12``, ``"12.0"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _row(entry: CountEntry, error: str) -> str:
    return str(COUNT_ROW % {"row": entry.row, "error": error}) if entry.row else error


def stock_count_record(
    *,
    count: StockCount,
    entries: Sequence[CountEntry],
    actor: Any,
    submission_key: str | None = None,
) -> int:
    """Record counted quantities (and reasons) on the lines of a count being counted.

    Entries name their line by SKU or by line id; ``counted`` None clears a
    line. Refuses — all entries or none, every bad entry listed — a count not
    being counted, a SKU or line not in the count, the same line twice, and a
    counted quantity that is not a whole number of at least 0. Returns how
    many lines changed.
    """
    if not entries:
        raise InvalidCountEntry(COUNT_NO_ENTRIES)
    with transaction.atomic():
        submission_claim(key=submission_key, operation="stock_count_record", actor=actor)
        count = locked(count)
        require_status(count, S.COUNTING, ACTION_COUNTED)
        skus = {entry.sku.strip() for entry in entries if entry.line_id is None}
        ids = {entry.line_id for entry in entries if entry.line_id is not None}
        lines = list(
            StockCountLine.objects.filter(count=count)
            .filter(Q(stock__variant__sku__in=skus) | Q(pk__in=ids))
            .select_related("stock__variant")
        )
        by_sku = {line.stock.variant.sku: line for line in lines}
        by_id = {line.pk: line for line in lines}
        errors: list[str] = []
        seen: set[int] = set()
        changed: list[StockCountLine] = []
        now = timezone.now()
        for entry in entries:
            if entry.line_id is not None:
                line = by_id.get(entry.line_id)
                if line is None:
                    errors.append(
                        _row(
                            entry,
                            COUNT_UNKNOWN_LINE % {"line": entry.line_id, "number": count.number},
                        )
                    )
                    continue
            else:
                line = by_sku.get(entry.sku.strip())
                if line is None:
                    errors.append(
                        _row(entry, COUNT_UNKNOWN_SKU % {"sku": entry.sku, "number": count.number})
                    )
                    continue
            sku = line.stock.variant.sku
            if line.pk in seen:
                errors.append(_row(entry, COUNT_DUPLICATE_SKU % {"sku": sku}))
                continue
            seen.add(line.pk)
            counted = entry.counted
            if counted is not None and not is_count(counted, positive=False):
                errors.append(_row(entry, COUNT_NEGATIVE % {"sku": sku, "counted": counted}))
                continue
            reason = (entry.reason or "").strip()[:255]
            if (line.counted, line.reason) == (counted, reason):
                continue
            line.counted, line.reason = counted, reason
            line.counted_at = now if counted is not None else None
            line.counted_by = user_of(actor) if counted is not None else None
            changed.append(line)
        if errors:
            raise InvalidCountEntry(
                COUNT_ENTRIES_REFUSED % {"errors": "; ".join(errors[:20])}, errors
            )
        StockCountLine.objects.bulk_update(
            changed, ["counted", "reason", "counted_at", "counted_by"], batch_size=500
        )
    return len(changed)


def count_entries_from_csv(content: bytes | str) -> list[CountEntry]:
    """The entries of a ``sku,counted[,reason]`` csv file (header required, any column order).

    Refuses — every bad row listed, with its row number — a file that is not
    UTF-8 text, a header without sku and counted, no rows, a counted value
    that is not a whole number of at least 0, and a SKU given twice. Whether
    each SKU is in the count is checked by ``stock_count_record``.
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidCountEntry(CSV_NOT_TEXT) from None
    reader = csv.reader(io.StringIO(content))
    header = [name.strip().lower() for name in next(reader, [])]
    if "sku" not in header or "counted" not in header:
        raise InvalidCountEntry(CSV_HEADER % {"found": ", ".join(header) or "—"})
    position = {name: header.index(name) for name in ("sku", "counted", "reason") if name in header}

    def cell(row: list[str], name: str) -> str:
        index = position.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    entries: list[CountEntry] = []
    errors: list[str] = []
    first_row: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        if not any(value.strip() for value in row):
            continue
        sku, raw = cell(row, "sku"), cell(row, "counted")
        entry = CountEntry(counted=None, sku=sku, reason=cell(row, "reason"), row=number)
        if sku in first_row:
            errors.append(_row(entry, COUNT_DUPLICATE_SKU % {"sku": sku}))
            continue
        first_row[sku] = number
        counted = _as_count(raw)
        if counted is None:
            errors.append(_row(entry, COUNT_NOT_A_NUMBER % {"sku": sku, "value": raw}))
            continue
        if counted < 0:
            errors.append(_row(entry, COUNT_NEGATIVE % {"sku": sku, "counted": counted}))
            continue
        entries.append(CountEntry(counted=counted, sku=sku, reason=entry.reason, row=number))
    if errors:
        raise InvalidCountEntry(COUNT_ENTRIES_REFUSED % {"errors": "; ".join(errors[:20])}, errors)
    if not entries:
        raise InvalidCountEntry(CSV_EMPTY)
    return entries


# --- apply, cancel -------------------------------------------------------------------------


def _sample(lines: QuerySet[StockCountLine]) -> str:
    first = list(lines.order_by("line_number").select_related("stock__variant")[:10])
    return ", ".join(f"{line.reference} {line.stock.variant.sku}" for line in first)


def stock_count_apply(
    *, count: StockCount, actor: Any, submission_key: str | None = None
) -> AppliedCount:
    """Apply a count: one COUNT movement per line whose counted quantity differs.

    The correction is counted − expected at the snapshot, added to the level
    as it is now (``inventory.count_correct``): shipments and receipts
    between the snapshot and now are kept, so the level ends at counted +
    the movements after the snapshot. All lines or none.

    Refuses a count that is not being counted (applying twice: the count row
    is locked and its status checked), any uncounted line, a difference
    without a reason, and — listing every such line — a correction that would
    take on hand below zero or below allocated. Writes the movements, links
    each line to its correction, and marks the count applied.
    """
    with transaction.atomic():
        submission_claim(key=submission_key, operation="stock_count_apply", actor=actor)
        count = locked(count)
        require_status(count, S.COUNTING, ACTION_APPLIED)
        lines = StockCountLine.objects.filter(count=count)
        uncounted = lines.filter(counted__isnull=True)
        missing = uncounted.count()
        if missing:
            raise WarehouseError(
                COUNT_UNCOUNTED
                % {"number": count.number, "count": missing, "lines": _sample(uncounted)}
            )
        differing = lines.exclude(counted=F("expected"))
        unexplained = differing.filter(reason="")
        if unexplained.exists():
            raise WarehouseError(
                COUNT_REASON_MISSING % {"number": count.number, "lines": _sample(unexplained)}
            )
        todo = list(differing.order_by("stock_id"))
        movements = inventory.count_correct(
            corrections=[
                inventory.CountCorrection(
                    stock_id=line.stock_id,
                    quantity=line.counted - line.expected,
                    reference=line.reference,
                    reason=line.reason,
                )
                for line in todo
            ],
            actor=actor,
            reason=gettext("Stock count %(number)s") % {"number": count.number},
        )
        for line in todo:
            line.movement = movements[line.reference]
        StockCountLine.objects.bulk_update(todo, ["movement"], batch_size=500)
        count.status = S.APPLIED
        count.applied_at = timezone.now()
        count.applied_by = user_of(actor)
        save_as(count, actor, ["status", "applied_at", "applied_by"])
    differences = [line.counted - line.expected for line in todo]
    return AppliedCount(
        count=count,
        corrections=len(todo),
        units_added=sum(d for d in differences if d > 0),
        units_removed=-sum(d for d in differences if d < 0),
    )


def stock_count_cancel(*, count: StockCount, reason: str, actor: Any) -> StockCount:
    """Cancel a planned count or one being counted; nothing reaches stock. Needs a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise WarehouseError(REASON_REQUIRED % {"operation": OPERATION_CANCEL})
    with transaction.atomic():
        count = locked(count)
        require_status(count, OPEN_STATUSES, ACTION_CANCELLED)
        count.status = S.CANCELLED
        count.cancelled_at = timezone.now()
        count.cancelled_by = user_of(actor)
        count.cancel_reason = reason
        save_as(count, actor, ["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    return count
