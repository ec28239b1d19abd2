"""Reviews admin: moderation actions that call reviews.services, the rating summaries with
the low-rating alert and complaint keywords, and the spreadsheet import."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export.formats import base_formats

from backoffice.admin_actions import form_action, report
from backoffice.admin_permissions import RefuseUnavailableActionsMixin
from backoffice.admin_readonly import ReadOnlyAdminMixin
from backoffice.admin_sheets import SheetImportMixin
from backoffice.spreadsheets.exporting import SafeExportMixin

from . import selectors, services
from .forms import RejectForm
from .models import RatingSummary, Review
from .resources import ReviewResource

STARS = "★★★★★"


def stars(rating: int | None) -> str:
    return STARS[: rating or 0] + "☆" * (5 - (rating or 0))


def supplier_link(supplier_id: int | None):
    """A link to the supplier's page, where its scorecard is."""
    if not supplier_id:
        return "—"
    url = reverse("admin:suppliers_supplier_change", args=[supplier_id])
    return format_html('<a href="{}">{}</a>', url, gettext("scorecard"))


@admin.register(Review)
class ReviewAdmin(
    RefuseUnavailableActionsMixin, SheetImportMixin, SafeExportMixin, admin.ModelAdmin
):
    resource_classes = [ReviewResource]
    import_formats = [base_formats.CSV, base_formats.XLSX]
    export_formats = [base_formats.CSV, base_formats.XLSX]
    list_display = [
        "created_at",
        "rating_stars",
        "title",
        "product",
        "customer_name",
        "status",
        "rejection_reason",
        "supplier",
    ]
    list_filter = ["status", "rating"]
    list_select_related = ["product", "variant"]
    search_fields = ["title", "customer_name", "customer_email", "product__title"]
    readonly_fields = [
        "product",
        "variant",
        "rating",
        "title",
        "text",
        "customer_name",
        "customer_email",
        "created_at",
        "status",
        "rejection_reason",
        "moderated_by",
        "moderated_at",
    ]
    show_full_result_count = False
    list_per_page = 50
    actions = ["approve_action", "reject_action"]

    def has_add_permission(self, request):
        # Reviews come from customers (and spreadsheets), not from staff.
        return False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                supplier_id=selectors.preferred_supplier("product_id", variant_ref="variant_id")
            )
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("rating"), ordering="rating")
    def rating_stars(self, obj):
        return stars(obj.rating)

    @admin.display(description=_("preferred supplier"))
    def supplier(self, obj):
        # A low rating is a quality complaint: lead to the supplier's scorecard.
        if obj.rating > settings.REVIEW_LOW_RATING_MAX_STARS:
            return ""
        return supplier_link(obj.supplier_id)

    @admin.action(description=_("Approve selected reviews"), permissions=["change"])
    def approve_action(self, request, queryset):
        def call():
            result = services.reviews_approve(reviews=queryset, actor=request.user)
            return gettext("%(changed)s reviews approved; %(skipped)s already approved.") % {
                "changed": result.changed,
                "skipped": result.skipped,
            }

        report(self, request, call)

    @admin.action(description=_("Reject selected reviews…"), permissions=["change"])
    def reject_action(self, request, queryset):
        def perform(data):
            result = services.reviews_reject(
                reviews=queryset,
                reason=data["reason"],
                actor=request.user,
                submission_key=data["submission_key"],
            )
            return gettext("%(changed)s reviews rejected; %(skipped)s already rejected.") % {
                "changed": result.changed,
                "skipped": result.skipped,
            }

        return form_action(
            self,
            request,
            queryset,
            form_class=RejectForm,
            title=_("Reject reviews"),
            perform=perform,
        )


class LowRatingFilter(admin.SimpleListFilter):
    title = _("low-rating alert")
    parameter_name = "alert"

    def lookups(self, request, model_admin):
        return [("low", _("Recent average below the threshold"))]

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(product__in=selectors.low_rating_products().values("pk"))
        return queryset


@admin.register(RatingSummary)
class RatingSummaryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The rating of each product; above the list, the low-rating alert and the words
    that come back most in low ratings (F-36)."""

    change_list_template = "admin/reviews/ratingsummary/change_list.html"
    list_display = [
        "product",
        "average_rating",
        "review_count",
        "stars_5",
        "stars_4",
        "stars_3",
        "stars_2",
        "stars_1",
        "updated_at",
    ]
    list_select_related = ["product"]
    list_filter = [LowRatingFilter]
    search_fields = ["product__title"]
    show_full_result_count = False

    @admin.display(description=_("average rating"), ordering="average")
    def average_rating(self, obj):
        return f"{obj.average:.2f}" if obj.average is not None else "—"

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        alerts = list(selectors.low_rating_products()[:20])
        extra_context.update(
            low_rating_alerts=[
                {
                    "product": product,
                    "url": reverse("admin:catalog_product_change", args=[product.pk]),
                    "average": product.recent_average,
                    "reviews": product.recent_reviews,
                    "supplier": supplier_link(product.preferred_supplier_id),
                }
                for product in alerts
            ],
            low_rating_keywords=selectors.low_rating_keywords(),
            low_rating_days=settings.REVIEW_LOW_RATING_DAYS,
            low_rating_threshold=settings.REVIEW_LOW_RATING_THRESHOLD,
            low_rating_max_stars=settings.REVIEW_LOW_RATING_MAX_STARS,
            low_reviews_url=reverse("admin:reviews_review_changelist")
            + f"?status__exact=approved&rating__lte={settings.REVIEW_LOW_RATING_MAX_STARS}",
        )
        return super().changelist_view(request, extra_context)
