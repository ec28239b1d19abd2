"""Orders admin: configuration, and actions that call orders.services once per order."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin, messages
from django.db.models import Prefetch
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from backoffice.admin_actions import admin_link, each, form_action, only_one, refused
from backoffice.admin_list import FastRowsMixin
from backoffice.admin_permissions import requires
from backoffice.admin_readonly import ReadOnlyAdminMixin
from backoffice.admin_sheets import SheetImportMixin
from backoffice.paginator import EstimatedCountPaginator
from backoffice.spreadsheets.exporting import SafeExportMixin
from inventory.models import Allocation
from warehouse.admin import print_pick_list

from . import services
from .forms import (
    RETURN_SELECT_ONE_ORDER,
    RETURN_SELECT_ONE_RETURN,
    AllocateForm,
    InspectReturnForm,
    ReceiveReturnForm,
    RejectReturnForm,
    RequestReturnForm,
    ShipForm,
    tracking_by_number,
)
from .models import ApiToken, Order, OrderLine, ReturnLine, ReturnRequest, Shipment, ShipmentLine
from .resources import OrderLineResource


class OrderLineInline(admin.TabularInline):
    """Lines are entered with a new order; afterwards only services change them."""

    model = OrderLine
    extra = 1
    fields = ["variant", "quantity", "unit_price", "discount", "shipped_quantity"]
    readonly_fields = ["shipped_quantity"]
    autocomplete_fields = ["variant"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is None and super().has_delete_permission(request, obj)

    def get_extra(self, request, obj=None, **kwargs):
        return 0 if obj else 1

    def has_add_permission(self, request, obj=None):
        return obj is None and super().has_add_permission(request, obj)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ["carrier", "tracking_number", "shipped_at", "actor", "contents"]
    readonly_fields = fields

    def get_queryset(self, request):
        lines = ShipmentLine.objects.select_related("order_line__variant")
        return super().get_queryset(request).prefetch_related(Prefetch("lines", queryset=lines))

    @admin.display(description=_("contents"))
    def contents(self, obj):
        return ", ".join(
            f"{line.quantity} × {line.order_line.variant.sku}" for line in obj.lines.all()
        )


class ReturnInline(ReadOnlyInline):
    model = ReturnRequest
    fk_name = "order"
    fields = ["kind", "status", "requested_at", "refund_amount", "replacement_order"]
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(FastRowsMixin, SheetImportMixin, SafeExportMixin, SimpleHistoryAdmin):
    resource_classes = [OrderLineResource]
    has_fulfil_permission = requires("orders.fulfil_order")
    list_display = [
        "number",
        "created_at",
        "customer_name",
        "channel",
        "priority",
        "status",
        "needs_attention",
        "total",
        "warehouse",
    ]
    list_select_related = ["warehouse"]
    list_filter = [
        "status",
        "channel",
        "priority",
        "needs_attention",
        ("created_at", admin.DateFieldListFilter),
        "warehouse",
    ]
    search_fields = ["=number", "=external_reference", "customer_name", "customer_email"]
    inlines = [OrderLineInline, ShipmentInline, ReturnInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50  # as products, variants and stock
    actions = [
        "review_action",
        "allocate_action",
        "pick_action",
        "pack_action",
        "ship_action",
        "deliver_action",
        "cancel_action",
        "request_return_action",
        print_pick_list,
    ]
    fieldsets = [
        (None, {"fields": ["number", "channel", "external_reference", "priority", "status"]}),
        (
            _("Customer"),
            {
                "fields": [
                    "customer_name",
                    "customer_email",
                    "customer_phone",
                    "shipping_address",
                    ("shipping_city", "shipping_region"),
                    ("shipping_postal_code", "shipping_country"),
                ]
            },
        ),
        (
            _("Totals and review"),
            {"fields": ["subtotal", "discount_total", "total", "review", "warehouse"]},
        ),
        (_("Allocations"), {"fields": ["allocations"]}),
    ]
    readonly_fields = [
        "status",
        "subtotal",
        "discount_total",
        "total",
        "review",
        "warehouse",
        "allocations",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["number", "channel", "external_reference"]
        return fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("review flags"))
    def review(self, obj):
        return format_html_join("", "<div>{}</div>", ((m,) for m in obj.review_messages)) or "—"

    @admin.display(description=_("allocations"))
    def allocations(self, obj):
        if obj.pk is None:
            return "—"
        rows = Allocation.objects.filter(
            reference__in=[line.reference for line in obj.lines.all()]
        ).select_related("stock__variant", "stock__warehouse")
        return (
            format_html_join(
                "",
                "<div>{} @ {}: {} / {}</div>",
                (
                    (a.stock.variant.sku, a.stock.warehouse.code, a.quantity, a.allocated_quantity)
                    for a in rows
                ),
            )
            or "—"
        )

    # Orders entered here go through the same service as the other doors.
    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if change:
            return super().save_related(request, form, formsets, change)
        data = form.cleaned_data
        lines = [
            services.LineRequest(
                row["variant"], row["quantity"], row["unit_price"], row.get("discount") or 0
            )
            for formset in formsets
            if formset.model is OrderLine
            for row in formset.cleaned_data
            if row and not row.get("DELETE")
        ]
        order = services.order_create(
            number=data["number"],
            channel=data["channel"],
            external_reference=data.get("external_reference") or "",
            priority=data["priority"],
            customer_name=data["customer_name"],
            customer_email=data.get("customer_email") or "",
            customer_phone=data.get("customer_phone") or "",
            shipping_address=data.get("shipping_address") or "",
            shipping_city=data.get("shipping_city") or "",
            shipping_region=data.get("shipping_region") or "",
            shipping_postal_code=data.get("shipping_postal_code") or "",
            shipping_country=data.get("shipping_country") or "",
            lines=lines,
            actor=request.user,
        )
        form.instance.pk = order.pk
        form.instance.refresh_from_db()
        for formset in formsets:  # saved by the service, not by the formsets
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    # --- actions ---------------------------------------------------------------------------

    @admin.action(description=_("Review (stock and price check)"), permissions=["change"])
    def review_action(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda order: services.order_review(order=order, actor=request.user),
            gettext("%(count)s orders reviewed."),
        )

    @admin.action(description=_("Allocate stock…"), permissions=["change"])
    def allocate_action(self, request, queryset):
        def perform(data):
            each(
                self,
                request,
                queryset,
                lambda order: services.order_allocate(
                    order=order, warehouse=data["warehouse"], actor=request.user
                ),
                gettext("%(count)s orders allocated."),
            )
            return gettext("Allocation finished.")

        return form_action(
            self, request, queryset, form_class=AllocateForm, title=_("Allocate"), perform=perform
        )

    @admin.action(description=_("Mark picked"), permissions=["fulfil"])
    def pick_action(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda order: services.order_pick(order=order, actor=request.user),
            gettext("%(count)s orders picked."),
        )

    @admin.action(description=_("Mark packed"), permissions=["fulfil"])
    def pack_action(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda order: services.order_pack(order=order, actor=request.user),
            gettext("%(count)s orders packed."),
        )

    @admin.action(description=_("Mark shipped…"), permissions=["fulfil"])
    def ship_action(self, request, queryset):
        def perform(data):
            numbers = list(queryset.order_by("pk").values_list("number", flat=True))
            tracking = tracking_by_number(data["tracking_numbers"], numbers)

            def ship(order):
                # A missing tracking number is refused by the service, like everywhere else.
                return services.order_ship(
                    order=order,
                    carrier=data["carrier"],
                    tracking_number=tracking.get(order.number, ""),
                    actor=request.user,
                )

            each(self, request, queryset, ship, gettext("%(count)s orders shipped."))
            return gettext("Shipping finished.")

        return form_action(
            self, request, queryset, form_class=ShipForm, title=_("Mark shipped"), perform=perform
        )

    @admin.action(description=_("Mark delivered"), permissions=["fulfil"])
    def deliver_action(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda order: services.order_deliver(order=order, actor=request.user),
            gettext("%(count)s orders delivered."),
        )

    @admin.action(description=_("Cancel (release allocations)"), permissions=["change"])
    def cancel_action(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda order: services.order_cancel(order=order, actor=request.user),
            gettext("%(count)s orders cancelled."),
        )

    @admin.action(description=_("Request return…"), permissions=["change"])
    def request_return_action(self, request, queryset):
        order = only_one(self, request, queryset, RETURN_SELECT_ONE_ORDER)
        if order is None or refused(self, request, lambda: services.require_returnable(order)):
            return None
        lines = list(
            order.lines.filter(shipped_quantity__gt=0)
            .select_related("variant__product")
            .order_by("pk")
        )

        def perform(data):
            created = services.return_request(
                order=order,
                lines=[
                    services.ReturnLineRequest(line, quantity, data["reason"])
                    for line, quantity in data["quantities"]
                ],
                kind=data["kind"],
                note=data["note"],
                actor=request.user,
                submission_key=data["submission_key"],
            )
            return format_html(
                gettext("Return {rma} requested for order {number}."),
                rma=admin_link(created),
                number=order.number,
            )

        return form_action(
            self,
            request,
            queryset,
            form_class=RequestReturnForm,
            title=_("Request return"),
            perform=perform,
            form_kwargs={"lines": lines, "left": services.returnable_quantities(order)},
        )


@admin.register(ApiToken)
class ApiTokenAdmin(SimpleHistoryAdmin):
    """Tokens are issued by the service; the raw token is shown once, in a message."""

    list_display = ["name", "channel", "prefix", "warehouse", "is_active", "created_at"]
    list_select_related = ["warehouse"]
    list_filter = ["channel", "is_active"]
    fields = ["channel", "name", "warehouse", "prefix", "is_active", "created_at", "created_by"]
    readonly_fields = ["prefix", "is_active", "created_at", "created_by"]
    actions = ["revoke_action"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["channel", "warehouse", *self.readonly_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, raw = services.api_token_create(
            channel=obj.channel, name=obj.name, warehouse=obj.warehouse, actor=request.user
        )
        obj.pk = token.pk
        obj.refresh_from_db()
        self.message_user(
            request,
            gettext("The new token is %(token)s — copy it now: it will not be shown again.")
            % {"token": raw},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke"), permissions=["change"])
    def revoke_action(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda token: services.api_token_revoke(token=token, actor=request.user),
            gettext("%(count)s tokens revoked."),
        )


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    can_delete = False
    fields = [
        "order_line",
        "quantity",
        "reason",
        "exchange_variant",
        "resellable_quantity",
        "damaged_quantity",
        "supplier_quantity",
        "supplier",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("order_line__variant", "exchange_variant", "supplier")
        )


@admin.register(ReturnRequest)
class ReturnRequestAdmin(SimpleHistoryAdmin):
    has_inspect_permission = requires("orders.inspect_returnrequest")
    list_display = ["__str__", "order", "kind", "status", "requested_at", "refund_amount"]
    list_select_related = ["order"]
    list_filter = ["status", "kind", ("requested_at", admin.DateFieldListFilter)]
    search_fields = ["=order__number"]
    readonly_fields = [
        "order",
        "kind",
        "status",
        "note",
        "decision_note",
        "warehouse",
        "refund_amount",
        "replacement_order",
        "requested_at",
        "decided_at",
        "received_at",
        "inspected_at",
    ]
    fields = readonly_fields
    inlines = [ReturnLineInline]
    actions = ["approve_action", "reject_action", "receive_action", "inspect_action"]

    def has_add_permission(self, request):
        return False  # requests come through orders.services.return_request

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Approve"), permissions=["change"])
    def approve_action(self, request, queryset):
        each(
            self,
            request,
            queryset,
            lambda r: services.return_approve(return_request=r, actor=request.user),
            gettext("%(count)s returns approved."),
        )

    @admin.action(description=_("Reject…"), permissions=["change"])
    def reject_action(self, request, queryset):
        def perform(data):
            each(
                self,
                request,
                queryset,
                lambda r: services.return_reject(
                    return_request=r, note=data["note"], actor=request.user
                ),
                gettext("%(count)s returns rejected."),
            )
            return gettext("Done.")

        return form_action(
            self, request, queryset, form_class=RejectReturnForm, title=_("Reject"), perform=perform
        )

    @admin.action(description=_("Mark received…"), permissions=["inspect"])
    def receive_action(self, request, queryset):
        def perform(data):
            each(
                self,
                request,
                queryset,
                lambda r: services.return_receive(
                    return_request=r, warehouse=data["warehouse"], actor=request.user
                ),
                gettext("%(count)s returns received."),
            )
            return gettext("Done.")

        return form_action(
            self,
            request,
            queryset,
            form_class=ReceiveReturnForm,
            title=_("Mark received"),
            perform=perform,
        )

    @admin.action(description=_("Inspect…"), permissions=["inspect"])
    def inspect_action(self, request, queryset):
        rma = only_one(self, request, queryset, RETURN_SELECT_ONE_RETURN)
        if rma is None or refused(
            self,
            request,
            lambda: services.require_return_status(
                rma, ReturnRequest.Status.RECEIVED, services.ACTION_INSPECTED
            ),
        ):
            return None
        lines = list(rma.lines.select_related("order_line__variant").order_by("pk"))
        refund = (
            services.return_value(rma) if rma.kind == ReturnRequest.Kind.REFUND else Decimal("0")
        )

        def perform(data):
            done = services.return_inspect(
                return_request=rma,
                results=data["results"],
                refund_amount=data["refund_amount"],
                actor=request.user,
                submission_key=data["submission_key"],
            )
            if done.replacement_order is None:
                return format_html(
                    gettext("{rma} inspected; refund {refund}."),
                    rma=admin_link(done),
                    refund=done.refund_amount,
                )
            return format_html(
                gettext("{rma} inspected; refund {refund}; replacement order {order} created."),
                rma=admin_link(done),
                refund=done.refund_amount,
                order=admin_link(done.replacement_order),
            )

        return form_action(
            self,
            request,
            queryset,
            form_class=InspectReturnForm,
            title=_("Inspect"),
            perform=perform,
            form_kwargs={"lines": lines, "refund": refund},
        )
