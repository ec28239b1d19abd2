"""Reads that more than one door needs: availability for the storefront, return reports."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, F, Sum

from catalog.models import SELLABLE_STATUSES, Variant
from inventory.models import Stock, Warehouse

from .models import ReturnLine


def availability(*, skus: Iterable[str], warehouse: Warehouse) -> dict[str, int]:
    """Units free to sell per known SKU in ``warehouse`` (0 when not on sale); unknown SKUs
    are left out, for the caller to report."""
    skus = set(skus)
    variants = dict(Variant.objects.filter(sku__in=skus).values_list("sku", "product__status"))
    free = dict(
        Stock.objects.filter(variant__sku__in=variants, warehouse=warehouse)
        .annotate(free=F("on_hand") - F("allocated"))
        .values_list("variant__sku", "free")
    )
    return {
        sku: max(free.get(sku, 0), 0) if status in SELLABLE_STATUSES else 0
        for sku, status in variants.items()
    }


def return_reasons_by_product():
    """Returned units and return lines per product and reason (F-32), most returned first."""
    return (
        ReturnLine.objects.exclude(return_request__status="rejected")
        .values("order_line__variant__product_id", "order_line__variant__product__title", "reason")
        .annotate(units=Sum("quantity"), lines=Count("pk"))
        .order_by("-units", "order_line__variant__product_id", "reason")
    )


def return_reasons_by_supplier():
    """Units sent back to each supplier after inspection, per return reason."""
    return (
        ReturnLine.objects.filter(supplier__isnull=False, supplier_quantity__gt=0)
        .values("supplier_id", "supplier__name", "reason")
        .annotate(units=Sum("supplier_quantity"), lines=Count("pk"))
        .order_by("-units", "supplier_id", "reason")
    )
