"""Admin search that stays on indexes at 100k SKUs and millions of movements.

The admin's own search ORs a LIKE over every search field, through joins, and
adds DISTINCT when a field crosses a multi-valued relation: a full scan of the
biggest tables for every search. Staff mostly search by SKU or barcode, so the
SKUs are looked up first (SKU prefix and exact barcode use their unique
indexes, at most ``SKU_SEARCH_LIMIT`` of them) and the list is filtered by
their ids; the model's own ``search_fields`` work as usual beside it.
"""

from __future__ import annotations

from django.db.models import Q

SKU_SEARCH_LIMIT = 1000


def matching_variant_ids(term: str, field: str = "pk") -> list:
    from catalog.models import Variant

    term = term.strip()
    if not term:
        return []
    match = Q(sku__startswith=term) | Q(barcode=term)
    if term.upper() != term:
        match |= Q(sku__startswith=term.upper())
    return list(Variant.objects.filter(match).values_list(field, flat=True)[:SKU_SEARCH_LIMIT])


class SkuSearchMixin:
    """Mix into a ModelAdmin and define ``sku_search(term) -> Q | None``."""

    def sku_search(self, term: str) -> Q | None:
        """The condition for rows of the matching SKUs; None when nothing matches."""
        return None

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        condition = self.sku_search(search_term) if search_term.strip() else None
        if condition is not None:
            results = results | queryset.filter(condition)
        return results, may_have_duplicates
