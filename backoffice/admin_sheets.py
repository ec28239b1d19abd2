"""Spreadsheet imports in the admin: the Import button, the upload page and the run page.

``SheetImportMixin`` gives a changelist an "Import" button when its user may
import one of the sheets registered for that model (see
``backoffice.spreadsheets.base``). The upload page stores the file as an
``ImportRun`` and checks it (a dry run); the run page shows the preview —
per row: new, updated, unchanged or the errors with row, column and message
— and offers "Apply" only when there is no error. Large files are checked
and applied in the background, and the run page shows a progress bar until
the result is there. Export stays the library's (``SafeExportMixin``).
"""

from __future__ import annotations

import csv
import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .admin_readonly import ReadOnlyAdminMixin
from .errors import DomainError
from .models import ImportRun
from .spreadsheets import runs
from .spreadsheets.base import Importer, importers_for, load_importers
from .spreadsheets.reading import ENCODINGS


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File (.csv or .xlsx)"))
    encoding = forms.ChoiceField(
        label=gettext_lazy("Encoding of a .csv file"), choices=ENCODINGS, initial="auto"
    )

    def __init__(self, *args, importer: type[Importer], **kwargs):
        super().__init__(*args, **kwargs)
        for name, make_field in importer.option_fields.items():
            self.fields[name] = make_field()

    def clean_file(self):
        from django.conf import settings

        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s; files up to %(limit)s can be imported.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        return upload

    def options(self) -> dict:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("file", "encoding")
        }


def _run_url(run: ImportRun, view: str = "change") -> str:
    if view == "change":
        return reverse("admin:backoffice_importrun_change", args=[run.pk])
    return reverse(f"admin:backoffice_importrun_{view}", args=[run.pk])


class SheetImportMixin:
    """Adds ``<changelist>/import-sheet/`` and the Import button for the model's sheets."""

    # The changelist template of django-import-export's admin mixins (put this mixin
    # before ``SafeExportMixin``): the Export button and, beside it, Import.
    import_export_change_list_template = "admin/stockroom/sheets_change_list.html"

    def _sheets(self, request) -> list[type[Importer]]:
        return [imp for imp in importers_for(self.model) if request.user.has_perm(imp.permission)]

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_import_sheet"
        view = self.admin_site.admin_view(self.import_sheet_view)
        return [path("import-sheet/", view, name=name)] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        if self._sheets(request):
            opts = self.model._meta
            extra_context["import_sheet_url"] = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_import_sheet"
            )
        return super().changelist_view(request, extra_context)

    def import_sheet_view(self, request):
        sheets = self._sheets(request)
        if not sheets:
            raise PermissionDenied
        kind = request.GET.get("kind") or (sheets[0].kind if len(sheets) == 1 else "")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import %(model)s") % {"model": self.model._meta.verbose_name_plural},
            "sheets": sheets,
        }
        importer = next((imp for imp in sheets if imp.kind == kind), None)
        if importer is None:
            return TemplateResponse(request, "admin/stockroom/sheet_choose.html", context)
        if request.GET.get("template") == "csv":
            return _template_sheet(importer)
        form = UploadForm(request.POST or None, request.FILES or None, importer=importer)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                run = runs.import_run_start(
                    kind=importer.kind,
                    name=upload.name,
                    data=upload.read(),
                    encoding=form.cleaned_data["encoding"],
                    options=form.options(),
                    actor=request.user,
                )
            except DomainError as error:
                form.add_error("file", error.message)
            else:
                return HttpResponseRedirect(_run_url(run))
        context.update(
            {
                "importer": importer,
                "form": form,
                "title": importer.label,
                "template_url": f"?kind={importer.kind}&template=csv",
                "columns_required": importer.required_columns,
                "columns_optional": importer.optional_columns,
                "columns_ignored": sorted(importer.ignored_columns.items()),
            }
        )
        return TemplateResponse(request, "admin/stockroom/sheet_upload.html", context)


def _template_sheet(importer: type[Importer]) -> HttpResponse:
    """A csv with the sheet's columns and its example rows, to fill in."""
    from .spreadsheets.exporting import neutralise

    columns = [*importer.required_columns, *importer.optional_columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for example in importer.example:
        writer.writerow([neutralise(example.get(column, "")) for column in columns])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{importer.kind}-template.csv"'
    return response


class ImportRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number_link",
        "sheet",
        "file_name",
        "status",
        "total_rows",
        "created",
        "updated",
        "unchanged",
        "error_count",
        "actor",
        "created_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["file_name"]
    list_select_related = ["actor"]
    show_full_result_count = False
    date_hierarchy = "created_at"

    @admin.display(description=gettext_lazy("import"), ordering="pk")
    def number_link(self, run):
        return run.number

    @admin.display(description=gettext_lazy("sheet"), ordering="kind")
    def sheet(self, run):
        importer = load_importers().get(run.kind)
        return importer.label if importer else run.kind

    # Staff who may import see their own runs; the view permission shows everybody's.
    def _may_import(self, request) -> bool:
        return any(request.user.has_perm(imp.permission) for imp in load_importers().values())

    def has_view_permission(self, request, obj=None):
        if super().has_view_permission(request, obj):
            return True
        if obj is None:
            return self._may_import(request)
        return obj.actor_id == request.user.pk

    def has_module_permission(self, request):
        return super().has_module_permission(request) or self._may_import(request)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not request.user.has_perm("backoffice.view_importrun"):
            queryset = queryset.filter(actor=request.user)
        return queryset

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path(
                "<int:pk>/progress/", view(self.progress_view), name="backoffice_importrun_progress"
            ),
            path("<int:pk>/confirm/", view(self.confirm_view), name="backoffice_importrun_confirm"),
            path("<int:pk>/cancel/", view(self.cancel_view), name="backoffice_importrun_cancel"),
            path("<int:pk>/resume/", view(self.resume_view), name="backoffice_importrun_resume"),
            path("<int:pk>/file/", view(self.file_view), name="backoffice_importrun_file"),
            path("<int:pk>/errors/", view(self.errors_view), name="backoffice_importrun_errors"),
        ] + super().get_urls()

    def _run(self, request, pk) -> ImportRun:
        run = get_object_or_404(ImportRun, pk=pk)
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        return run

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not str(object_id).isdigit():
            raise Http404
        run = self._run(request, int(object_id))
        importer = load_importers().get(run.kind)
        report = (
            run.report if run.status in (run.Status.APPLIED, run.Status.FAILED) else run.preview
        )
        may_apply = bool(importer) and request.user.has_perm(importer.permission)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{run.number} · {run.file_name}",
            "run": run,
            "sheet": importer.label if importer else run.kind,
            "report": report or {},
            "progress": runs.progress_of(run),
            "progress_url": _run_url(run, "progress"),
            "can_confirm": may_apply and run.status == run.Status.PREVIEWED and not run.error_count,
            "can_cancel": may_apply and run.status == run.Status.PREVIEWED,
            "can_resume": may_apply
            and run.background
            and run.status in (run.Status.CHECKING, run.Status.QUEUED, run.Status.APPLYING),
            "is_result": run.status in (run.Status.APPLIED, run.Status.FAILED),
        }
        return TemplateResponse(request, "admin/stockroom/importrun_detail.html", context)

    def progress_view(self, request, pk):
        return JsonResponse(runs.progress_of(self._run(request, pk)))

    def _post(self, request, pk, action, done_message):
        if request.method != "POST":
            return HttpResponse(status=405)
        run = self._run(request, pk)
        try:
            run = action(run=run, actor=request.user)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, done_message(run), messages.SUCCESS)
        return HttpResponseRedirect(_run_url(run))

    def confirm_view(self, request, pk):
        def done(run):
            if run.status == run.Status.APPLIED:
                return _("%(number)s applied: %(created)s new, %(updated)s updated.") % {
                    "number": run.number,
                    "created": run.created,
                    "updated": run.updated,
                }
            if run.status == run.Status.FAILED:
                return _("%(number)s found errors while applying: nothing was written.") % {
                    "number": run.number
                }
            return _("%(number)s is being applied in the background.") % {"number": run.number}

        return self._post(request, pk, runs.import_run_confirm, done)

    def cancel_view(self, request, pk):
        return self._post(
            request,
            pk,
            runs.import_run_cancel,
            lambda run: _("%(number)s cancelled: nothing was written.") % {"number": run.number},
        )

    def resume_view(self, request, pk):
        return self._post(
            request,
            pk,
            runs.import_run_resume,
            lambda run: _("%(number)s handed to a worker again.") % {"number": run.number},
        )

    def file_view(self, request, pk):
        run = self._run(request, pk)
        return FileResponse(run.file.open("rb"), as_attachment=True, filename=run.file_name)

    def errors_view(self, request, pk):
        from .spreadsheets.exporting import neutralise

        run = self._run(request, pk)
        report = run.report or run.preview or {}
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([_("row"), _("column"), _("message")])
        for error in report.get("errors", []):
            writer.writerow(
                [error["row"], neutralise(error["column"]), neutralise(error["message"])]
            )
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{run.number}-errors.csv"'
        return response
