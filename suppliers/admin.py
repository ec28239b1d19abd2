"""Suppliers and purchasing admin: configuration, and actions that call suppliers.services.

Pages: suppliers with their scorecards (sortable columns, a period on the
change page), price lists with quantity breaks, purchase orders with their
lines and the send / receive / amend / return / cancel / close actions,
goods receipts and returns to suppliers (read-only documents), and the
replenishment suggestions page.
"""

from __future__ import annotations

import re
import uuid

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import (
    DecimalField,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from backoffice.admin_actions import (
    LinesThroughServicesMixin,
    admin_link,
    each,
    form_action,
    only_one,
    refused,
)
from backoffice.admin_permissions import RefuseUnavailableActionsMixin, requires
from backoffice.admin_readonly import ReadOnlyAdminMixin
from backoffice.admin_search import SkuSearchMixin, matching_variant_ids
from backoffice.admin_sheets import SheetImportMixin
from backoffice.errors import DomainError
from backoffice.paginator import EstimatedCountPaginator
from backoffice.spreadsheets.exporting import SafeExportMixin

from . import selectors, services
from .forms import (
    SELECT_ONE_ORDER,
    AmendForm,
    PriceBreakFormSet,
    PurchaseOrderLineForm,
    PurchaseOrderLineFormSet,
    ReasonForm,
    ReceiveForm,
    ReplenishmentFilterForm,
    ScorecardPeriodForm,
    SupplierPriceForm,
    SupplierReturnForm,
)
from .models import (
    OPEN_STATUSES,
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderAmendment,
    PurchaseOrderLine,
    Replenishment,
    Supplier,
    SupplierPrice,
    SupplierPriceBreak,
    SupplierReturn,
    SupplierReturnLine,
)
from .resources import PurchaseOrderLineResource, SupplierPriceResource, SupplierResource
from .selectors import percent

NOTHING_TO_RETURN = _("%(number)s has no rejected goods waiting to go back to the supplier.")
PO_NUMBER = re.compile(r"^\s*(?:PO-?)?0*(\d{1,12})\s*$", re.IGNORECASE)


# --- suppliers and scorecards ------------------------------------------------------------------

SCORECARD_DAYS = {"30": 30, "90": 90, "180": 180, "365": 365}


class ScorecardPeriodFilter(admin.SimpleListFilter):
    """Chooses the period of the scorecard columns (the annotation is in get_queryset)."""

    title = _("scorecard period")
    parameter_name = "period"

    def lookups(self, request, model_admin):
        return [
            ("30", _("Last 30 days")),
            ("180", _("Last 180 days")),
            ("365", _("Last 365 days")),
        ]

    def choices(self, changelist):
        choices = list(super().choices(changelist))
        choices[0]["display"] = _("Last 90 days")
        return choices

    def queryset(self, request, queryset):
        return queryset


def scorecard_days(request) -> int:
    return SCORECARD_DAYS.get(request.GET.get(ScorecardPeriodFilter.parameter_name, ""), 90)


def scorecard_rows(card: selectors.Scorecard) -> list[tuple[str, str, str]]:
    """(figure, value, what it is made of) for the supplier's change page."""
    return [
        (
            gettext("On-time delivery"),
            percent(card.on_time_rate),
            gettext("%(on_time)s of %(count)s deliveries on or before the expected date")
            % {"on_time": card.on_time_deliveries, "count": card.deliveries},
        ),
        (
            gettext("Fill rate"),
            percent(card.fill_rate),
            gettext("%(filled)s of %(ordered)s units accepted, on orders due in the period")
            % {"filled": card.filled_units, "ordered": card.ordered_units},
        ),
        (
            gettext("Rejection rate"),
            percent(card.rejection_rate),
            gettext("%(rejected)s of %(received)s units received were rejected")
            % {"rejected": card.rejected_units, "received": card.received_units},
        ),
        (
            gettext("Price variance"),
            percent(card.price_variance),
            gettext("paid %(paid)s against %(listed)s at price-list costs")
            % {"paid": card.paid_amount, "listed": card.list_amount},
        ),
        (
            gettext("Customer return rate"),
            percent(card.return_rate),
            gettext("%(returned)s units returned of %(shipped)s shipped, of its preferred SKUs")
            % {"returned": card.returned_units, "shipped": card.shipped_units},
        ),
    ]


@admin.register(Supplier)
class SupplierAdmin(SheetImportMixin, SafeExportMixin, SimpleHistoryAdmin):
    resource_classes = [SupplierResource]
    list_display = [
        "code",
        "name",
        "contact_name",
        "lead_time_days",
        "is_active",
        "on_time",
        "fill",
        "rejection",
        "price_variance",
        "return_rate",
    ]
    list_filter = ["is_active", "currency", ScorecardPeriodFilter]
    search_fields = ["code", "name", "contact_name", "email"]
    fieldsets = [
        (None, {"fields": ["code", "name", "is_active"]}),
        (_("Contact"), {"fields": ["contact_name", "email", "phone", "address"]}),
        (
            _("Terms"),
            {
                "fields": [
                    "payment_terms",
                    "currency",
                    "lead_time_days",
                    "receipt_tolerance_percent",
                ]
            },
        ),
        (None, {"fields": ["notes"]}),
    ]

    def get_queryset(self, request):
        start, end = selectors.default_period(days=scorecard_days(request))
        return selectors.supplier_scorecards(super().get_queryset(request), start=start, end=end)

    @admin.display(description=_("on time"), ordering="on_time_rate")
    def on_time(self, obj):
        return percent(obj.on_time_rate)

    @admin.display(description=_("fill rate"), ordering="fill_rate")
    def fill(self, obj):
        return percent(obj.fill_rate)

    @admin.display(description=_("rejected"), ordering="rejection_rate")
    def rejection(self, obj):
        return percent(obj.rejection_rate)

    @admin.display(description=_("price variance"), ordering="price_variance")
    def price_variance(self, obj):
        return percent(obj.price_variance)

    @admin.display(description=_("customer returns"), ordering="return_rate")
    def return_rate(self, obj):
        return percent(obj.return_rate)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        supplier = Supplier.objects.filter(pk=unquote(object_id)).first()
        if supplier is not None and request.method == "GET":
            period_form = ScorecardPeriodForm(request.GET if "sc_from" in request.GET else None)
            start, end = period_form.period()
            if not period_form.is_bound:
                period_form = ScorecardPeriodForm(initial={"sc_from": start, "sc_to": end})
            card = selectors.supplier_scorecard(supplier=supplier, start=start, end=end)
            extra_context.update(
                scorecard=card, scorecard_rows=scorecard_rows(card), period_form=period_form
            )
        return super().change_view(request, object_id, form_url, extra_context)


# --- price lists -------------------------------------------------------------------------------


class SupplierPriceBreakInline(admin.TabularInline):
    model = SupplierPriceBreak
    formset = PriceBreakFormSet
    extra = 0
    fields = ["min_quantity", "unit_cost"]


@admin.register(SupplierPrice)
class SupplierPriceAdmin(SheetImportMixin, SafeExportMixin, SkuSearchMixin, SimpleHistoryAdmin):
    resource_classes = [SupplierPriceResource]
    """Saved through ``services.supplier_price_set`` (the same door as imports)."""

    form = SupplierPriceForm
    list_display = [
        "variant",
        "supplier",
        "supplier_sku",
        "unit_cost",
        "moq",
        "pack_size",
        "lead_time_days",
        "is_preferred",
        "updated_at",
    ]
    list_select_related = ["variant", "supplier"]
    list_filter = ["is_preferred", "supplier"]
    search_fields = ["supplier_sku", "supplier__code"]
    autocomplete_fields = ["supplier", "variant"]
    inlines = [SupplierPriceBreakInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def sku_search(self, term):
        ids = matching_variant_ids(term)
        return Q(variant_id__in=ids) if ids else None

    def get_readonly_fields(self, request, obj=None):
        return ["supplier", "variant"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        pass  # written by save_related, with its breaks, through the service

    def save_related(self, request, form, formsets, change):
        instance = form.instance
        data = form.cleaned_data
        breaks = next(
            (fs.price_breaks for fs in formsets if isinstance(fs, PriceBreakFormSet)), None
        )
        price = services.supplier_price_set(
            supplier=instance.supplier,
            variant=instance.variant,
            unit_cost=data["unit_cost"],
            supplier_sku=data.get("supplier_sku") or "",
            moq=data["moq"],
            pack_size=data["pack_size"],
            lead_time_days=data.get("lead_time_days"),
            is_preferred=data.get("is_preferred", False),
            breaks=breaks,
            actor=request.user,
        )
        instance.pk = price.pk
        instance.refresh_from_db()
        for formset in formsets:  # saved by the service, not by the formsets
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:  # refused by the service after the form's own checks
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


# --- purchase orders ---------------------------------------------------------------------------


class PurchaseOrderLineInline(admin.TabularInline):
    """Edited while the order is a draft; afterwards read-only (amend through the action)."""

    model = PurchaseOrderLine
    form = PurchaseOrderLineForm
    formset = PurchaseOrderLineFormSet
    autocomplete_fields = ["variant"]
    readonly_fields = [
        "line_number",
        "list_unit_cost",
        "received_quantity",
        "accepted_quantity",
        "rejected_quantity",
        "line_total",
    ]

    def _editable(self, obj) -> bool:
        return obj is None or obj.status == PurchaseOrder.Status.DRAFT

    def get_fields(self, request, obj=None):
        if self._editable(obj):
            return ["line_number", "variant", "quantity", "unit_cost", "list_unit_cost"]
        return [
            "line_number",
            "variant",
            "quantity",
            "unit_cost",
            "list_unit_cost",
            "line_total",
            "received_quantity",
            "accepted_quantity",
            "rejected_quantity",
        ]

    def get_readonly_fields(self, request, obj=None):
        if self._editable(obj):
            return self.readonly_fields
        return self.get_fields(request, obj)

    def get_extra(self, request, obj=None, **kwargs):
        return 3 if obj is None else 0

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant")

    @admin.display(description=_("total"))
    def line_total(self, obj):
        return obj.total if obj.pk else "—"


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class GoodsReceiptInline(ReadOnlyInline):
    model = GoodsReceipt
    fields = ["receipt", "received_at", "actor", "delivery_note", "contents"]
    readonly_fields = fields

    def get_queryset(self, request):
        lines = GoodsReceiptLine.objects.select_related("order_line__variant")
        return (
            super()
            .get_queryset(request)
            .select_related("actor")
            .prefetch_related(Prefetch("lines", queryset=lines))
        )

    @admin.display(description=_("receipt"))
    def receipt(self, obj):
        return admin_link(obj)

    @admin.display(description=_("received / accepted / rejected"))
    def contents(self, obj):
        return format_html_join(
            "",
            "<div>{} {}: {} / {} / {} {}</div>",
            (
                (
                    line.order_line.reference,
                    line.order_line.variant.sku,
                    line.received,
                    line.accepted,
                    line.rejected,
                    line.get_rejection_reason_display() if line.rejected else "",
                )
                for line in obj.lines.all()
            ),
        )


class AmendmentInline(ReadOnlyInline):
    model = PurchaseOrderAmendment
    fields = ["created_at", "actor", "reason", "what_changed"]
    readonly_fields = fields

    @admin.display(description=_("changes"))
    def what_changed(self, obj):
        rows = []
        for change in obj.changes:
            label = change.get("line") or gettext("new line")
            for field in ("quantity", "unit_cost"):
                if field in change:
                    old, new = change[field]
                    rows.append((label, change.get("sku", ""), field, old or "—", new))
        return format_html_join("", "<div>{} {}: {} {} → {}</div>", rows)


class SupplierReturnInline(ReadOnlyInline):
    model = SupplierReturn
    fields = ["document", "created_at", "actor", "carrier_reference", "note"]
    readonly_fields = fields

    @admin.display(description=_("return to supplier"))
    def document(self, obj):
        return admin_link(obj)


def _line_sum(expression, output):
    rows = (
        PurchaseOrderLine.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(total=Sum(expression))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=output), Value(0), output_field=output)


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(
    RefuseUnavailableActionsMixin,
    LinesThroughServicesMixin,
    SheetImportMixin,
    SafeExportMixin,
    SimpleHistoryAdmin,
):
    resource_classes = [PurchaseOrderLineResource]
    list_display = [
        "number",
        "supplier",
        "warehouse",
        "status",
        "created_at",
        "sent_at",
        "expected_date",
        "total",
        "progress",
    ]
    list_select_related = ["supplier", "warehouse"]
    list_filter = ["status", "warehouse", ("expected_date", admin.DateFieldListFilter)]
    search_fields = ["supplier__code", "supplier__name", "supplier_reference"]
    autocomplete_fields = ["supplier", "warehouse"]
    inlines = [PurchaseOrderLineInline, GoodsReceiptInline, AmendmentInline, SupplierReturnInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = [
        "send_action",
        "receive_action",
        "amend_action",
        "return_action",
        "close_action",
        "cancel_action",
    ]
    readonly_fields = [
        "number",
        "status",
        "currency",
        "expected_date",
        "total",
        "created_at",
        "created_by",
        "sent_at",
        "completed_at",
        "closed_at",
        "cancelled_at",
        "status_note",
    ]
    fieldsets = [
        (None, {"fields": ["number", "supplier", "warehouse", "status"]}),
        (
            _("Order"),
            {"fields": ["supplier_reference", "note", "currency", "total", "expected_date"]},
        ),
        (
            _("History"),
            {
                "fields": [
                    ("created_at", "created_by"),
                    "sent_at",
                    "completed_at",
                    "closed_at",
                    "cancelled_at",
                    "status_note",
                ]
            },
        ),
    ]

    # Goods are received by the warehouse, which need not be allowed to edit orders.
    has_receive_permission = requires("suppliers.receive_purchaseorder")

    def get_queryset(self, request):
        money = DecimalField(max_digits=16, decimal_places=2)
        return (
            super()
            .get_queryset(request)
            .annotate(
                _total=_line_sum(F("quantity") * F("unit_cost"), money),
                _ordered=_line_sum(F("quantity"), IntegerField()),
                _accepted=_line_sum(F("accepted_quantity"), IntegerField()),
            )
        )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["supplier", "warehouse", "supplier_reference", "note"]})]
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*self.readonly_fields, "supplier", "warehouse"]

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        match = PO_NUMBER.match(search_term or "")
        if match:
            results = results | queryset.filter(pk=int(match.group(1)))
        return results, duplicates

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("number"), ordering="pk")
    def number(self, obj):
        return obj.number

    @admin.display(description=_("total"), ordering="_total")
    def total(self, obj):
        value = getattr(obj, "_total", None)
        if value is None:
            value = sum((line.total for line in obj.lines.all()), 0)
        return f"{value:.2f} {obj.currency}"

    @admin.display(description=_("accepted / ordered"))
    def progress(self, obj):
        return f"{obj._accepted} / {obj._ordered}"

    # Orders are written through the services, as by every other door.
    lines_formset_class = PurchaseOrderLineFormSet

    def create_document(self, request, data, lines):
        return services.purchase_order_create(
            supplier=data["supplier"],
            warehouse=data["warehouse"],
            lines=lines,
            note=data.get("note") or "",
            supplier_reference=data.get("supplier_reference") or "",
            actor=request.user,
        )

    def update_draft(self, request, document, lines):
        services.purchase_order_update_draft(order=document, lines=lines, actor=request.user)

    def is_draft(self, document):
        return document.status == PurchaseOrder.Status.DRAFT

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if object_id and request.method == "GET":
            order = PurchaseOrder.objects.filter(pk=unquote(object_id)).first()
            if order is not None:
                extra_context["po_buttons"] = self.buttons(order, self.get_actions(request))
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:  # refused by the service after the form's own checks
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def buttons(self, order: PurchaseOrder, allowed) -> list[tuple[str, str]]:
        """The actions that make sense for ``order`` and that the user may run, as buttons
        on its change page."""
        S = PurchaseOrder.Status
        available = {
            S.DRAFT: ["send_action", "cancel_action"],
            S.SENT: ["receive_action", "amend_action", "cancel_action"],
            S.PARTIALLY_RECEIVED: [
                "receive_action",
                "amend_action",
                "return_action",
                "close_action",
            ],
            S.RECEIVED: ["return_action", "close_action"],
            S.CLOSED: ["return_action"],
        }.get(order.status, [])
        return [
            (name, getattr(self, name).short_description) for name in available if name in allowed
        ]

    # --- actions -------------------------------------------------------------------------------

    @admin.action(description=_("Send to supplier"), permissions=["change"])
    def send_action(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda order: services.purchase_order_send(order=order, actor=request.user),
            gettext("%(count)s purchase orders sent."),
        )

    @admin.action(description=_("Cancel…"), permissions=["change"])
    def cancel_action(self, request, queryset):
        def perform(data):
            each(
                self,
                request,
                queryset,
                lambda order: services.purchase_order_cancel(
                    order=order, reason=data["reason"], actor=request.user
                ),
                gettext("%(count)s purchase orders cancelled."),
            )
            return gettext("Done.")

        return form_action(
            self, request, queryset, form_class=ReasonForm, title=_("Cancel"), perform=perform
        )

    @admin.action(description=_("Close…"), permissions=["change"])
    def close_action(self, request, queryset):
        def perform(data):
            each(
                self,
                request,
                queryset,
                lambda order: services.purchase_order_close(
                    order=order, reason=data["reason"], actor=request.user
                ),
                gettext("%(count)s purchase orders closed."),
            )
            return gettext("Done.")

        return form_action(
            self, request, queryset, form_class=ReasonForm, title=_("Close"), perform=perform
        )

    @admin.action(description=_("Receive goods…"), permissions=["receive"])
    def receive_action(self, request, queryset):
        order = only_one(self, request, queryset, SELECT_ONE_ORDER)
        if order is None or refused(
            self,
            request,
            lambda: services.require_status(order, OPEN_STATUSES, services.ACTION_RECEIVED),
        ):
            return None
        lines = list(order.lines.select_related("variant").order_by("line_number"))

        def perform(data):
            receipt = services.goods_receipt(
                order=order,
                lines=data["lines"],
                delivery_note=data["delivery_note"],
                note=data["note"],
                actor=request.user,
                submission_key=data["submission_key"],
            )
            receipt.order.refresh_from_db()
            return format_html(
                gettext("{receipt} recorded on {order}, which is now {status}."),
                receipt=admin_link(receipt),
                order=receipt.order.number,
                status=receipt.order.get_status_display(),
            )

        response = form_action(
            self,
            request,
            queryset,
            form_class=ReceiveForm,
            title=gettext("Receive goods on %(number)s") % {"number": order.number},
            perform=perform,
            form_kwargs={"lines": lines},
        )
        if isinstance(response, TemplateResponse):
            response.template_name = "admin/suppliers/purchaseorder/receive.html"
            response.context_data["order"] = order
        return response

    @admin.action(description=_("Amend lines…"), permissions=["change"])
    def amend_action(self, request, queryset):
        order = only_one(self, request, queryset, SELECT_ONE_ORDER)
        if order is None or refused(
            self,
            request,
            lambda: services.require_status(order, OPEN_STATUSES, services.ACTION_AMENDED),
        ):
            return None
        lines = list(order.lines.select_related("variant").order_by("line_number"))

        def perform(data):
            services.purchase_order_amend(
                order=order, changes=data["changes"], reason=data["reason"], actor=request.user
            )
            return gettext("%(number)s amended.") % {"number": order.number}

        return form_action(
            self,
            request,
            queryset,
            form_class=AmendForm,
            title=gettext("Amend %(number)s") % {"number": order.number},
            perform=perform,
            form_kwargs={"lines": lines},
        )

    @admin.action(description=_("Return rejected goods to supplier…"), permissions=["change"])
    def return_action(self, request, queryset):
        order = only_one(self, request, queryset, SELECT_ONE_ORDER)
        if order is None:
            return None
        lines = list(
            GoodsReceiptLine.objects.filter(
                receipt__order=order, rejected__gt=F("returned_quantity")
            )
            .select_related("receipt", "order_line__variant")
            .order_by("pk")
        )
        if not lines:
            self.message_user(request, NOTHING_TO_RETURN % {"number": order}, messages.ERROR)
            return None

        def perform(data):
            document = services.supplier_return_create(
                order=order,
                quantities=data["quantities"],
                carrier_reference=data["carrier_reference"],
                note=data["note"],
                actor=request.user,
                submission_key=data["submission_key"],
            )
            return format_html(
                gettext("{document} recorded: rejected goods go back to {supplier}."),
                document=admin_link(document),
                supplier=order.supplier,
            )

        return form_action(
            self,
            request,
            queryset,
            form_class=SupplierReturnForm,
            title=gettext("Return rejected goods of %(number)s") % {"number": order.number},
            perform=perform,
            form_kwargs={"lines": lines},
        )


# --- documents (read-only) -------------------------------------------------------------------


class GoodsReceiptLineInline(ReadOnlyInline):
    model = GoodsReceiptLine
    fields = [
        "order_line",
        "sku",
        "received",
        "accepted",
        "rejected",
        "rejection_reason",
        "rejection_note",
        "returned_quantity",
        "movement",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line__variant", "movement")

    @admin.display(description=_("SKU"))
    def sku(self, obj):
        return obj.order_line.variant.sku


@admin.register(GoodsReceipt)
class GoodsReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Receipts are written by the receive action (``services.goods_receipt``) only."""

    list_display = ["__str__", "order", "supplier", "received_at", "actor", "delivery_note"]
    list_select_related = ["order__supplier", "actor"]
    list_filter = [("received_at", admin.DateFieldListFilter)]
    search_fields = ["delivery_note", "order__supplier__code"]
    fields = ["order", "received_at", "actor", "delivery_note", "note"]
    readonly_fields = fields
    inlines = [GoodsReceiptLineInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "suppliers.view_purchaseorder"
        )

    @admin.display(description=_("supplier"))
    def supplier(self, obj):
        return obj.order.supplier


class SupplierReturnLineInline(ReadOnlyInline):
    model = SupplierReturnLine
    fields = ["receipt_line", "sku", "quantity", "reason"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("receipt_line__order_line__variant", "receipt_line__receipt")
        )

    @admin.display(description=_("SKU"))
    def sku(self, obj):
        return obj.receipt_line.order_line.variant.sku

    @admin.display(description=_("rejection reason"))
    def reason(self, obj):
        return obj.receipt_line.get_rejection_reason_display()


@admin.register(SupplierReturn)
class SupplierReturnAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Returns to suppliers are written by the purchase-order action only."""

    list_display = ["__str__", "supplier", "order", "created_at", "actor", "carrier_reference"]
    list_select_related = ["supplier", "order", "actor"]
    list_filter = [("created_at", admin.DateFieldListFilter)]
    search_fields = ["supplier__code", "carrier_reference"]
    fields = ["supplier", "order", "created_at", "actor", "carrier_reference", "note"]
    readonly_fields = fields
    inlines = [SupplierReturnLineInline]


# --- replenishment -----------------------------------------------------------------------------


@admin.register(Replenishment)
class ReplenishmentAdmin(admin.ModelAdmin):
    """The replenishment suggestions page (no table behind it: see ``selectors``)."""

    per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name=f"{opts.app_label}_{opts.model_name}_changelist",
            )
        ]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters = ReplenishmentFilterForm(request.GET or None)
        chosen = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
        days = chosen.get("days") or selectors.DEFAULT_DEMAND_DAYS
        warehouse, supplier = chosen.get("warehouse"), chosen.get("supplier")
        suggestions = selectors.replenishment_suggestions(
            days=days,
            warehouse_ids=[warehouse.pk] if warehouse else None,
            supplier_id=supplier.pk if supplier else None,
        )
        if request.method == "POST":
            return self.create_orders(request, suggestions, days)
        page = Paginator(suggestions, self.per_page).get_page(request.GET.get("p"))
        query = request.GET.copy()
        query.pop("p", None)
        context = {
            **self.admin_site.each_context(request),
            "title": self.model._meta.verbose_name_plural.capitalize(),
            "opts": self.model._meta,
            "app_label": self.model._meta.app_label,
            "filter_form": filters if filters.is_bound else ReplenishmentFilterForm(),
            "page": page,
            "count": len(suggestions),
            "without_supplier": sum(1 for s in suggestions if s.supplier_id is None),
            "days": days,
            "query": query.urlencode(),
            "submission_key": uuid.uuid4().hex,
            "can_order": request.user.has_perm("suppliers.add_purchaseorder"),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/suppliers/replenishment.html", context)

    def create_orders(self, request, suggestions, days):
        if not request.user.has_perm("suppliers.add_purchaseorder"):
            raise PermissionDenied
        if request.POST.get("select_across") == "1":
            stock_ids = [s.stock_id for s in suggestions]
        else:
            stock_ids = [int(pk) for pk in request.POST.getlist("stock") if pk.isdigit()]
        try:
            result = services.replenishment_create_orders(
                stock_ids=stock_ids,
                days=days,
                actor=request.user,
                submission_key=request.POST.get("submission_key"),
            )
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(
                request,
                format_html(
                    "{} {}",
                    ngettext(
                        "%(count)s draft purchase order created (%(lines)s lines):",
                        "%(count)s draft purchase orders created (%(lines)s lines):",
                        len(result.orders),
                    )
                    % {"count": len(result.orders), "lines": result.lines},
                    format_html_join(", ", "{}", ((admin_link(o),) for o in result.orders)),
                ),
                messages.SUCCESS,
            )
            if result.without_supplier:
                self.message_user(
                    request,
                    gettext(
                        "%(count)s SKUs were not ordered because they have no active preferred "
                        "supplier: %(skus)s."
                    )
                    % {
                        "count": len(result.without_supplier),
                        "skus": ", ".join(result.without_supplier[:50]),
                    },
                    messages.WARNING,
                )
            if result.not_needed:
                self.message_user(
                    request,
                    gettext("%(count)s selected rows no longer need replenishing.")
                    % {"count": result.not_needed},
                    messages.INFO,
                )
        return HttpResponseRedirect(request.get_full_path())
