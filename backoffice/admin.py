from django.contrib import admin

from .models import SubmissionKey


@admin.register(SubmissionKey)
class SubmissionKeyAdmin(admin.ModelAdmin):
    list_display = ["created_at", "operation", "actor", "key"]
    list_select_related = ["actor"]
    list_filter = ["operation"]
    search_fields = ["=key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
