"""Reads of the warehouse operations: discrepancy reports, units in transit, pick lists.

Each costs a fixed number of queries, whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from inventory.models import Stock, Zone
from orders.models import Order, OrderLine

from .models import StockCount, StockCountLine, Transfer, TransferLine

MONEY = DecimalField(max_digits=18, decimal_places=2)

# --- stock counts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CountTotals:
    lines: int
    counted: int
    differing: int
    units_over: int
    units_short: int
    value_over: Decimal
    value_short: Decimal

    @property
    def net_units(self) -> int:
        return self.units_over - self.units_short

    @property
    def net_value(self) -> Decimal:
        return self.value_over - self.value_short


def count_lines(count: StockCount) -> QuerySet[StockCountLine]:
    """The lines of a count with SKU, bin, ``difference`` and ``difference_value`` (× unit cost)."""
    difference = ExpressionWrapper(F("counted") - F("expected"), output_field=IntegerField())
    return (
        StockCountLine.objects.filter(count=count)
        .select_related("stock__variant__product", "stock__default_location", "movement")
        .annotate(
            diff=difference,
            diff_value=ExpressionWrapper(
                difference * Coalesce(F("unit_cost"), Value(Decimal("0"))), output_field=MONEY
            ),
        )
        .order_by("line_number")
    )


def count_totals(count: StockCount) -> CountTotals:
    """Totals of the discrepancy report, in one query."""
    difference = F("counted") - F("expected")
    value = ExpressionWrapper(
        difference * Coalesce(F("unit_cost"), Value(Decimal("0"))), output_field=MONEY
    )
    over = Q(counted__gt=F("expected"))
    short = Q(counted__lt=F("expected"))
    row = StockCountLine.objects.filter(count=count).aggregate(
        n_lines=Count("pk"),
        n_counted=Count("counted"),
        n_differing=Count("pk", filter=over | short),
        n_units_over=Sum(difference, filter=over, default=0),
        n_units_short=Sum(F("expected") - F("counted"), filter=short, default=0),
        n_value_over=Sum(value, filter=over, default=Decimal("0")),
        n_value_short=Sum(
            ExpressionWrapper(
                (F("expected") - F("counted")) * Coalesce(F("unit_cost"), Value(Decimal("0"))),
                output_field=MONEY,
            ),
            filter=short,
            default=Decimal("0"),
        ),
    )
    cents = Decimal("0.01")
    return CountTotals(
        lines=row["n_lines"],
        counted=row["n_counted"],
        differing=row["n_differing"],
        units_over=row["n_units_over"],
        units_short=row["n_units_short"],
        value_over=Decimal(row["n_value_over"]).quantize(cents),
        value_short=Decimal(row["n_value_short"]).quantize(cents),
    )


# --- transfers --------------------------------------------------------------------------------


def in_transit_lines() -> QuerySet[TransferLine]:
    """Lines of transfers on the road: their units are in no warehouse's stock."""
    return TransferLine.objects.filter(transfer__status=Transfer.Status.IN_TRANSIT)


def in_transit_units(*, variant=None, source=None, destination=None) -> int:
    """Units in transit, optionally of one SKU, from one warehouse or to one."""
    lines = in_transit_lines()
    if variant is not None:
        lines = lines.filter(variant=variant)
    if source is not None:
        lines = lines.filter(transfer__source=source)
    if destination is not None:
        lines = lines.filter(transfer__destination=destination)
    return lines.aggregate(units=Sum("quantity", default=0))["units"]


def in_transit_by_sku(*, destination=None) -> dict[int, int]:
    """Variant id → units in transit (to ``destination`` if given); one query."""
    lines = in_transit_lines()
    if destination is not None:
        lines = lines.filter(transfer__destination=destination)
    return dict(
        lines.order_by()
        .values("variant_id")
        .annotate(units=Sum("quantity"))
        .values_list("variant_id", "units")
    )


def with_totals(transfers: QuerySet[Transfer]) -> QuerySet[Transfer]:
    """Transfers annotated with ``units`` sent, ``units_received`` and ``units_in_transit``."""

    def line_sum(expression):
        rows = (
            TransferLine.objects.filter(transfer=OuterRef("pk"))
            .order_by()
            .values("transfer")
            .annotate(total=Sum(expression))
            .values("total")
        )
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    return transfers.annotate(
        units=line_sum(F("quantity")),
        units_received=line_sum(Coalesce(F("received_quantity"), Value(0))),
    ).annotate(
        units_in_transit=Case(
            When(status=Transfer.Status.IN_TRANSIT, then=F("units")),
            default=Value(0),
            output_field=IntegerField(),
        )
    )


def transfer_in_transit(transfer: Transfer) -> int:
    """Units of ``transfer`` on the road now (0 unless it is in transit)."""
    if transfer.status != Transfer.Status.IN_TRANSIT:
        return 0
    return transfer.lines.aggregate(units=Sum("quantity", default=0))["units"]


# --- pick list --------------------------------------------------------------------------------

# The picking zone first: a pick list sends people to pick faces before overflow storage.
ZONE_ORDER = [Zone.PICKING, Zone.STORAGE, Zone.PACKING, Zone.SHIPPING]


@dataclass(frozen=True)
class PickRow:
    order_number: str
    sku: str
    title: str
    options: str
    quantity: int
    warehouse: str
    zone: str
    zone_label: str
    bin: str


def pick_list(orders: QuerySet[Order]) -> list[PickRow]:
    """What to pick for ``orders``: every line still to ship, with its warehouse and bin.

    Cancelled orders and shipped lines are left out. The warehouse is the
    order's (where it is allocated); the bin is the stock row's default bin
    there. Sorted by warehouse, zone (picking first), bin code and SKU, lines
    without a bin last. One query for 2 orders or 200.
    """
    stock = Stock.objects.filter(
        variant=OuterRef("variant"), warehouse=OuterRef("order__warehouse")
    )
    zone_rank = Case(
        *(When(_zone=zone.value, then=Value(rank)) for rank, zone in enumerate(ZONE_ORDER)),
        default=Value(len(ZONE_ORDER)),
        output_field=IntegerField(),
    )
    lines = (
        OrderLine.objects.filter(order__in=orders, quantity__gt=F("shipped_quantity"))
        .exclude(order__status=Order.Status.CANCELLED)
        .annotate(
            _zone=Subquery(stock.values("default_location__zone")[:1]),
            _bin=Subquery(stock.values("default_location__code")[:1]),
        )
        .annotate(_zone_rank=zone_rank)
        .select_related("order__warehouse", "variant__product")
        .order_by(
            F("order__warehouse__code").asc(nulls_last=True),
            "_zone_rank",
            F("_bin").asc(nulls_last=True),
            "variant__sku",
            "order__number",
        )
    )
    labels = dict(Zone.choices)
    return [
        PickRow(
            order_number=line.order.number,
            sku=line.variant.sku,
            title=line.variant.product.title,
            options=" / ".join(
                o for o in (line.variant.option1, line.variant.option2, line.variant.option3) if o
            ),
            quantity=line.quantity - line.shipped_quantity,
            warehouse=line.order.warehouse.code if line.order.warehouse_id else "",
            zone=line._zone or "",
            zone_label=str(labels.get(line._zone, "")) if line._zone else "",
            bin=line._bin or "",
        )
        for line in lines
    ]
