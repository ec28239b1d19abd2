"""Catalog spreadsheets: the product importers and the product export.

Importers (registered for the spreadsheet runner, see ``catalog.imports``):

- "products": Stockroom's own sheet, one row per variant (``catalog.imports.products``);
- "woocommerce": WooCommerce's product CSV export (``catalog.imports.woocommerce``);
- "shopify": Shopify's product CSV (``catalog.imports.shopify``).

Export: ``ProductVariantResource`` writes one row per variant with the columns
of the "products" sheet (without its warehouse/stock pair: stock levels have
their own export in ``inventory.resources``), so that an export imports back
as "unchanged". Tags are written as the sheet reads them ("summer, Brand:
Acme"), image URLs comma-separated in their order.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from import_export import fields, resources

from backoffice.spreadsheets.base import register

from .imports.cells import render_tag
from .imports.products import SHEET_COLUMNS, ProductSheetImporter
from .imports.shopify import ShopifyImporter
from .imports.woocommerce import WooCommerceImporter
from .models import Product, ProductImage, Variant

register(ProductSheetImporter)
register(WooCommerceImporter)
register(ShopifyImporter)

EXPORT_CHUNK = 2000


def _text(value) -> str:
    return "" if value is None else str(value)


class ProductVariantResource(resources.ModelResource):
    """Products with variants, one row per SKU, as the "products" sheet reads them."""

    handle = fields.Field(column_name="handle")
    title = fields.Field(column_name="title")
    category = fields.Field(column_name="category")
    tags = fields.Field(column_name="tags")
    status = fields.Field(column_name="status")
    short_description = fields.Field(column_name="short_description")
    description = fields.Field(column_name="description")
    option1_name = fields.Field(column_name="option1_name")
    option2_name = fields.Field(column_name="option2_name")
    option3_name = fields.Field(column_name="option3_name")
    sku = fields.Field(column_name="sku")
    option1 = fields.Field(column_name="option1")
    option2 = fields.Field(column_name="option2")
    option3 = fields.Field(column_name="option3")
    price = fields.Field(column_name="price")
    compare_at_price = fields.Field(column_name="compare_at_price")
    cost = fields.Field(column_name="cost")
    barcode = fields.Field(column_name="barcode")
    weight_grams = fields.Field(column_name="weight_grams")
    allow_backorder = fields.Field(column_name="allow_backorder")
    image_urls = fields.Field(column_name="image_urls")

    class Meta:
        model = Variant
        fields = SHEET_COLUMNS
        export_order = SHEET_COLUMNS
        chunk_size = EXPORT_CHUNK

    def get_queryset(self) -> QuerySet:
        return Variant.objects.all()  # export() and stream_csv() apply filter_export

    def filter_export(self, queryset: QuerySet, **kwargs) -> QuerySet:
        # From the product list: the selected products' variants.
        if queryset.model is Product:
            queryset = Variant.objects.filter(product__in=queryset.values("pk"))
        # One query for the variants with their products and categories, one for the
        # products' tags and one for their image URLs, per chunk of rows.
        return (
            queryset.select_related("product__category")
            .prefetch_related(
                "product__tags",
                Prefetch(
                    "product__images",
                    queryset=ProductImage.objects.exclude(url="").order_by("position", "pk"),
                ),
            )
            .order_by("product_id", "pk")
        )

    # The product's columns, repeated on each of its rows.
    def dehydrate_handle(self, variant: Variant) -> str:
        return variant.product.handle

    def dehydrate_title(self, variant: Variant) -> str:
        return variant.product.title

    def dehydrate_category(self, variant: Variant) -> str:
        category = variant.product.category
        return category.path if category else ""

    def dehydrate_tags(self, variant: Variant) -> str:
        tags = sorted(variant.product.tags.all(), key=lambda t: (t.kind != "label", t.kind, t.name))
        return ", ".join(render_tag(tag.kind, tag.name) for tag in tags)

    def dehydrate_status(self, variant: Variant) -> str:
        return variant.product.status

    def dehydrate_short_description(self, variant: Variant) -> str:
        return variant.product.short_description

    def dehydrate_description(self, variant: Variant) -> str:
        return variant.product.description

    def dehydrate_option1_name(self, variant: Variant) -> str:
        return variant.product.option1_name

    def dehydrate_option2_name(self, variant: Variant) -> str:
        return variant.product.option2_name

    def dehydrate_option3_name(self, variant: Variant) -> str:
        return variant.product.option3_name

    def dehydrate_image_urls(self, variant: Variant) -> str:
        return ", ".join(image.url for image in variant.product.images.all())

    # The variant's own columns.
    def dehydrate_sku(self, variant: Variant) -> str:
        return variant.sku

    def dehydrate_option1(self, variant: Variant) -> str:
        return variant.option1

    def dehydrate_option2(self, variant: Variant) -> str:
        return variant.option2

    def dehydrate_option3(self, variant: Variant) -> str:
        return variant.option3

    def dehydrate_price(self, variant: Variant) -> str:
        return _text(variant.price)

    def dehydrate_compare_at_price(self, variant: Variant) -> str:
        return _text(variant.compare_at_price)

    def dehydrate_cost(self, variant: Variant) -> str:
        return _text(variant.cost)

    def dehydrate_barcode(self, variant: Variant) -> str:
        return _text(variant.barcode)

    def dehydrate_weight_grams(self, variant: Variant) -> str:
        return _text(variant.weight_grams)

    def dehydrate_allow_backorder(self, variant: Variant) -> str:
        return "yes" if variant.allow_backorder else "no"
