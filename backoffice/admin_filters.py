"""A django-filter FilterSet as a sidebar filter of the admin changelist.

The admin's own filters choose among values (a status, a warehouse); staff
also need ranges ("on hand between 1 and 5", "price under 20"), which the
admin does not offer. A FilterSet declares them, validates the input and
builds the query; this adapter shows its form in the sidebar.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters


class FilterSetListFilter(admin.ListFilter):
    """Subclass with ``title`` and ``filterset_class`` (a django_filters.FilterSet)."""

    filterset_class = None
    template = "admin/stockroom/filterset_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.used: dict[str, str] = {}
        for name in self.expected_parameters():
            if name in params:
                value = params.pop(name)
                self.used[name] = value[-1] if isinstance(value, list) else value
        self.request = request

    def expected_parameters(self) -> list[str]:
        names = []
        for name, filter_ in self.filterset_class.base_filters.items():
            widget = filter_.field_class().widget
            if hasattr(widget, "suffixes") and widget.suffixes:
                names += [f"{name}_{suffix}" for suffix in widget.suffixes]
            else:
                names.append(name)
        return names

    def has_output(self) -> bool:
        return True

    def queryset(self, request, queryset):
        if not self.used:
            return queryset
        filterset = self.filterset_class(self.used, queryset=queryset)
        if not filterset.is_valid():
            raise IncorrectLookupParameters(filterset.errors)
        return filterset.qs

    def choices(self, changelist):
        filterset = self.filterset_class(self.used or None)
        others = [
            (key, value)
            for key, value in self.request.GET.items()
            if key not in self.expected_parameters() and key != "p"
        ]
        yield {
            "form": filterset.form,
            "others": others,
            "clear_query_string": changelist.get_query_string(remove=self.expected_parameters()),
            "used": bool(self.used),
        }
