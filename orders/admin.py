"""Orders admin: lines inline; allocate, ship and cancel call orders.services per order."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from backoffice.admin_actions import form_action
from backoffice.errors import DomainError
from backoffice.paginator import EstimatedCountPaginator

from . import services
from .forms import AllocateForm
from .models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["variant", "quantity", "unit_price", "discount"]
    autocomplete_fields = ["variant"]


@admin.register(Order)
class OrderAdmin(SimpleHistoryAdmin):
    list_display = [
        "number",
        "created_at",
        "customer_name",
        "channel",
        "priority",
        "status",
        "warehouse",
    ]
    list_select_related = ["warehouse"]
    list_filter = ["status", "channel", "priority", "warehouse"]
    search_fields = ["=number", "customer_name", "customer_email"]
    readonly_fields = ["status"]
    inlines = [OrderLineInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = ["allocate_action", "ship_action", "cancel_action"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _each(self, request, queryset, operation, done: str) -> None:
        # Each order is its own transaction: one short order must not block the others.
        ok, failed = 0, []
        for order in queryset.order_by("pk"):
            try:
                operation(order)
                ok += 1
            except DomainError as error:
                failed.append(f"{order.number}: {error.message}")
        if ok:
            self.message_user(request, done % {"count": ok}, messages.SUCCESS)
        for line in failed[:20]:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description=_("Allocate stock…"), permissions=["change"])
    def allocate_action(self, request, queryset):
        def perform(data):
            self._each(
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

    @admin.action(description=_("Mark shipped"), permissions=["change"])
    def ship_action(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda order: services.order_ship(order=order, actor=request.user),
            gettext("%(count)s orders shipped."),
        )

    @admin.action(description=_("Cancel (release allocations)"), permissions=["change"])
    def cancel_action(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda order: services.order_cancel(order=order, actor=request.user),
            gettext("%(count)s orders cancelled."),
        )
