"""A "run now" button on a changelist: staff start a scheduled job on demand."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse

from .outbox import after_commit


class RunNowMixin:
    """Adds ``<changelist>/run-now/`` (POST) that queues ``run_now_task`` after commit.

    Set ``run_now_task`` (a Celery task taking ``actor_id``), ``run_now_label``,
    ``run_now_permission`` and ``run_now_message``. Without a broker the task
    runs in-process, so the page shows its result on return.
    """

    change_list_template = "admin/stockroom/run_now_change_list.html"
    run_now_task = None
    run_now_label = ""
    run_now_message = ""
    run_now_permission = ""

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_run_now"
        urls = [path("run-now/", self.admin_site.admin_view(self.run_now_view), name=name)]
        return urls + super().get_urls()

    def can_run_now(self, request: HttpRequest) -> bool:
        return request.user.has_perm(self.run_now_permission)

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        if self.can_run_now(request):
            opts = self.model._meta
            extra_context["run_now_url"] = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_run_now"
            )
            extra_context["run_now_label"] = self.run_now_label
        return super().changelist_view(request, extra_context)

    def run_now_view(self, request: HttpRequest):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.can_run_now(request):
            raise PermissionDenied
        after_commit(self.run_now_task.delay, actor_id=request.user.pk)
        self.message_user(request, self.run_now_message, messages.SUCCESS)
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist")
        )
