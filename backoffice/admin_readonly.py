"""Admin for rows that only services write (ledger, events, allocations…)."""

from __future__ import annotations


class ReadOnlyAdminMixin:
    """Viewable in the admin; never added, changed or deleted there.

    Works for a ModelAdmin and for an inline (the ``obj`` argument is optional).
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
