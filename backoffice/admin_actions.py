"""Admin actions with an intermediate page (reason, quantity, warehouse…).

An action validates its form, calls one service with the selected queryset,
and reports with ``message_user``. A domain error becomes an error message
and changes nothing; the page carries a one-time key so that submitting the
same form twice is refused by the service.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext

from .errors import DomainError


class ActionForm(forms.Form):
    """Base of intermediate forms: carries the one-time submission key."""

    submission_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


def report(modeladmin: admin.ModelAdmin, request: HttpRequest, call: Callable[[], str]) -> None:
    """Run a service call; show its summary, or its domain error, as an admin message."""
    try:
        summary = call()
    except DomainError as error:
        modeladmin.message_user(request, error.message, messages.ERROR)
    else:
        modeladmin.message_user(request, summary, messages.SUCCESS)


def form_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form_class: type[ActionForm],
    title: str,
    perform: Callable[[dict[str, Any]], str],
    form_kwargs: dict[str, Any] | None = None,
) -> HttpResponse | None:
    """Show ``form_class`` for the selection; on a valid POST call ``perform(cleaned_data)``."""
    form_kwargs = form_kwargs or {}
    if request.POST.get("apply"):
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            report(modeladmin, request, lambda: perform(form.cleaned_data))
            return None
    else:
        form = form_class(initial={"submission_key": uuid.uuid4().hex}, **form_kwargs)
    opts = modeladmin.model._meta
    count = queryset.count()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "opts": opts,
        "app_label": opts.app_label,
        "count": count,
        "preview": queryset[:20],
        "action": request.POST.get("action", ""),
        "select_across": request.POST.get("select_across", "0"),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "verbose_name_plural": opts.verbose_name_plural,
        "media": modeladmin.media + form.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/stockroom/action_form.html", context)


# --- per-row actions (documents with their own workflow: orders, returns, purchase orders) ---


def each(modeladmin, request, queryset, operation, done: str) -> None:
    """Call ``operation`` per row, each in its own transaction: one refusal blocks no other."""
    ok, failed = 0, []
    for obj in queryset.order_by("pk"):
        try:
            operation(obj)
            ok += 1
        except DomainError as error:
            failed.append(f"{obj}: {error.message}")
    if ok:
        modeladmin.message_user(request, done % {"count": ok}, messages.SUCCESS)
    for line in failed[:20]:
        modeladmin.message_user(request, line, messages.ERROR)
    if len(failed) > 20:
        modeladmin.message_user(
            request, gettext("… and %(count)s more refused.") % {"count": len(failed) - 20}
        )


def only_one(modeladmin, request, queryset, message):
    """The one selected row, or ``None`` after telling staff to select exactly one."""
    if queryset.count() != 1:
        modeladmin.message_user(request, message, messages.ERROR)
        return None
    return queryset.get()


def refused(modeladmin, request, check) -> bool:
    """Run a service's check; show its refusal as an error message and say whether it refused."""
    try:
        check()
    except DomainError as error:
        modeladmin.message_user(request, error.message, messages.ERROR)
        return True
    return False


def admin_link(obj) -> str:
    """A link to ``obj``'s change page, labelled with ``str(obj)``."""
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj)


class LinesThroughServicesMixin:
    """A document with lines (purchase order, transfer) created and edited by its services.

    The admin's form and line formset only collect the input: a new document is
    made by ``create_document`` and the lines of a draft are replaced by
    ``update_draft``, so the services' rules apply here as at every other door.
    Set ``lines_formset_class`` (its ``requests()`` gives the lines) and
    implement ``create_document(request, data, lines)``,
    ``update_draft(request, document, lines)`` and ``is_draft(document)``.
    """

    lines_formset_class: type | None = None

    def create_document(self, request, data: dict, lines: list):
        raise NotImplementedError

    def update_draft(self, request, document, lines: list) -> None:
        raise NotImplementedError

    def is_draft(self, document) -> bool:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        lines = next(fs for fs in formsets if isinstance(fs, self.lines_formset_class))
        if not change:
            document = self.create_document(request, form.cleaned_data, lines.requests())
            form.instance.pk = document.pk
            form.instance.refresh_from_db()
        elif self.is_draft(form.instance) and lines.has_changed():
            self.update_draft(request, form.instance, lines.requests())
        for formset in formsets:  # saved by the services, not by the formsets
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
