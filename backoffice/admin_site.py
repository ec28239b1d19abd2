from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class StockroomAdminSite(admin.AdminSite):
    site_title = _("Stockroom")
    site_header = _("Stockroom back office")
    index_title = _("Catalog, stock, suppliers and orders")
