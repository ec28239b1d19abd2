from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class StockroomAdminConfig(AdminConfig):
    """django.contrib.admin with Stockroom's own admin site as the default site."""

    default_site = "backoffice.admin_site.StockroomAdminSite"


class BackofficeConfig(AppConfig):
    name = "backoffice"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .roles import sync_after_migrate

        # Integration with Django's permission system: permissions exist only
        # after migrate, so the roles are brought up to date right after it.
        post_migrate.connect(sync_after_migrate, dispatch_uid="stockroom-roles")
