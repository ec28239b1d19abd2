from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class StockroomAdminSite(admin.AdminSite):
    site_title = _("Stockroom")
    site_header = _("Stockroom back office")
    index_title = _("Catalog, stock, suppliers and orders")
    index_template = "admin/stockroom/dashboard.html"

    def index(self, request, extra_context=None):
        """The admin index is the dashboard (F-41), above the list of apps."""
        from .dashboard import dashboard_context

        context = {**dashboard_context(), **(extra_context or {})}
        return super().index(request, context)
