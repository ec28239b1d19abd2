"""Reads that more than one door needs: price-list costs, supplier scorecards, replenishment.

Scorecards and replenishment are computed in the database (correlated
subqueries and aggregates), so that they cost the same number of queries for
ten suppliers or SKUs as for a hundred thousand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    FilteredRelation,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Ceil, Coalesce, Greatest, Least, TruncDate
from django.utils import timezone

from catalog.models import ListingStatus
from inventory.models import Movement, MovementKind, Stock
from orders.models import ReturnLine, ReturnRequest, ShipmentLine

from .models import (
    ON_ORDER_STATUSES,
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
    SupplierPrice,
    SupplierPriceBreak,
)

# Used when a SKU has no (active) preferred supplier to take a lead time from.
DEFAULT_LEAD_TIME_DAYS = 7
DEFAULT_DEMAND_DAYS = 30
DEFAULT_SCORECARD_DAYS = 90


# --- price lists ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceInfo:
    """A price-list entry with its quantity breaks, as purchase orders need it."""

    price_id: int
    supplier_id: int
    variant_id: int
    unit_cost: Decimal
    moq: int
    pack_size: int
    lead_time_days: int
    breaks: tuple[tuple[int, Decimal], ...] = ()

    def cost_for(self, quantity: int) -> Decimal:
        """The unit cost for ``quantity`` units: the deepest break reached, else the base cost."""
        cost = self.unit_cost
        for min_quantity, break_cost in self.breaks:
            if quantity >= min_quantity:
                cost = break_cost
        return cost


def breaks_by_price(price_ids: Iterable[int]) -> dict[int, tuple[tuple[int, Decimal], ...]]:
    found: dict[int, list[tuple[int, Decimal]]] = {}
    rows = SupplierPriceBreak.objects.filter(price_id__in=list(price_ids)).order_by(
        "price_id", "min_quantity"
    )
    for price_id, min_quantity, cost in rows.values_list("price_id", "min_quantity", "unit_cost"):
        found.setdefault(price_id, []).append((min_quantity, cost))
    return {price_id: tuple(items) for price_id, items in found.items()}


def price_list(*, supplier: Supplier, variant_ids: Iterable[int]) -> dict[int, PriceInfo]:
    """``supplier``'s price-list entries for ``variant_ids``, by variant id (two queries)."""
    rows = list(
        SupplierPrice.objects.filter(supplier=supplier, variant_id__in=set(variant_ids)).values(
            "pk", "variant_id", "unit_cost", "moq", "pack_size", "lead_time_days"
        )
    )
    breaks = breaks_by_price(row["pk"] for row in rows)
    return {
        row["variant_id"]: PriceInfo(
            price_id=row["pk"],
            supplier_id=supplier.pk,
            variant_id=row["variant_id"],
            unit_cost=row["unit_cost"],
            moq=row["moq"],
            pack_size=row["pack_size"],
            lead_time_days=(
                row["lead_time_days"]
                if row["lead_time_days"] is not None
                else supplier.lead_time_days
            ),
            breaks=breaks.get(row["pk"], ()),
        )
        for row in rows
    }


# --- scorecards -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scorecard:
    """One supplier's figures over ``start``–``end`` (rates are fractions, None when there
    is nothing to measure)."""

    start: date
    end: date
    deliveries: int
    on_time_deliveries: int
    on_time_rate: float | None
    ordered_units: int
    filled_units: int
    fill_rate: float | None
    received_units: int
    rejected_units: int
    rejection_rate: float | None
    paid_amount: Decimal
    list_amount: Decimal
    price_variance: float | None
    shipped_units: int
    returned_units: int
    return_rate: float | None


SCORECARD_RATES = ("on_time_rate", "fill_rate", "rejection_rate", "price_variance", "return_rate")


def _total(rows: QuerySet, group: str, expression, output) -> Coalesce:
    """Sum (or count) of ``expression`` over ``rows`` (already filtered on the outer supplier),
    as a correlated subquery: one value per supplier, no GROUP BY over the supplier list."""
    subquery = rows.order_by().values(group).annotate(total=expression).values("total")
    return Coalesce(Subquery(subquery, output_field=output), Value(0), output_field=output)


def _ratio(numerator: str, denominator: str) -> Case:
    return Case(
        When(
            **{f"{denominator}__gt": 0},
            then=Cast(F(numerator), FloatField()) / Cast(F(denominator), FloatField()),
        ),
        default=Value(None, output_field=FloatField()),
        output_field=FloatField(),
    )


def supplier_scorecards(
    queryset: QuerySet | None = None, *, start: date, end: date
) -> QuerySet[Supplier]:
    """Suppliers annotated with their scorecard over ``start``–``end`` (both included).

    - on-time delivery: goods receipts in the period dated on or before their order's
      expected date, over all receipts in the period;
    - fill rate: units accepted (at most the quantity ordered, per line) over units
      ordered, on purchase orders due (expected date) in the period, not cancelled;
    - rejection rate: units rejected over units received, on receipts in the period;
    - price variance: (paid − price list) / price list, over the lines of those same
      orders that had a price-list cost when written; positive means paid more;
    - return rate: units customers returned (returns not rejected, requested in the
      period) over units shipped in the period, of the SKUs this supplier is the
      preferred supplier of.

    All figures are subqueries on the supplier row: sortable in the admin, and the
    same number of queries for any number of suppliers.
    """
    queryset = Supplier.objects.all() if queryset is None else queryset
    integer, money = IntegerField(), DecimalField(max_digits=20, decimal_places=2)
    receipts = GoodsReceipt.objects.filter(
        order__supplier=OuterRef("pk"), received_at__date__gte=start, received_at__date__lte=end
    ).alias(received_on=TruncDate("received_at"))
    receipt_lines = GoodsReceiptLine.objects.filter(
        receipt__order__supplier=OuterRef("pk"),
        receipt__received_at__date__gte=start,
        receipt__received_at__date__lte=end,
    )
    due_lines = PurchaseOrderLine.objects.filter(
        order__supplier=OuterRef("pk"),
        order__expected_date__gte=start,
        order__expected_date__lte=end,
        order__sent_at__isnull=False,
    ).exclude(order__status=PurchaseOrder.Status.CANCELLED)
    priced_lines = due_lines.filter(list_unit_cost__isnull=False)
    shipped = ShipmentLine.objects.filter(
        order_line__variant__supplier_prices__supplier=OuterRef("pk"),
        order_line__variant__supplier_prices__is_preferred=True,
        shipment__shipped_at__date__gte=start,
        shipment__shipped_at__date__lte=end,
    )
    returned = ReturnLine.objects.filter(
        order_line__variant__supplier_prices__supplier=OuterRef("pk"),
        order_line__variant__supplier_prices__is_preferred=True,
        return_request__requested_at__date__gte=start,
        return_request__requested_at__date__lte=end,
    ).exclude(return_request__status=ReturnRequest.Status.REJECTED)
    preferred = "order_line__variant__supplier_prices__supplier"
    return queryset.annotate(
        sc_deliveries=_total(receipts, "order__supplier", Count("pk"), integer),
        sc_on_time=_total(
            receipts,
            "order__supplier",
            Count("pk", filter=Q(received_on__lte=F("order__expected_date"))),
            integer,
        ),
        sc_ordered=_total(due_lines, "order__supplier", Sum("quantity"), integer),
        sc_filled=_total(
            due_lines,
            "order__supplier",
            Sum(Least(F("accepted_quantity"), F("quantity"))),
            integer,
        ),
        sc_received=_total(receipt_lines, "receipt__order__supplier", Sum("received"), integer),
        sc_rejected=_total(receipt_lines, "receipt__order__supplier", Sum("rejected"), integer),
        sc_paid=_total(priced_lines, "order__supplier", Sum(F("unit_cost") * F("quantity")), money),
        sc_listed=_total(
            priced_lines, "order__supplier", Sum(F("list_unit_cost") * F("quantity")), money
        ),
        sc_shipped=_total(shipped, preferred, Sum("quantity"), integer),
        sc_returned=_total(returned, preferred, Sum("quantity"), integer),
    ).annotate(
        on_time_rate=_ratio("sc_on_time", "sc_deliveries"),
        fill_rate=_ratio("sc_filled", "sc_ordered"),
        rejection_rate=_ratio("sc_rejected", "sc_received"),
        price_variance=Case(
            When(
                sc_listed__gt=0,
                then=Cast(F("sc_paid") - F("sc_listed"), FloatField())
                / Cast(F("sc_listed"), FloatField()),
            ),
            default=Value(None, output_field=FloatField()),
            output_field=FloatField(),
        ),
        return_rate=_ratio("sc_returned", "sc_shipped"),
    )


def scorecard_of(supplier: Supplier, *, start: date, end: date) -> Scorecard:
    """The figures ``supplier_scorecards`` annotated on ``supplier``, as a Scorecard."""
    return Scorecard(
        start=start,
        end=end,
        deliveries=supplier.sc_deliveries,
        on_time_deliveries=supplier.sc_on_time,
        on_time_rate=supplier.on_time_rate,
        ordered_units=supplier.sc_ordered,
        filled_units=supplier.sc_filled,
        fill_rate=supplier.fill_rate,
        received_units=supplier.sc_received,
        rejected_units=supplier.sc_rejected,
        rejection_rate=supplier.rejection_rate,
        paid_amount=Decimal(supplier.sc_paid),
        list_amount=Decimal(supplier.sc_listed),
        price_variance=supplier.price_variance,
        shipped_units=supplier.sc_shipped,
        returned_units=supplier.sc_returned,
        return_rate=supplier.return_rate,
    )


def supplier_scorecard(*, supplier: Supplier, start: date, end: date) -> Scorecard:
    """One supplier's scorecard over ``start``–``end`` (one query)."""
    row = supplier_scorecards(Supplier.objects.filter(pk=supplier.pk), start=start, end=end).get()
    return scorecard_of(row, start=start, end=end)


def default_period(today: date | None = None, days: int = DEFAULT_SCORECARD_DAYS):
    today = today or timezone.localdate()
    return today - timedelta(days=days - 1), today


# --- replenishment ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """What to order for one SKU in one warehouse, and the figures behind it."""

    stock_id: int
    variant_id: int
    sku: str
    warehouse_id: int
    warehouse_code: str
    on_hand: int
    allocated: int
    on_order: int
    shipped: int
    demand_per_day: Decimal
    safety_stock: int
    reorder_point: int
    order_up_to: int
    lead_time_days: int
    supplier_id: int | None
    supplier_code: str
    price_id: int | None
    unit_cost: Decimal | None
    moq: int
    pack_size: int
    quantity: int

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated

    @property
    def position(self) -> int:
        """Available plus on order: what the reorder point is compared with."""
        return self.available + self.on_order


def round_order_quantity(need: int, *, moq: int, pack_size: int) -> int:
    """``need`` units rounded up to at least ``moq`` and to whole packs of ``pack_size``."""
    if need <= 0:
        return 0
    quantity = max(need, moq)
    return math.ceil(quantity / pack_size) * pack_size


def replenishment_suggestions(
    *,
    days: int = DEFAULT_DEMAND_DAYS,
    cover_days: int | None = None,
    warehouse_ids: Iterable[int] | None = None,
    supplier_id: int | None = None,
    stock_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[Suggestion]:
    """Stock rows to replenish, with the quantity to order: one query, whatever the SKU count.

    Per SKU and warehouse (each stock row of an active SKU, not delisted, in an active
    warehouse):

    - demand per day = units shipped (shipment movements) in the last ``days`` days / days;
    - lead time = the preferred supplier's price-list lead time, else the supplier's, else
      ``DEFAULT_LEAD_TIME_DAYS``;
    - reorder point = the row's reorder point, or demand × lead time + safety stock if that
      is higher;
    - order up to = the row's maximum level, or (without one) the reorder point plus
      ``cover_days`` (default ``days``) of demand — never below the reorder point;
    - on order = units still to come on draft, sent and partially received purchase orders
      to that warehouse (drafts count, so that a suggestion turned into a draft is not
      suggested again).

    A row is suggested when available + on order ≤ reorder point and the order-up-to level
    is above it; the quantity is the difference, rounded up to the preferred supplier's MOQ
    and pack size. Rows whose SKU has no active preferred supplier are listed too, with
    ``supplier_id`` None.
    """
    now = now or timezone.now()
    cover_days = days if cover_days is None else cover_days
    since = now - timedelta(days=days)
    shipped_rows = (
        Movement.objects.filter(
            stock=OuterRef("pk"), kind=MovementKind.SHIPMENT, created_at__gte=since
        )
        .order_by()
        .values("stock")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    on_order_rows = (
        PurchaseOrderLine.objects.filter(
            variant=OuterRef("variant_id"),
            order__warehouse=OuterRef("warehouse_id"),
            order__status__in=ON_ORDER_STATUSES,
        )
        .order_by()
        .values("variant")
        .annotate(total=Sum(Greatest(F("quantity") - F("accepted_quantity"), Value(0))))
        .values("total")
    )
    integer, real = IntegerField(), FloatField()
    shipped = Coalesce(Subquery(shipped_rows, output_field=integer), Value(0)) * Value(-1)
    lead = Coalesce(
        "pref__lead_time_days", "pref__supplier__lead_time_days", Value(DEFAULT_LEAD_TIME_DAYS)
    )
    rows = Stock.objects.filter(variant__is_active=True, warehouse__is_active=True).exclude(
        variant__product__status=ListingStatus.DELISTED
    )
    if warehouse_ids is not None:
        rows = rows.filter(warehouse_id__in=list(warehouse_ids))
    if stock_ids is not None:
        rows = rows.filter(pk__in=list(stock_ids))
    rows = rows.annotate(
        pref=FilteredRelation(
            "variant__supplier_prices",
            condition=Q(variant__supplier_prices__is_preferred=True),
        ),
        shipped=shipped,
        on_order=Coalesce(Subquery(on_order_rows, output_field=integer), Value(0)),
        lead_time=lead,
    )
    if supplier_id is not None:
        rows = rows.filter(pref__supplier_id=supplier_id)
    rows = rows.annotate(
        rop=Cast(
            Greatest(
                F("reorder_point"),
                Ceil(Cast(F("shipped") * F("lead_time"), real) / Value(float(days)))
                + F("safety_stock"),
            ),
            integer,
        ),
    ).annotate(
        target=Cast(
            Greatest(
                Coalesce(
                    F("max_level"),
                    F("rop") + Ceil(Cast(F("shipped") * cover_days, real) / Value(float(days))),
                ),
                F("rop"),
            ),
            integer,
        ),
        position=F("on_hand") - F("allocated") + F("on_order"),
    )
    rows = rows.filter(position__lte=F("rop"), target__gt=F("position")).order_by(
        F("pref__supplier__code").asc(nulls_last=True), "warehouse__code", "variant__sku"
    )
    suggestions = []
    for row in rows.values(
        "pk",
        "variant_id",
        "variant__sku",
        "warehouse_id",
        "warehouse__code",
        "on_hand",
        "allocated",
        "on_order",
        "shipped",
        "safety_stock",
        "rop",
        "target",
        "position",
        "lead_time",
        "pref__pk",
        "pref__supplier_id",
        "pref__supplier__code",
        "pref__supplier__is_active",
        "pref__unit_cost",
        "pref__moq",
        "pref__pack_size",
    ):
        usable = row["pref__pk"] is not None and row["pref__supplier__is_active"]
        moq = row["pref__moq"] if usable else 1
        pack_size = row["pref__pack_size"] if usable else 1
        need = row["target"] - row["position"]
        suggestions.append(
            Suggestion(
                stock_id=row["pk"],
                variant_id=row["variant_id"],
                sku=row["variant__sku"],
                warehouse_id=row["warehouse_id"],
                warehouse_code=row["warehouse__code"],
                on_hand=row["on_hand"],
                allocated=row["allocated"],
                on_order=row["on_order"],
                shipped=row["shipped"],
                demand_per_day=(Decimal(row["shipped"]) / days).quantize(
                    Decimal("0.01"), rounding=ROUND_HALF_UP
                ),
                safety_stock=row["safety_stock"],
                reorder_point=row["rop"],
                order_up_to=row["target"],
                lead_time_days=row["lead_time"],
                supplier_id=row["pref__supplier_id"] if usable else None,
                supplier_code=row["pref__supplier__code"] if usable else "",
                price_id=row["pref__pk"] if usable else None,
                unit_cost=row["pref__unit_cost"] if usable else None,
                moq=moq,
                pack_size=pack_size,
                quantity=round_order_quantity(need, moq=moq, pack_size=pack_size),
            )
        )
    return suggestions


def percent(value: float | None) -> str:
    """A rate as staff read it: "12.5 %", or "—" when there was nothing to measure."""
    return "—" if value is None else f"{value * 100:.1f} %"
