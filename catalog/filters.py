"""django-filter FilterSets used as admin sidebar filters."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from .models import Variant


class PriceRangeFilterSet(django_filters.FilterSet):
    price = django_filters.RangeFilter(label=_("Price between"))

    class Meta:
        model = Variant
        fields = ["price"]
