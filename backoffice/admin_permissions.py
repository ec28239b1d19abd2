"""Admin actions guarded by their own permission, not just "can change".

``has_delist_permission = requires("catalog.delist_product")`` on a ModelAdmin
makes ``@admin.action(permissions=["delist"])`` available only to users who
hold that permission (Django hides the action from everyone else and refuses
it if posted anyway).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


def requires(permission: str):
    def has_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(permission)

    has_permission.__name__ = f"has_{permission.split('.')[1]}_permission"
    return has_permission


class RefuseUnavailableActionsMixin:
    """A posted action the user may not run is answered 403, not silently ignored.

    Django leaves such an action out of the menu; a hand-made POST (or a page
    left open after a role change) would otherwise just re-render the list.
    """

    def changelist_view(self, request, extra_context=None):
        action = request.POST.get("action") if request.method == "POST" else None
        if action and "index" not in request.POST and action not in self.get_actions(request):
            raise PermissionDenied(f"The action {action!r} is not allowed for this user.")
        return super().changelist_view(request, extra_context)
