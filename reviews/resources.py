"""Spreadsheet import/export of reviews (csv, xlsx): every imported row goes through
``reviews.services.review_submit``; a refused row is reported with the service's message,
and the import writes nothing unless every row is accepted (one transaction).

``ReviewResource`` serves the admin's import/export buttons; ``ReviewsImporter`` ("reviews")
runs the same resource in the spreadsheet import runs (preview, background, report)."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets

from backoffice.spreadsheets.base import register
from backoffice.spreadsheets.cells import match_message
from backoffice.spreadsheets.resource_importer import ResourceImporter
from catalog.models import Product, Variant

from . import services
from .exceptions import ReviewError
from .models import Review

UNKNOWN_SKU = gettext_lazy("Unknown SKU: %(sku)s.")


class ProductByHandleWidget(widgets.ForeignKeyWidget):
    """A product named by its handle (the column ``product``); unknown handles are refused."""

    def __init__(self):
        super().__init__(Product, field="handle")

    def clean(self, value, row=None, **kwargs):
        handle = str(value or "").strip()
        if not handle:
            return None
        product = Product.objects.filter(handle=handle).first()
        if product is None:
            raise ValueError(services.UNKNOWN_PRODUCT % {"product": handle})
        return product


class VariantBySkuWidget(widgets.ForeignKeyWidget):
    def __init__(self):
        super().__init__(Variant, field="sku")

    def clean(self, value, row=None, **kwargs):
        sku = str(value or "").strip()
        if not sku:
            return None
        variant = Variant.objects.filter(sku=sku).first()
        if variant is None:
            raise ValueError(UNKNOWN_SKU % {"sku": sku})
        return variant


class RawWidget(widgets.Widget):
    """Hands the cell to the service as it is: the service words the refusal."""

    def clean(self, value, row=None, **kwargs):
        return value

    def render(self, value, obj=None, **kwargs):
        return value


# Which column a refusal of ``review_submit`` is about.
SERVICE_COLUMNS = (
    (services.RATING_INVALID, "rating"),
    (services.UNKNOWN_PRODUCT, "product"),
    (services.VARIANT_OF_OTHER_PRODUCT, "sku"),
    (services.CUSTOMER_REQUIRED, "customer_name"),
    (services.EMAIL_INVALID, "customer_email"),
    (services.TITLE_TOO_LONG, "title"),
    (services.TEXT_TOO_LONG, "text"),
)


def _column_of(message: str) -> str:
    for template, column in SERVICE_COLUMNS:
        if match_message(template, message) is not None:
            return column
    return NON_FIELD_ERRORS


class ReviewResource(resources.ModelResource):
    product = fields.Field(
        attribute="product", column_name="product", widget=ProductByHandleWidget()
    )
    sku = fields.Field(attribute="variant", column_name="sku", widget=VariantBySkuWidget())
    rating = fields.Field(attribute="rating", column_name="rating", widget=RawWidget())
    title = fields.Field(attribute="title", column_name="title")
    text = fields.Field(attribute="text", column_name="text")
    customer_name = fields.Field(attribute="customer_name", column_name="customer_name")
    customer_email = fields.Field(attribute="customer_email", column_name="customer_email")
    created_at = fields.Field(
        attribute="created_at", column_name="created_at", widget=widgets.DateTimeWidget()
    )
    status = fields.Field(attribute="status", column_name="status", readonly=True)

    class Meta:
        model = Review
        fields = (
            "product",
            "sku",
            "rating",
            "title",
            "text",
            "customer_name",
            "customer_email",
            "created_at",
            "status",
        )
        export_order = fields
        # Every row is a new review: nothing to match on.
        force_init_instance = True
        import_id_fields = ()
        use_transactions = True
        skip_diff = True

    def do_instance_save(self, instance, is_create):
        try:
            review = services.review_submit(
                product=instance.product if instance.product_id else None,
                variant=instance.variant if instance.variant_id else None,
                rating=instance.rating,
                title=instance.title or "",
                text=instance.text or "",
                customer_name=instance.customer_name or "",
                customer_email=instance.customer_email or "",
                created_at=instance.created_at,
            )
        except ReviewError as error:
            raise ValidationError({_column_of(error.message): error.message}) from None
        instance.pk = review.pk
        instance.status = review.status

    def filter_export(self, queryset, **kwargs):
        # One query per chunk of rows, whatever the number of reviews.
        return queryset.select_related("product", "variant")


@register
class ReviewsImporter(ResourceImporter):
    """Every row is a new review, pending moderation: a sheet imported twice gives its
    reviews twice (a review has no key of its own to match on)."""

    kind = "reviews"
    label = gettext_lazy("Product reviews")
    permission = "reviews.import_review"
    model = Review
    resource_class = ReviewResource
    required_columns = ("product", "rating", "customer_name")
    optional_columns = ("sku", "title", "text", "customer_email", "created_at")
    ignored_columns = {"status": gettext_lazy("reviews are moderated in Stockroom.")}
    example = (
        {
            "product": "linen-shirt",
            "rating": "5",
            "customer_name": "Han Meimei",
            "sku": "SHIRT-M",
            "title": "Fits well",
            "text": "Soft linen, true to size.",
            "customer_email": "han@example.com",
            "created_at": "2026-03-01 10:30:00",
        },
    )

    def row_key(self, row, result) -> str:
        return f"{row.cells.get('product', '')} / {row.cells.get('customer_name', '')}"
