"""Inventory admin. Levels are read-only here: they change through actions that call
inventory.services, and the ledger can be read but never added to, changed or deleted."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from backoffice.admin_actions import form_action
from backoffice.admin_filters import FilterSetListFilter
from backoffice.admin_list import FastRowsMixin
from backoffice.admin_permissions import requires
from backoffice.admin_readonly import ReadOnlyAdminMixin
from backoffice.admin_run_now import RunNowMixin
from backoffice.admin_search import SkuSearchMixin, matching_variant_ids
from backoffice.admin_sheets import SheetImportMixin
from backoffice.errors import DomainError
from backoffice.paginator import EstimatedCountPaginator
from backoffice.services import submission_claim
from backoffice.spreadsheets.exporting import SafeExportMixin

from . import services, tasks
from .filters import StockLevelFilterSet
from .forms import AdjustForm, TransferForm
from .models import (
    Allocation,
    AllocationLot,
    Location,
    Lot,
    LotStock,
    Movement,
    Stock,
    StockAlert,
    StockAuditFinding,
    StockAuditRun,
    Warehouse,
)
from .resources import StockResource

# Per-row actions (adjust, transfer) are for a handful of rows; big changes go
# through restock or a stock import, which are set-based.
PER_ROW_ACTION_LIMIT = 500
TOO_MANY_ROWS = _(
    "Select at most %(limit)s stock rows for this action (%(count)s selected); use restock or a "
    "stock import for larger changes. Nothing was changed."
)


class LocationInline(admin.TabularInline):
    model = Location
    extra = 0
    fields = ["code", "zone", "is_active"]


@admin.register(Warehouse)
class WarehouseAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    inlines = [LocationInline]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "warehouse", "zone", "is_active"]
    list_select_related = ["warehouse"]
    list_filter = ["warehouse", "zone", "is_active"]
    search_fields = ["code", "warehouse__code"]


class StockStateFilter(admin.SimpleListFilter):
    title = _("stock state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("out", _("Out of stock")),
            ("low", _("Low (available ≤ reorder point)")),
            ("over", _("Over maximum")),
            ("ok", _("In stock")),
        ]

    def queryset(self, request, queryset):
        available = F("on_hand") - F("allocated")
        queryset = queryset.alias(available_units=available)
        if self.value() == "out":
            return queryset.filter(available_units__lte=0)
        if self.value() == "low":
            return queryset.filter(available_units__gt=0, available_units__lte=F("reorder_point"))
        if self.value() == "over":
            return queryset.filter(max_level__isnull=False, on_hand__gt=F("max_level"))
        if self.value() == "ok":
            return queryset.filter(available_units__gt=F("reorder_point"))
        return queryset


class StockLevelFilter(FilterSetListFilter):
    title = _("level")
    filterset_class = StockLevelFilterSet


@admin.register(Stock)
class StockAdmin(
    FastRowsMixin, SheetImportMixin, SafeExportMixin, SkuSearchMixin, SimpleHistoryAdmin
):
    resource_classes = [StockResource]
    has_adjust_permission = requires("inventory.adjust_stock")
    has_transfer_permission = requires("inventory.transfer_stock")
    list_display = [
        "sku",
        "product",
        "warehouse",
        "on_hand",
        "allocated",
        "available",
        "safety_stock",
        "reorder_point",
        "max_level",
        "state",
    ]
    list_select_related = ["variant__product", "warehouse"]
    list_filter = ["warehouse", StockStateFilter, StockLevelFilter]
    search_fields = ["variant__sku__exact"]
    autocomplete_fields = ["variant", "default_location"]
    # The lots are shown, not edited: a field, not an inline, so that the form posts
    # only the row's own settings.
    readonly_fields = ["on_hand", "allocated", "backorders_allowed", "lots"]
    show_full_result_count = False
    list_per_page = 50
    paginator = EstimatedCountPaginator
    actions = ["adjust_action", "transfer_action"]

    def get_queryset(self, request):
        available = F("on_hand") - F("allocated")
        return (
            super()
            .get_queryset(request)
            .annotate(
                _available=available,
                _level=Case(
                    When(Q(on_hand__lte=F("allocated")), then=Value("out")),
                    When(
                        Q(max_level__isnull=False, on_hand__gt=F("max_level")), then=Value("over")
                    ),
                    When(Q(on_hand__lte=F("allocated") + F("reorder_point")), then=Value("low")),
                    default=Value("ok"),
                    output_field=CharField(),
                ),
            )
        )

    def sku_search(self, term):
        ids = matching_variant_ids(term)
        return Q(variant_id__in=ids) if ids else None

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["variant", "warehouse"]
        return fields

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, obj):
        return obj.variant.sku

    @admin.display(description=_("product"))
    def product(self, obj):
        return obj.variant.product.title

    @admin.display(description=_("available"), ordering="_available")
    def available(self, obj):
        return obj._available

    @admin.display(description=_("lots"))
    def lots(self, obj):
        """The lots the row holds (lot-tracked SKUs), earliest expiry first."""
        rows = (
            LotStock.objects.filter(stock=obj, on_hand__gt=0)
            .order_by(F("lot__expiry").asc(nulls_last=True), "lot__received_at", "lot_id")
            .values_list("lot__code", "lot__expiry", "on_hand", "allocated")
        )
        if not rows:
            return "—"
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            gettext("lot"),
            gettext("expiry date"),
            gettext("on hand"),
            gettext("allocated"),
        )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (code, expiry or "—", on_hand, allocated)
                for code, expiry, on_hand, allocated in rows
            ),
        )
        return format_html("<table>{}{}</table>", head, body)

    @admin.display(description=_("state"), ordering="_level")
    def state(self, obj):
        return {
            "out": gettext("Out of stock"),
            "low": gettext("Low"),
            "over": gettext("Over maximum"),
            "ok": gettext("In stock"),
        }[obj._level]

    def has_delete_permission(self, request, obj=None):
        return False

    def _per_row(self, request, queryset, data, operation_name, operation):
        """Run ``operation`` on each selected stock row, all or none, once per form."""
        count = queryset.count()
        if count > PER_ROW_ACTION_LIMIT:
            raise DomainError(TOO_MANY_ROWS % {"limit": PER_ROW_ACTION_LIMIT, "count": count})
        with transaction.atomic():
            submission_claim(
                key=data["submission_key"], operation=operation_name, actor=request.user
            )
            rows = list(queryset.select_related("variant", "warehouse").order_by("pk"))
            for stock in rows:
                operation(stock)
        return len(rows)

    @admin.action(description=_("Adjust on hand…"), permissions=["adjust"])
    def adjust_action(self, request, queryset):
        def perform(data):
            count = self._per_row(
                request,
                queryset,
                data,
                "adjust",
                lambda stock: services.adjust(
                    variant=stock.variant,
                    warehouse=stock.warehouse,
                    quantity=data["quantity"],
                    reason=data["reason"],
                    actor=request.user,
                    lot_code=data.get("lot_code") or "",
                    expiry=data.get("expiry"),
                ),
            )
            return gettext("On hand changed by %(quantity)+d on %(count)s stock rows.") % {
                "quantity": data["quantity"],
                "count": count,
            }

        return form_action(
            self, request, queryset, form_class=AdjustForm, title=_("Adjust"), perform=perform
        )

    @admin.action(description=_("Transfer to another warehouse…"), permissions=["transfer"])
    def transfer_action(self, request, queryset):
        def perform(data):
            count = self._per_row(
                request,
                queryset,
                data,
                "transfer",
                lambda stock: services.transfer(
                    variant=stock.variant,
                    source=stock.warehouse,
                    destination=data["destination"],
                    quantity=data["quantity"],
                    reason=data["reason"],
                    actor=request.user,
                ),
            )
            return gettext("%(quantity)s units of %(count)s SKUs moved to %(warehouse)s.") % {
                "quantity": data["quantity"],
                "count": count,
                "warehouse": data["destination"].code,
            }

        return form_action(
            self, request, queryset, form_class=TransferForm, title=_("Transfer"), perform=perform
        )


def _stock_ids(term: str) -> list[int]:
    ids = matching_variant_ids(term)
    return (
        list(Stock.objects.filter(variant_id__in=ids).values_list("pk", flat=True)) if ids else []
    )


class StockRowColumns:
    """SKU and warehouse columns (and SKU search) for rows that point at a stock row."""

    def sku_search(self, term):
        ids = _stock_ids(term)
        return Q(stock_id__in=ids) if ids else None

    @admin.display(description=_("SKU"), ordering="stock__variant__sku")
    def sku(self, obj):
        return obj.stock.variant.sku

    @admin.display(description=_("warehouse"))
    def warehouse(self, obj):
        return obj.stock.warehouse.code


class ReadOnlyAdmin(FastRowsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rows written only by services: viewable, never added, changed or deleted here."""


@admin.register(Movement)
class MovementAdmin(StockRowColumns, SkuSearchMixin, ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "sku",
        "warehouse",
        "lot",
        "quantity",
        "on_hand_after",
        "reference",
        "reason",
        "actor",
    ]
    list_select_related = ["stock__variant", "stock__warehouse", "lot", "actor"]
    list_filter = ["kind", "stock__warehouse"]
    search_fields = ["reference__exact"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 100


class AllocationLotInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The lots a lot-tracked allocation took."""

    model = AllocationLot
    fields = ["lot_stock", "allocated_quantity", "quantity"]
    readonly_fields = fields
    extra = 0
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lot_stock__lot")


@admin.register(Allocation)
class AllocationAdmin(StockRowColumns, SkuSearchMixin, ReadOnlyAdmin):
    list_display = ["created_at", "reference", "sku", "warehouse", "allocated_quantity", "quantity"]
    list_select_related = ["stock__variant", "stock__warehouse"]
    list_filter = ["stock__warehouse"]
    search_fields = ["reference__exact"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = [AllocationLotInline]


class LotExpiryFilter(admin.SimpleListFilter):
    title = _("expiry")
    parameter_name = "expires"

    def lookups(self, request, model_admin):
        return [
            ("expired", _("Expired")),
            ("soon", _("Expiring soon")),
            ("later", _("Later")),
            ("none", _("No expiry date")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        soon = today + timedelta(days=settings.EXPIRY_ALERT_DAYS)
        if self.value() == "expired":
            return queryset.filter(expiry__lt=today)
        if self.value() == "soon":
            return queryset.filter(expiry__gte=today, expiry__lte=soon)
        if self.value() == "later":
            return queryset.filter(expiry__gt=soon)
        if self.value() == "none":
            return queryset.filter(expiry__isnull=True)
        return queryset


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    """Lots are created by receipts; they are read here, never edited."""

    list_display = ["code", "sku", "expiry", "expired", "on_hand", "received_at"]
    list_select_related = ["variant"]
    list_filter = [LotExpiryFilter]
    search_fields = ["code__iexact", "variant__sku__exact"]
    autocomplete_fields = ["variant"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        units = (
            LotStock.objects.filter(lot=OuterRef("pk"))
            .order_by()
            .values("lot")
            .annotate(total=Sum("on_hand"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(_on_hand=Coalesce(Subquery(units, output_field=IntegerField()), Value(0)))
        )

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, obj):
        return obj.variant.sku

    @admin.display(description=_("on hand"), ordering="_on_hand")
    def on_hand(self, obj):
        return obj._on_hand

    @admin.display(description=_("expired"), boolean=True)
    def expired(self, obj):
        return obj.expiry is not None and obj.expiry < timezone.localdate()


class FindingInline(StockRowColumns, ReadOnlyAdminMixin, admin.TabularInline):
    model = StockAuditFinding
    fields = ["kind", "sku", "warehouse", "expected", "actual", "allocation"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("stock__variant", "stock__warehouse", "allocation")
        )


@admin.register(StockAuditRun)
class StockAuditRunAdmin(RunNowMixin, ReadOnlyAdmin):
    list_display = [
        "started_at",
        "findings_count",
        "stock_rows",
        "movements",
        "duration_ms",
        "actor",
    ]
    list_select_related = ["actor"]
    date_hierarchy = "started_at"
    inlines = [FindingInline]
    run_now_task = tasks.stock_audit_now
    run_now_label = _("Run the stock audit now")
    run_now_message = _("The stock audit was started; its result appears in this list.")
    run_now_permission = "inventory.run_stock_audit"


class AlertStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("resolved", _("Resolved")), ("all", _("All"))]

    def choices(self, changelist):
        # Open is the default: what needs attention now.
        for value, label in self.lookup_choices:
            selected = (self.value() or "open") == value
            yield {
                "selected": selected,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        state = self.value() or "open"
        if state == "open":
            return queryset.filter(resolved_at__isnull=True)
        if state == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(StockAlert)
class StockAlertAdmin(StockRowColumns, SkuSearchMixin, RunNowMixin, ReadOnlyAdmin):
    list_display = [
        "kind",
        "sku",
        "warehouse",
        "on_hand_now",
        "available_now",
        "threshold",
        "opened_at",
        "resolved_at",
    ]
    list_select_related = ["stock__variant", "stock__warehouse"]
    list_filter = [AlertStateFilter, "kind", "stock__warehouse"]
    search_fields = ["stock__variant__sku__exact"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    run_now_task = tasks.stock_alerts_now
    run_now_label = _("Refresh the alerts now")
    run_now_message = _("The alerts were refreshed.")
    run_now_permission = "inventory.refresh_stock_alerts"

    @admin.display(description=_("on hand now"))
    def on_hand_now(self, obj):
        return obj.stock.on_hand

    @admin.display(description=_("available now"))
    def available_now(self, obj):
        return obj.stock.on_hand - obj.stock.allocated
