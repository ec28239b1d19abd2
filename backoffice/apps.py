from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class StockroomAdminConfig(AdminConfig):
    """django.contrib.admin with Stockroom's own admin site as the default site."""

    default_site = "backoffice.admin_site.StockroomAdminSite"


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = _("Back office")
