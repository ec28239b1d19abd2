from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Supplier


@admin.register(Supplier)
class SupplierAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "contact_name", "email", "lead_time_days", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["code", "name", "contact_name", "email"]
