"""ABC classes from shipment value, and the cycle counts they schedule (F-16, F-61).

Scope: per warehouse. Every stock row is ranked inside its warehouse by the
value it shipped over ``ABC_WINDOW_DAYS`` — the units of its shipment
movements in the ledger times the SKU's price — so that a SKU can be an A in
the warehouse that sells it and a C in the one that holds its overflow; the
cycle counts are planned per warehouse and class. A holds the SKUs that make
the first ``ABC_A_PERCENT`` of the warehouse's value (the SKU that crosses
the line included), B the next ``ABC_B_PERCENT``, C the rest and every SKU
that shipped nothing.

Cycle counts: a class is due in a warehouse when its last count (planned,
counting or applied — not cancelled) was planned ``CYCLE_COUNT_DAYS_<class>``
days ago or more, or it never had one, and none is open.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.expressions import OrderBy, RowRange
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from backoffice.db import insert_select
from inventory.models import Movement, MovementKind, Stock, Warehouse

from ..models import AbcClass, SkuClass, StockCount
from .counts import OPEN_STATUSES, stock_count_plan

MONEY = DecimalField(max_digits=18, decimal_places=2)


def cycle_days() -> dict[str, int]:
    """Days between two counts of each class (settings ``CYCLE_COUNT_DAYS_A/B/C``)."""
    return {
        AbcClass.A: settings.CYCLE_COUNT_DAYS_A,
        AbcClass.B: settings.CYCLE_COUNT_DAYS_B,
        AbcClass.C: settings.CYCLE_COUNT_DAYS_C,
    }


def abc_classify(*, warehouse: Warehouse | None = None, now: datetime | None = None) -> dict:
    """Classify every stock row (of ``warehouse``, or of all warehouses) as A, B or C.

    Replaces the previous classes of those rows. Set-based: one DELETE, one
    INSERT … SELECT ranking the rows with window functions, one UPDATE
    setting the class, one count — the same queries for ten SKUs as for a
    hundred thousand. Returns the number of rows per class.
    """
    now = now or timezone.now()
    since = now - timedelta(days=settings.ABC_WINDOW_DAYS)
    stocks = Stock.objects.all() if warehouse is None else Stock.objects.filter(warehouse=warehouse)
    shipped = (
        Movement.objects.filter(
            stock=OuterRef("pk"),
            kind=MovementKind.SHIPMENT,
            created_at__gte=since,
            created_at__lt=now,
        )
        .order_by()
        .values("stock")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    # Shipments are negative movements: the value shipped is minus their sum, times the price.
    value = ExpressionWrapper(
        Value(0) - Coalesce(Subquery(shipped), Value(0)) * F("variant__price"), output_field=MONEY
    )
    ranking = [OrderBy(value, descending=True), F("variant_id").asc()]
    before = Coalesce(
        Window(
            Sum(value),
            partition_by=[F("warehouse_id")],
            order_by=ranking,
            frame=RowRange(start=None, end=-1),
        ),
        Value(Decimal("0")),
        output_field=MONEY,
    )
    total = Coalesce(
        Window(Sum(value), partition_by=[F("warehouse_id")]),
        Value(Decimal("0")),
        output_field=MONEY,
    )
    a_share = Decimal(settings.ABC_A_PERCENT) / 100
    b_share = Decimal(settings.ABC_A_PERCENT + settings.ABC_B_PERCENT) / 100
    classes = SkuClass.objects.filter(stock__in=stocks)
    with transaction.atomic():
        classes.delete()
        insert_select(
            SkuClass,
            {
                "stock_id": F("pk"),
                "abc_class": Value(AbcClass.C.value),
                "value": value,
                "value_before": before,
                "warehouse_value": total,
                "classified_at": Value(now),
            },
            stocks,
        )
        classes.update(
            abc_class=Case(
                When(value__lte=0, then=Value(AbcClass.C.value)),
                When(
                    value_before__lt=ExpressionWrapper(
                        F("warehouse_value") * a_share, output_field=MONEY
                    ),
                    then=Value(AbcClass.A.value),
                ),
                When(
                    value_before__lt=ExpressionWrapper(
                        F("warehouse_value") * b_share, output_field=MONEY
                    ),
                    then=Value(AbcClass.B.value),
                ),
                default=Value(AbcClass.C.value),
            )
        )
        per_class = dict(
            classes.order_by()
            .values_list("abc_class")
            .annotate(n=Count("pk"))
            .values_list("abc_class", "n")
        )
    return {klass: per_class.get(klass, 0) for klass in AbcClass.values}


def cycle_counts_due(*, today: date) -> list[tuple[int, str]]:
    """(warehouse id, class) pairs whose cycle count is due on ``today``; two queries."""
    present = set(
        SkuClass.objects.filter(stock__warehouse__is_active=True)
        .order_by()
        .values_list("stock__warehouse_id", "abc_class")
        .distinct()
    )
    history = {
        (warehouse_id, klass): (last, open_count)
        for warehouse_id, klass, last, open_count in StockCount.objects.filter(
            scope=StockCount.Scope.ABC
        )
        .exclude(status=StockCount.Status.CANCELLED)
        .order_by()
        .values("warehouse_id", "abc_class")
        .annotate(last=Max("planned_for"), open=Count("pk", filter=Q(status__in=OPEN_STATUSES)))
        .values_list("warehouse_id", "abc_class", "last", "open")
    }
    days = cycle_days()
    due = []
    for warehouse_id, klass in sorted(present):
        last, open_count = history.get((warehouse_id, klass), (None, 0))
        if open_count:
            continue
        if last is not None and (today - last).days < days[klass]:
            continue
        due.append((warehouse_id, klass))
    return due


def cycle_counts_plan(*, today: date, actor: Any = None) -> list[StockCount]:
    """Plan a count for every (warehouse, class) that is due; returns the counts planned."""
    due = cycle_counts_due(today=today)
    warehouses = Warehouse.objects.in_bulk({warehouse_id for warehouse_id, _klass in due})
    planned = []
    with transaction.atomic():
        for warehouse_id, klass in due:
            planned.append(
                stock_count_plan(
                    warehouse=warehouses[warehouse_id],
                    scope=StockCount.Scope.ABC,
                    abc_class=klass,
                    planned_for=today,
                    note=gettext("Cycle count of class %(abc_class)s") % {"abc_class": klass},
                    is_cycle_count=True,
                    actor=actor,
                )
            )
    return planned


def cycle_counts_run(*, today: date, actor: Any = None) -> dict:
    """The scheduled job: reclassify every SKU, then plan the counts that are due."""
    classes = abc_classify()
    planned = cycle_counts_plan(today=today, actor=actor)
    return {"classes": classes, "planned": [count.number for count in planned]}
