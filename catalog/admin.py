"""Catalog admin: configuration, plus bulk actions that call catalog and inventory services."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from backoffice.admin_actions import form_action, report
from backoffice.admin_filters import FilterSetListFilter
from backoffice.admin_list import FastRowsMixin
from backoffice.admin_permissions import requires
from backoffice.admin_readonly import ReadOnlyAdminMixin
from backoffice.admin_search import SKU_SEARCH_LIMIT, SkuSearchMixin, matching_variant_ids
from backoffice.admin_sheets import SheetImportMixin
from backoffice.errors import DomainError
from backoffice.paginator import EstimatedCountPaginator
from backoffice.spreadsheets.exporting import SafeExportMixin
from inventory import services as inventory
from inventory.models import Stock

from . import services
from .filters import PriceRangeFilterSet
from .forms import (
    DelistForm,
    DisposeForm,
    PriceChangeForm,
    RelistForm,
    RestockForm,
    SetCategoryForm,
    TagsForm,
)
from .models import Category, ListingEvent, Product, ProductImage, StockWatch, Tag, Variant
from .resources import ProductVariantResource


def _stock_total(expression, outer: str) -> Coalesce:
    """Sum of a stock expression per product/variant, as a correlated subquery (no GROUP BY
    over the whole changelist)."""
    rows = (
        Stock.objects.filter(**{outer: OuterRef("pk")})
        .order_by()
        .values(outer)
        .annotate(total=Sum(expression))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


@admin.register(Category)
class CategoryAdmin(SimpleHistoryAdmin):
    list_display = ["path", "name", "parent"]
    list_select_related = ["parent"]
    search_fields = ["path", "name"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"name", "parent"} & set(form.changed_data):
            services.category_refresh_paths(category=obj)


@admin.register(Tag)
class TagAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind"]
    list_filter = ["kind"]
    search_fields = ["name"]


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = [
        "sku",
        "barcode",
        "option1",
        "option2",
        "option3",
        "price",
        "compare_at_price",
        "cost",
        "weight_grams",
        "is_active",
        "allow_backorder",
    ]
    readonly_fields = ["allow_backorder"]
    show_change_link = True


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["position", "image", "url", "alt_text"]


class ListingEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ListingEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "reason", "note", "on_hand", "available", "units_sold_30d"]
    readonly_fields = fields
    ordering = ["-created_at"]


@admin.register(Product)
class ProductAdmin(
    FastRowsMixin, SheetImportMixin, SafeExportMixin, SkuSearchMixin, SimpleHistoryAdmin
):
    resource_classes = [ProductVariantResource]
    has_delist_permission = requires("catalog.delist_product")
    has_restock_permission = requires("catalog.restock_product")
    list_display = [
        "title",
        "category",
        "status",
        "variant_count",
        "on_hand",
        "available",
        "delist_reason",
        "updated_at",
    ]
    list_filter = ["status", "delist_reason", "category", "tags"]
    list_select_related = ["category"]
    search_fields = ["title", "handle__startswith"]
    autocomplete_fields = ["category", "tags"]
    readonly_fields = ["status", "delist_reason", "delist_note", "delisted_at", "delisted_by"]
    prepopulated_fields = {"handle": ["title"]}
    inlines = [VariantInline, ProductImageInline, ListingEventInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    list_max_show_all = 500
    actions = [
        "publish_action",
        "delist_action",
        "relist_action",
        "restock_action",
        "dispose_action",
        "set_category_action",
        "tags_action",
        "price_action",
    ]
    fieldsets = [
        (None, {"fields": ["title", "handle", "category", "tags"]}),
        (_("Descriptions"), {"fields": ["short_description", "description"]}),
        (_("Options"), {"fields": ["option1_name", "option2_name", "option3_name"]}),
        (
            _("Listing"),
            {"fields": ["status", "delist_reason", "delist_note", "delisted_at", "delisted_by"]},
        ),
    ]

    def sku_search(self, term):
        product_ids = matching_variant_ids(term, "product_id")
        return Q(pk__in=product_ids) if product_ids else None

    def get_queryset(self, request):
        variants = (
            Variant.objects.filter(product=OuterRef("pk"))
            .order_by()
            .values("product")
            .annotate(n=Sum(Value(1)))
            .values("n")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                _variants=Coalesce(Subquery(variants, output_field=IntegerField()), Value(0)),
                _on_hand=_stock_total(F("on_hand"), "variant__product"),
                _available=_stock_total(F("on_hand") - F("allocated"), "variant__product"),
            )
        )

    @admin.display(description=_("variants"), ordering="_variants")
    def variant_count(self, obj):
        return obj._variants

    @admin.display(description=_("on hand"), ordering="_on_hand")
    def on_hand(self, obj):
        return obj._on_hand

    @admin.display(description=_("available for sale"))
    def available(self, obj):
        # A delisted or draft product sells nothing, whatever is on the shelf.
        return obj._available if obj.is_sellable else 0

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- actions: validate the form, call the service, report ---------------

    @admin.action(description=_("Publish selected drafts"), permissions=["change"])
    def publish_action(self, request, queryset):

        def call():
            result = services.publish(products=queryset, actor=request.user)
            return gettext("%(changed)s products published; %(skipped)s skipped.") % {
                "changed": result.changed,
                "skipped": result.skipped,
            }

        report(self, request, call)

    @admin.action(description=_("Delist selected products…"), permissions=["delist"])
    def delist_action(self, request, queryset):
        def perform(data):
            result = services.delist(
                products=queryset,
                reason=data["reason"],
                note=data["note"],
                actor=request.user,
                submission_key=data["submission_key"],
            )
            return gettext(
                "%(changed)s products delisted; %(skipped)s skipped (already delisted or draft)."
            ) % {"changed": result.changed, "skipped": result.skipped}

        return form_action(
            self, request, queryset, form_class=DelistForm, title=_("Delist"), perform=perform
        )

    @admin.action(description=_("Relist selected products…"), permissions=["delist"])
    def relist_action(self, request, queryset):
        def perform(data):
            result = services.relist(
                products=queryset, actor=request.user, submission_key=data["submission_key"]
            )
            return gettext("%(changed)s products relisted; %(skipped)s skipped (not delisted).") % {
                "changed": result.changed,
                "skipped": result.skipped,
            }

        return form_action(
            self, request, queryset, form_class=RelistForm, title=_("Relist"), perform=perform
        )

    @admin.action(description=_("Restock selected products…"), permissions=["restock"])
    def restock_action(self, request, queryset):
        def perform(data):
            result = inventory.restock_products(
                products=queryset,
                warehouse=data["warehouse"],
                quantity=data["quantity"],
                reason=data["reason"],
                actor=request.user,
                submission_key=data["submission_key"],
            )
            return gettext(
                "Received %(units)s units into %(warehouse)s: %(rows)s SKUs of %(products)s "
                "products."
            ) % {
                "units": result.units,
                "warehouse": data["warehouse"].code,
                "rows": result.stock_rows,
                "products": result.products,
            }

        return form_action(
            self, request, queryset, form_class=RestockForm, title=_("Restock"), perform=perform
        )

    @admin.action(
        description=_("Dispose remaining stock of delisted products…"), permissions=["delist"]
    )
    def dispose_action(self, request, queryset):
        def perform(data):
            result = inventory.dispose_remaining(
                products=queryset,
                disposition=data["disposition"],
                warehouse=data["warehouse"],
                note=data["note"],
                actor=request.user,
                submission_key=data["submission_key"],
            )
            return gettext(
                "Disposition recorded for %(products)s products: %(units)s units moved out of "
                "%(rows)s stock rows."
            ) % {"products": result.products, "units": result.units, "rows": result.stock_rows}

        return form_action(
            self,
            request,
            queryset,
            form_class=DisposeForm,
            title=_("Dispose remaining stock"),
            perform=perform,
        )

    @admin.action(description=_("Change category…"), permissions=["change"])
    def set_category_action(self, request, queryset):
        def perform(data):
            count = services.set_category(
                products=queryset, category=data["category"], actor=request.user
            )
            return gettext("%(count)s products moved to %(category)s.") % {
                "count": count,
                "category": data["category"],
            }

        return form_action(
            self,
            request,
            queryset,
            form_class=SetCategoryForm,
            title=_("Change category"),
            perform=perform,
        )

    @admin.action(description=_("Add or remove tags…"), permissions=["change"])
    def tags_action(self, request, queryset):
        def perform(data):
            change = services.add_tags if data["mode"] == "add" else services.remove_tags
            count = change(products=queryset, tags=data["tags"], actor=request.user)
            return gettext("%(count)s product tags changed.") % {"count": count}

        return form_action(
            self, request, queryset, form_class=TagsForm, title=_("Tags"), perform=perform
        )

    @admin.action(description=_("Change prices…"), permissions=["change"])
    def price_action(self, request, queryset):
        def perform(data):
            count = services.change_prices(
                products=queryset,
                percent=data["percent"],
                amount=data["amount"],
                actor=request.user,
            )
            return gettext("Prices of %(count)s variants changed.") % {"count": count}

        return form_action(
            self,
            request,
            queryset,
            form_class=PriceChangeForm,
            title=_("Change prices"),
            perform=perform,
        )


class StockInline(admin.TabularInline):
    model = Stock
    extra = 0
    fields = [
        "warehouse",
        "on_hand",
        "allocated",
        "available",
        "safety_stock",
        "reorder_point",
        "max_level",
        "default_location",
    ]
    readonly_fields = ["on_hand", "allocated", "available"]
    autocomplete_fields = ["default_location"]
    can_delete = False

    @admin.display(description=_("available"))
    def available(self, obj):
        return obj.available if obj.pk else "-"


class PriceRangeFilter(FilterSetListFilter):
    title = _("price")
    filterset_class = PriceRangeFilterSet


# Switching lot tracking is per SKU (each must be without stock): a handful at a time.
TRACK_LOTS_LIMIT = 500
TRACK_LOTS_TOO_MANY = _(
    "Select at most %(limit)s SKUs to switch lot tracking (%(count)s selected). Nothing was "
    "changed."
)


@admin.register(Variant)
class VariantAdmin(FastRowsMixin, SkuSearchMixin, SimpleHistoryAdmin):
    list_display = [
        "sku",
        "product",
        "options",
        "price",
        "compare_at_price",
        "on_hand",
        "available",
        "allow_backorder",
        "track_lots",
        "is_active",
    ]
    list_select_related = ["product"]
    list_filter = [
        "is_active",
        "allow_backorder",
        "track_lots",
        "product__status",
        PriceRangeFilter,
    ]
    search_fields = ["sku__exact"]
    autocomplete_fields = ["product"]
    readonly_fields = ["allow_backorder", "track_lots"]
    inlines = [StockInline]
    show_full_result_count = False
    list_per_page = 50
    paginator = EstimatedCountPaginator
    actions = ["allow_backorders", "stop_backorders", "track_lots_on", "track_lots_off"]

    def sku_search(self, term):
        # SKU prefix or barcode, or the title of the product (looked up on the
        # products table alone, not through a join over every variant).
        ids = matching_variant_ids(term)
        product_ids = list(
            Product.objects.filter(title__icontains=term.strip()).values_list("pk", flat=True)[
                :SKU_SEARCH_LIMIT
            ]
        )
        if not ids and not product_ids:
            return None
        return Q(pk__in=ids) | Q(product_id__in=product_ids)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _on_hand=_stock_total(F("on_hand"), "variant"),
                _available=_stock_total(F("on_hand") - F("allocated"), "variant"),
            )
        )

    @admin.display(description=_("options"))
    def options(self, obj):
        return obj.options_label

    @admin.display(description=_("on hand"), ordering="_on_hand")
    def on_hand(self, obj):
        return obj._on_hand

    @admin.display(description=_("available"), ordering="_available")
    def available(self, obj):
        return obj._available

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _backorders(self, request, queryset, allowed: bool):

        def call():
            count = inventory.set_backorders(variants=queryset, allowed=allowed, actor=request.user)
            return gettext("Backorders changed for %(count)s SKUs.") % {"count": count}

        report(self, request, call)

    @admin.action(description=_("Allow backorders"), permissions=["change"])
    def allow_backorders(self, request, queryset):
        self._backorders(request, queryset, True)

    @admin.action(description=_("Stop backorders"), permissions=["change"])
    def stop_backorders(self, request, queryset):
        self._backorders(request, queryset, False)

    def _track_lots(self, request, queryset, on: bool):
        def call():
            count = queryset.count()
            if count > TRACK_LOTS_LIMIT:
                raise DomainError(TRACK_LOTS_TOO_MANY % {"limit": TRACK_LOTS_LIMIT, "count": count})
            with transaction.atomic():
                changed = sum(
                    inventory.variant_track_lots(variant, on=on, actor=request.user)
                    for variant in queryset.order_by("pk")
                )
            return gettext("Lot tracking changed for %(count)s SKUs.") % {"count": changed}

        report(self, request, call)

    @admin.action(description=_("Track by lot (SKUs without stock)"), permissions=["change"])
    def track_lots_on(self, request, queryset):
        self._track_lots(request, queryset, True)

    @admin.action(
        description=_("Stop tracking by lot (SKUs without stock)"), permissions=["change"]
    )
    def track_lots_off(self, request, queryset):
        self._track_lots(request, queryset, False)


@admin.register(ListingEvent)
class ListingEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "product",
        "kind",
        "reason",
        "on_hand",
        "available",
        "units_sold_30d",
        "actor",
        "dispatched_at",
    ]
    list_select_related = ["product", "actor"]
    list_filter = ["kind", "reason"]
    search_fields = ["product__title", "=batch"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(StockWatch)
class StockWatchAdmin(admin.ModelAdmin):
    list_display = ["created_at", "email", "product", "notified_at"]
    list_select_related = ["product"]
    list_filter = [("notified_at", admin.EmptyFieldListFilter)]
    search_fields = ["=email"]
    autocomplete_fields = ["product"]
    fields = ["product", "email", "notified_at"]
    readonly_fields = ["notified_at"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


from . import admin_compliance  # noqa: E402, F401  (compliance pages, F-40)
