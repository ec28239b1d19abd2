"""Compliance admin (F-40): banned words, flags, and the flagged products with their
reasons and a bulk "delist for compliance" action (catalog.services.delist)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backoffice.admin_actions import ActionForm, form_action
from backoffice.admin_permissions import RefuseUnavailableActionsMixin, requires
from backoffice.admin_readonly import ReadOnlyAdminMixin
from backoffice.admin_run_now import RunNowMixin
from backoffice.errors import DomainError
from backoffice.paginator import EstimatedCountPaginator

from . import compliance, services, tasks
from .models import BannedWord, ComplianceFlag, DelistReason, FlaggedProduct


class BannedWordsForm(forms.Form):
    words = forms.CharField(
        label=_("Words"),
        widget=forms.Textarea(attrs={"rows": 8}),
        strip=False,
        help_text=_(
            "One word or phrase per line; matched anywhere in titles and descriptions, in any case."
        ),
        error_messages={"required": compliance.BANNED_WORDS_EMPTY},
    )

    def lines(self) -> list[str]:
        lines = self.cleaned_data["words"].replace("\r\n", "\n").split("\n")
        while lines and not lines[-1].strip():  # a final newline is not a blank entry
            lines.pop()
        return lines


@admin.register(BannedWord)
class BannedWordAdmin(admin.ModelAdmin):
    list_display = ["word", "note", "created_at"]
    search_fields = ["word"]
    readonly_fields = ["word", "created_at"]

    def add_view(self, request, form_url="", extra_context=None):
        """Several words at once, through ``compliance.banned_words_add``."""
        form = BannedWordsForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                added = compliance.banned_words_add(words=form.lines(), actor=request.user)
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    gettext("%(count)s banned words added.") % {"count": added},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:catalog_bannedword_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Add banned words"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/catalog/bannedword/add_words.html", context)


class OpenFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("resolved", _("Resolved"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(ComplianceFlag)
class ComplianceFlagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["product", "code", "detail", "found_at", "resolved_at"]
    list_filter = [OpenFilter, "code"]
    list_select_related = ["product"]
    search_fields = ["product__title", "detail"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


class FlagCodeFilter(admin.SimpleListFilter):
    title = _("reason")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return ComplianceFlag.Code.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                compliance_flags__code=self.value(), compliance_flags__resolved_at__isnull=True
            )
        return queryset


class ComplianceDelistForm(ActionForm):
    note = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Kept with the delisting; the reason is “compliance”."),
    )


@admin.register(FlaggedProduct)
class FlaggedProductAdmin(RefuseUnavailableActionsMixin, RunNowMixin, admin.ModelAdmin):
    list_display = ["title_link", "status", "category", "reasons"]
    list_filter = [FlagCodeFilter, "status"]
    list_select_related = ["category"]
    search_fields = ["title"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    actions = ["delist_for_compliance"]
    run_now_task = tasks.compliance_check_now
    run_now_label = _("Run the compliance check now")
    run_now_message = _("The compliance check was started; its flags appear in this list.")
    run_now_permission = "catalog.run_compliance_check"
    has_delist_permission = requires("catalog.delist_product")

    def get_queryset(self, request):
        open_flags = ComplianceFlag.objects.filter(resolved_at__isnull=True).order_by("code")
        return (
            FlaggedProduct.objects.filter(pk__in=compliance.flagged_products().values("pk"))
            .select_related("category")
            .prefetch_related(Prefetch("compliance_flags", open_flags, to_attr="open_flags"))
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description=_("title"), ordering="title")
    def title_link(self, obj):
        url = reverse("admin:catalog_product_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.title or gettext("(no title)"))

    @admin.display(description=_("reasons"))
    def reasons(self, obj):
        return format_html_join(
            ", ",
            "{}{}",
            (
                (flag.get_code_display(), f" ({flag.detail})" if flag.detail else "")
                for flag in obj.open_flags
            ),
        )

    @admin.action(description=_("Delist for compliance…"), permissions=["delist"])
    def delist_for_compliance(self, request, queryset):
        def perform(data):
            result = services.delist(
                products=queryset,
                reason=DelistReason.COMPLIANCE,
                note=data["note"],
                actor=request.user,
                submission_key=data["submission_key"],
            )
            return gettext(
                "%(changed)s products delisted for compliance; %(skipped)s skipped "
                "(already delisted or draft)."
            ) % {"changed": result.changed, "skipped": result.skipped}

        return form_action(
            self,
            request,
            queryset,
            form_class=ComplianceDelistForm,
            title=_("Delist for compliance"),
            perform=perform,
        )
