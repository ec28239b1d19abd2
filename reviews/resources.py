"""Spreadsheet import/export of reviews (csv, xlsx): every imported row goes through
``reviews.services.review_submit``; a refused row is reported with the service's message,
and the import writes nothing unless every row is accepted (one transaction)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy
from import_export import fields, resources, widgets

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
            raise ValidationError(error.message) from None
        instance.pk = review.pk
        instance.status = review.status
