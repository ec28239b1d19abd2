from __future__ import annotations

import secrets

from django import forms
from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import outbox
from .admin_actions import report
from .admin_readonly import ReadOnlyAdminMixin
from .admin_sheets import ImportRunAdmin
from .models import (
    ImportRun,
    OutboxMessage,
    ScheduledRun,
    SubmissionKey,
    WebhookEndpoint,
    WebhookEvent,
)
from .paginator import EstimatedCountPaginator


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


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events sent to this endpoint."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "audience", "url", "secret", "events", "timeout_seconds", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.pk and not self.initial.get("secret"):
            self.initial["secret"] = secrets.token_hex(32)

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError(gettext("Only http:// and https:// URLs can be called."))
        return url

    def clean_secret(self):
        secret = self.cleaned_data["secret"].strip()
        if len(secret) < 16:
            raise forms.ValidationError(gettext("Use a secret of at least 16 characters."))
        return secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "audience", "url", "event_list", "timeout_seconds", "is_active"]
    list_filter = ["audience", "is_active"]
    search_fields = ["name", "url"]

    @admin.display(description=_("events"))
    def event_list(self, obj):
        labels = dict(WebhookEvent.choices)
        return ", ".join(str(labels.get(name, name)) for name in obj.events)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "event",
        "target",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "short_error",
    ]
    list_select_related = ["endpoint"]
    list_filter = ["status", "kind", "event", "endpoint"]
    search_fields = ["=idempotency_key", "=recipient"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    actions = ["resend"]
    readonly_fields = [
        "kind",
        "event",
        "endpoint",
        "recipient",
        "payload",
        "idempotency_key",
        "batch",
        "status",
        "attempts",
        "max_attempts",
        "last_error",
        "next_attempt_at",
        "lease_until",
        "created_at",
        "delivered_at",
    ]

    @admin.display(description=_("to"))
    def target(self, obj):
        return obj.endpoint.name if obj.endpoint_id else obj.recipient

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.action(description=_("Resend the selected messages"), permissions=["resend"])
    def resend(self, request, queryset):
        report(
            self,
            request,
            lambda: (
                gettext("%(count)s message(s) queued to be sent again.")
                % {"count": outbox.resend(messages=queryset, actor=request.user)}
            ),
        )

    def has_resend_permission(self, request):
        return request.user.has_perm("backoffice.resend_outboxmessage")


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["job", "period", "status", "started_at", "finished_at", "summary"]
    list_filter = ["job", "status"]
    date_hierarchy = "started_at"


admin.site.register(ImportRun, ImportRunAdmin)
