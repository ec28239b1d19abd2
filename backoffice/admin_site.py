from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class StockroomAdminSite(admin.AdminSite):
    site_title = _("Stockroom")
    site_header = _("Stockroom back office")
    index_title = _("Catalog, stock, suppliers and orders")
    index_template = "admin/stockroom/dashboard.html"

    def register(self, model_or_iterable, admin_class=None, **options):
        # Every changelist refuses (403) an action its user may not run.
        from .admin_permissions import RefuseUnavailableActionsMixin

        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, RefuseUnavailableActionsMixin):
            admin_class = type(
                admin_class.__name__, (RefuseUnavailableActionsMixin, admin_class), {}
            )
        return super().register(model_or_iterable, admin_class, **options)

    def index(self, request, extra_context=None):
        """The admin index is the dashboard (F-41), above the list of apps."""
        from .dashboard import dashboard_context

        context = {**dashboard_context(), **(extra_context or {})}
        return super().index(request, context)
