"""django-filter FilterSets used as admin sidebar filters."""

from __future__ import annotations

import django_filters
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from .models import Stock


class StockLevelFilterSet(django_filters.FilterSet):
    on_hand = django_filters.RangeFilter(label=_("On hand between"))
    available = django_filters.RangeFilter(label=_("Available between"), method="filter_available")

    class Meta:
        model = Stock
        fields = ["on_hand"]

    def filter_available(self, queryset, name, value):
        queryset = queryset.alias(available_units=F("on_hand") - F("allocated"))
        if value.start is not None:
            queryset = queryset.filter(available_units__gte=value.start)
        if value.stop is not None:
            queryset = queryset.filter(available_units__lte=value.stop)
        return queryset
