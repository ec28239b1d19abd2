"""The admin index as a dashboard (F-41): figures aggregated in SQL, charts drawn as SVG here.

Every panel is one or two aggregate queries, so the page costs the same number
of queries for a shop of ten SKUs as for one of a hundred thousand with
millions of movements (asserted in tests/backoffice/test_dashboard.py, timed
in bench/). The figures are cached for ``DASHBOARD_CACHE_SECONDS``; the charts
are inline SVG built from them, so the page needs no JavaScript library and
no internet access.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from catalog.models import ComplianceFlag, DelistReason, ListingEvent
from inventory.models import Movement, MovementKind, Stock
from orders.models import Order, ReturnLine, ReturnReason, ReturnRequest, ShipmentLine
from reviews.models import Review
from reviews.selectors import low_rating_products
from suppliers.models import Supplier
from suppliers.selectors import supplier_scorecards

SALES_DAYS = 30
RETURNS_DAYS = 90
IMPACT_DAYS = 90  # delistings of the last 90 days
IMPACT_WINDOW = 30  # compared over 30 days before and (up to) 30 days after
TOP = 10
CACHE_KEY = "stockroom:dashboard:v1"

MONEY = DecimalField(max_digits=20, decimal_places=2)


# --- figures -------------------------------------------------------------------------------


def _shipped_units() -> Any:
    return Coalesce(Sum("quantity"), Value(0)) * Value(-1)


def stock_figures() -> dict[str, Any]:
    """Units, value at cost, out-of-stock and low-stock rows (the stock list's own filters)."""
    available = F("on_hand") - F("allocated")
    totals = Stock.objects.aggregate(
        units=Coalesce(Sum("on_hand"), Value(0)),
        value=Coalesce(
            Sum(F("on_hand") * F("variant__cost"), output_field=MONEY),
            Value(Decimal(0)),
            output_field=MONEY,
        ),
        out=Count("pk", filter=Q(on_hand__lte=F("allocated"))),
        low=Count("pk", filter=Q(on_hand__gt=F("allocated")) & Q(reorder_point__gte=available)),
    )
    by_category = (
        Stock.objects.filter(on_hand__gt=0)
        .values("variant__product__category_id", "variant__product__category__path")
        .annotate(value=Sum(F("on_hand") * F("variant__cost"), output_field=MONEY))
        .filter(value__gt=0)
        .order_by("-value")[:TOP]
    )
    totals["by_category"] = [
        (row["variant__product__category__path"] or _("(no category)"), row["value"])
        for row in by_category
    ]
    return totals


def sales_figures(now: datetime) -> dict[str, Any]:
    """Units shipped and their cost over the last SALES_DAYS days, per day and per product."""
    since = now - timedelta(days=SALES_DAYS)
    shipments = Movement.objects.filter(kind=MovementKind.SHIPMENT, created_at__gte=since)
    totals = shipments.aggregate(
        units=_shipped_units(),
        cost=Coalesce(
            Sum(F("quantity") * F("stock__variant__cost"), output_field=MONEY),
            Value(Decimal(0)),
            output_field=MONEY,
        ),
    )
    totals["cost"] = -totals["cost"]
    per_day = dict(
        shipments.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(units=_shipped_units())
        .values_list("day", "units")
    )
    orders_per_day = dict(
        Order.objects.filter(created_at__gte=since)
        .exclude(status=Order.Status.CANCELLED)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(total=Sum("total"))
        .values_list("day", "total")
    )
    today = timezone.localdate(now)
    days = [today - timedelta(days=n) for n in range(SALES_DAYS - 1, -1, -1)]
    totals["trend"] = [(day, per_day.get(day, 0)) for day in days]
    totals["revenue_trend"] = [(day, orders_per_day.get(day) or Decimal(0)) for day in days]
    totals["top"] = list(
        shipments.values("stock__variant__product_id", "stock__variant__product__title")
        .annotate(units=_shipped_units())
        .order_by("-units", "stock__variant__product_id")[:TOP]
    )
    return totals


def slow_movers(now: datetime) -> dict[str, Any]:
    """Stock rows with units on hand and no shipment in SLOW_MOVER_DAYS days, by value."""
    since = now - timedelta(days=settings.SLOW_MOVER_DAYS)
    shipped = Movement.objects.filter(
        stock=OuterRef("pk"), kind=MovementKind.SHIPMENT, created_at__gte=since
    )
    rows = Stock.objects.filter(on_hand__gt=0).filter(~Exists(shipped))
    return {
        "count": rows.count(),
        "days": settings.SLOW_MOVER_DAYS,
        "rows": list(
            rows.annotate(value=F("on_hand") * F("variant__cost"))
            .order_by(F("value").desc(nulls_last=True), "pk")
            .values("variant__sku", "variant__product_id", "warehouse__code", "on_hand", "value")[
                :TOP
            ]
        ),
    }


def returns_figures(now: datetime) -> dict[str, Any]:
    """Units returned (not rejected) over units shipped, in the last RETURNS_DAYS days."""
    since = now - timedelta(days=RETURNS_DAYS)
    by_reason = dict(
        ReturnLine.objects.filter(return_request__requested_at__gte=since)
        .exclude(return_request__status=ReturnRequest.Status.REJECTED)
        .values("reason")
        .annotate(units=Sum("quantity"))
        .values_list("reason", "units")
    )
    shipped = ShipmentLine.objects.filter(shipment__shipped_at__gte=since).aggregate(
        units=Coalesce(Sum("quantity"), Value(0))
    )["units"]
    returned = sum(by_reason.values())
    return {
        "days": RETURNS_DAYS,
        "shipped": shipped,
        "returned": returned,
        "rate": returned / shipped if shipped else None,
        "by_reason": sorted(by_reason.items(), key=lambda item: -item[1]),
    }


def scorecards(now: datetime) -> list[dict[str, Any]]:
    """The active suppliers with the most deliveries, with their 90-day scorecard."""
    end = timezone.localdate(now)
    start = end - timedelta(days=89)
    rows = supplier_scorecards(Supplier.objects.filter(is_active=True), start=start, end=end)
    return list(
        rows.order_by("-sc_deliveries", "-sc_ordered", "code").values(
            "pk", "code", "name", "on_time_rate", "fill_rate", "rejection_rate", "return_rate"
        )[:8]
    )


def delisting_impact(now: datetime) -> list[dict[str, Any]]:
    """Per delist reason (F-04 step 8): what the delisted products had, and how their
    categories' sales and stock moved from the IMPACT_WINDOW days before the delisting to
    the days after (up to IMPACT_WINDOW, or up to today).

    Three queries whatever the number of delistings: the delisting events grouped by
    reason, category and day; the categories' shipments and net movements per day; their
    stock on hand now (from which the stock on a past day is worked back through the
    movements since).
    """
    today = timezone.localdate(now)
    since = now - timedelta(days=IMPACT_DAYS)
    groups = list(
        ListingEvent.objects.filter(kind=ListingEvent.Kind.DELISTED, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("reason", "product__category_id", "day")
        .annotate(events=Count("pk"), on_hand=Sum("on_hand"), sold_before=Sum("units_sold_30d"))
        .order_by()
    )
    if not groups:
        return []
    categories = {row["product__category_id"] for row in groups}
    in_categories = Q(stock__variant__product__category_id__in=[c for c in categories if c])
    if None in categories:
        in_categories |= Q(stock__variant__product__category__isnull=True)
    first_day = min(row["day"] for row in groups) - timedelta(days=IMPACT_WINDOW)
    window_start = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    shipped: dict[Any, dict[date, int]] = defaultdict(dict)
    net: dict[Any, dict[date, int]] = defaultdict(dict)
    daily = (
        Movement.objects.filter(in_categories, created_at__gte=window_start)
        .annotate(day=TruncDate("created_at"))
        .values("stock__variant__product__category_id", "day")
        .annotate(
            net=Sum("quantity"),
            shipped=Coalesce(
                Sum(
                    Case(
                        When(kind=MovementKind.SHIPMENT, then=F("quantity")),
                        default=Value(0),
                        output_field=IntegerField(),
                    )
                ),
                Value(0),
            ),
        )
        .order_by()
    )
    for row in daily:
        category = row["stock__variant__product__category_id"]
        shipped[category][row["day"]] = -row["shipped"]
        net[category][row["day"]] = row["net"]
    stock_in = Q(variant__product__category_id__in=[c for c in categories if c])
    if None in categories:
        stock_in |= Q(variant__product__category__isnull=True)
    on_hand_now = dict(
        Stock.objects.filter(stock_in)
        .values("variant__product__category_id")
        .annotate(units=Sum("on_hand"))
        .values_list("variant__product__category_id", "units")
    )

    def total(series: dict[date, int], start: date, end: date) -> int:
        return sum(value for day, value in series.items() if start <= day <= end)

    impact: dict[str, dict[str, Any]] = {}
    for row in groups:
        category, day = row["product__category_id"], row["day"]
        after_days = max(1, min(IMPACT_WINDOW, (today - day).days + 1))
        before = total(shipped[category], day - timedelta(days=IMPACT_WINDOW), day - timedelta(1))
        after = total(shipped[category], day, day + timedelta(days=after_days - 1))
        now_units = on_hand_now.get(category, 0)
        stock_before = now_units - total(net[category], day, today)
        stock_after = now_units - total(net[category], day + timedelta(days=after_days), today)
        entry = impact.setdefault(
            row["reason"],
            {
                "reason": row["reason"],
                "events": 0,
                "on_hand": 0,
                "sold_before": 0,
                "sales_before_per_day": 0.0,
                "sales_after_per_day": 0.0,
                "stock_before": 0,
                "stock_after": 0,
            },
        )
        entry["events"] += row["events"]
        entry["on_hand"] += row["on_hand"] or 0
        entry["sold_before"] += row["sold_before"] or 0
        entry["sales_before_per_day"] += before / IMPACT_WINDOW
        entry["sales_after_per_day"] += after / after_days
        entry["stock_before"] += stock_before
        entry["stock_after"] += stock_after
    return sorted(impact.values(), key=lambda entry: -entry["events"])


def review_figures(now: datetime) -> dict[str, Any]:
    return {
        "pending": Review.objects.filter(status=Review.Status.PENDING).count(),
        "low": list(
            low_rating_products(now=now).values("pk", "title", "recent_average", "recent_reviews")[
                :5
            ]
        ),
    }


def compliance_figures() -> list[tuple[str, int]]:
    return list(
        ComplianceFlag.objects.filter(resolved_at__isnull=True)
        .values("code")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("code", "n")
    )


def dashboard_figures(now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the dashboard, in a constant number of queries."""
    now = now or timezone.now()
    stock = stock_figures()
    sales = sales_figures(now)
    # Turnover: cost of the units shipped over the period, a year's worth, over the stock
    # value at cost; days of cover: units on hand over units shipped per day.
    annual_cost = sales["cost"] * Decimal(365) / Decimal(SALES_DAYS)
    turnover = float(annual_cost / stock["value"]) if stock["value"] else None
    per_day = sales["units"] / SALES_DAYS
    days_of_cover = stock["units"] / per_day if per_day else None
    return {
        "computed_at": now,
        "stock": stock,
        "sales": sales,
        "turnover": turnover,
        "days_of_cover": days_of_cover,
        "slow": slow_movers(now),
        "returns": returns_figures(now),
        "scorecards": scorecards(now),
        "impact": delisting_impact(now),
        "reviews": review_figures(now),
        "compliance": compliance_figures(),
    }


def cached_figures() -> dict[str, Any]:
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return dashboard_figures()
    key = f"{CACHE_KEY}:{translation.get_language()}"
    figures = cache.get(key)
    if figures is None:
        figures = dashboard_figures()
        cache.set(key, figures, seconds)
    return figures


# --- charts --------------------------------------------------------------------------------

BAR = "#417690"
BAR_AFTER = "#d9822b"
TEXT = "#333"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str = ""
    url: str = ""


def _svg(width: int, height: int, label: str, body: list[str]) -> SafeString:
    return mark_safe(  # noqa: S308 - every text inside went through escape()
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _clip(text: str, length: int = 26) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def bar_chart(bars: list[Bar], *, label: str, width: int = 460) -> SafeString:
    """Horizontal bars, one row per item, the value written at the end of the bar."""
    row, left, right = 22, 170, 70
    height = max(1, len(bars)) * row + 4
    top = max((bar.value for bar in bars), default=0) or 1
    body = []
    for i, bar in enumerate(bars):
        y = i * row + 2
        length = max(0.0, bar.value) / top * (width - left - right)
        text = f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="12" fill="{TEXT}">'
        text += f"{escape(_clip(bar.label))}</text>"
        if bar.url:
            text = f'<a href="{escape(bar.url)}">{text}</a>'
        body.append(text)
        body.append(
            f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="{BAR}">'
            f"<title>{escape(bar.label)}: {escape(bar.shown or bar.value)}</title></rect>"
        )
        body.append(
            f'<text x="{left + length + 4:.1f}" y="{y + 15}" font-size="12" fill="{TEXT}">'
            f"{escape(bar.shown or bar.value)}</text>"
        )
    if not bars:
        body.append(f'<text x="4" y="16" font-size="12" fill="#777">{escape(_("No data"))}</text>')
    return _svg(width, height, label, body)


def paired_bar_chart(
    rows: list[tuple[str, float, float]], *, label: str, legend: tuple[str, str], width: int = 460
) -> SafeString:
    """Two bars per item (before / after), with a legend."""
    group, left, right = 40, 150, 60
    height = max(1, len(rows)) * group + 24
    top = max((max(b, a) for _label, b, a in rows), default=0) or 1
    scale = (width - left - right) / top
    body = [
        f'<rect x="{left}" y="4" width="10" height="10" fill="{BAR}"/>'
        f'<text x="{left + 14}" y="13" font-size="11" fill="{TEXT}">{escape(legend[0])}</text>',
        f'<rect x="{left + 120}" y="4" width="10" height="10" fill="{BAR_AFTER}"/>'
        f'<text x="{left + 134}" y="13" font-size="11" fill="{TEXT}">{escape(legend[1])}</text>',
    ]
    for i, (name, before, after) in enumerate(rows):
        y = 22 + i * group
        body.append(
            f'<text x="{left - 6}" y="{y + 20}" text-anchor="end" font-size="12" '
            f'fill="{TEXT}">{escape(_clip(name, 22))}</text>'
        )
        for offset, value, colour in ((2, before, BAR), (19, after, BAR_AFTER)):
            body.append(
                f'<rect x="{left}" y="{y + offset}" width="{max(0.0, value) * scale:.1f}" '
                f'height="15" fill="{colour}"/>'
                f'<text x="{left + max(0.0, value) * scale + 4:.1f}" y="{y + offset + 12}" '
                f'font-size="11" fill="{TEXT}">{value:.1f}</text>'
            )
    if not rows:
        body.append(f'<text x="4" y="36" font-size="12" fill="#777">{escape(_("No data"))}</text>')
    return _svg(width, height, label, body)


def line_chart(
    points: list[tuple[date, float]], *, label: str, width: int = 460, height: int = 150
) -> SafeString:
    """A line over days, with the first and last day and the highest value written."""
    left, bottom, top_margin = 36, 20, 10
    top = max((float(value) for _day, value in points), default=0) or 1
    inner_w, inner_h = width - left - 8, height - bottom - top_margin
    step = inner_w / max(1, len(points) - 1)
    coordinates = " ".join(
        f"{left + i * step:.1f},{top_margin + inner_h - float(value) / top * inner_h:.1f}"
        for i, (_day, value) in enumerate(points)
    )
    body = [
        f'<line x1="{left}" y1="{top_margin + inner_h}" x2="{width - 8}" '
        f'y2="{top_margin + inner_h}" stroke="#bbb"/>',
        f'<text x="{left - 4}" y="{top_margin + 8}" text-anchor="end" font-size="11" '
        f'fill="{TEXT}">{escape(_format_number(top))}</text>',
        f'<text x="{left - 4}" y="{top_margin + inner_h}" text-anchor="end" font-size="11" '
        f'fill="{TEXT}">0</text>',
        f'<polyline fill="none" stroke="{BAR}" stroke-width="2" points="{coordinates}"/>',
    ]
    if points:
        body.append(
            f'<text x="{left}" y="{height - 4}" font-size="11" fill="{TEXT}">'
            f"{points[0][0]:%m-%d}</text>"
            f'<text x="{width - 8}" y="{height - 4}" text-anchor="end" font-size="11" '
            f'fill="{TEXT}">{points[-1][0]:%m-%d}</text>'
        )
    return _svg(width, height, label, body)


def _format_number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float | Decimal) and value != int(value):
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# --- the page --------------------------------------------------------------------------------


def dashboard_context() -> dict[str, Any]:
    """What templates/admin/stockroom/dashboard.html shows."""
    figures = cached_figures()
    stock, sales = figures["stock"], figures["sales"]
    stock_list = reverse("admin:inventory_stock_changelist")
    product_url = "admin:catalog_product_change"
    reasons = dict(DelistReason.choices)
    return_reasons = dict(ReturnReason.choices)
    codes = dict(ComplianceFlag.Code.choices)
    impact_rows = [
        {
            **entry,
            "label": str(reasons.get(entry["reason"], entry["reason"])),
            "url": reverse("admin:catalog_product_changelist")
            + f"?status__exact=delisted&delist_reason__exact={entry['reason']}",
        }
        for entry in figures["impact"]
    ]
    return {
        "dashboard": {
            "computed_at": figures["computed_at"],
            "stock_value": _format_number(stock["value"]),
            "stock_units": _format_number(stock["units"]),
            "turnover": "—" if figures["turnover"] is None else f"{figures['turnover']:.1f}×",
            "days_of_cover": _format_number(
                None if figures["days_of_cover"] is None else round(figures["days_of_cover"])
            ),
            "sales_days": SALES_DAYS,
            "units_shipped": _format_number(sales["units"]),
            "low_count": stock["low"],
            "out_count": stock["out"],
            "low_url": f"{stock_list}?state=low",
            "out_url": f"{stock_list}?state=out",
            "value_chart": bar_chart(
                [
                    Bar(str(name), float(value), _format_number(value))
                    for name, value in stock["by_category"]
                ],
                label=_("Stock value by category"),
            ),
            "trend_chart": line_chart(sales["trend"], label=_("Units shipped per day")),
            "revenue_chart": line_chart(
                sales["revenue_trend"], label=_("Order value per day (not cancelled)")
            ),
            "top_chart": bar_chart(
                [
                    Bar(
                        row["stock__variant__product__title"],
                        row["units"],
                        url=reverse(product_url, args=[row["stock__variant__product_id"]]),
                    )
                    for row in sales["top"]
                ],
                label=_("Top sellers: units shipped"),
            ),
            "slow": figures["slow"],
            "slow_chart": bar_chart(
                [
                    Bar(
                        f"{row['variant__sku']} @ {row['warehouse__code']}",
                        float(row["value"] or 0),
                        _format_number(row["value"] or 0),
                        url=reverse(product_url, args=[row["variant__product_id"]]),
                    )
                    for row in figures["slow"]["rows"]
                ],
                label=_("Slow movers: stock value without a sale"),
            ),
            "returns": {
                **figures["returns"],
                "rate_shown": _percent(figures["returns"]["rate"]),
            },
            "returns_chart": bar_chart(
                [
                    Bar(str(return_reasons.get(reason, reason)), units)
                    for reason, units in figures["returns"]["by_reason"]
                ],
                label=_("Returned units by reason"),
            ),
            "scorecards": [
                {
                    **row,
                    "url": reverse("admin:suppliers_supplier_change", args=[row["pk"]]),
                    "on_time": _percent(row["on_time_rate"]),
                    "fill": _percent(row["fill_rate"]),
                    "rejection": _percent(row["rejection_rate"]),
                    "returns": _percent(row["return_rate"]),
                }
                for row in figures["scorecards"]
            ],
            "scorecard_chart": bar_chart(
                [
                    Bar(
                        row["name"],
                        (row["on_time_rate"] or 0) * 100,
                        _percent(row["on_time_rate"]),
                        url=reverse("admin:suppliers_supplier_change", args=[row["pk"]]),
                    )
                    for row in figures["scorecards"]
                ],
                label=_("Suppliers: on-time delivery, last 90 days"),
            ),
            "impact": impact_rows,
            "impact_chart": paired_bar_chart(
                [
                    (row["label"], row["sales_before_per_day"], row["sales_after_per_day"])
                    for row in impact_rows
                ],
                label=_("Delisting impact: category sales per day, before and after"),
                legend=(_("before"), _("after")),
            ),
            "impact_days": IMPACT_DAYS,
            "impact_window": IMPACT_WINDOW,
            "reviews": figures["reviews"],
            "pending_reviews_url": reverse("admin:reviews_review_changelist")
            + "?status__exact=pending",
            "ratings_url": reverse("admin:reviews_ratingsummary_changelist") + "?alert=low",
            "compliance": [(str(codes.get(code, code)), n) for code, n in figures["compliance"]],
            "compliance_url": reverse("admin:catalog_flaggedproduct_changelist"),
        }
    }
