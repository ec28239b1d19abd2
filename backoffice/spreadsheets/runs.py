"""Import runs: upload → dry run (preview) → confirm → apply, recorded in ``ImportRun``.

A small file is checked in the request and applied in the request when staff
confirm. A file above ``IMPORT_BACKGROUND_BYTES`` is never worked on by the
request: its dry run and its apply are background tasks (Celery; without a
broker, a thread of this process), and the run page shows their progress.
Both steps claim the run with a conditional UPDATE on its status, so a
confirm sent twice, or a task delivered twice, applies the file once.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.files.base import ContentFile
from django.db import OperationalError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import KombuError

from backoffice.errors import DomainError
from backoffice.models import ImportRun

from .base import Importer, Report, load_importers
from .reading import SheetError, read_table
from .runner import run_import

logger = logging.getLogger(__name__)

UNKNOWN_SHEET = _("Unknown sheet %(kind)r.")
NOT_ALLOWED = _("You may not import %(sheet)s: it needs the permission “%(permission)s”.")
NOT_CONFIRMABLE = _("Import %(number)s cannot be applied: it is %(status)s.")
HAS_ERRORS = _("Import %(number)s has %(count)s errors: correct the file and upload it again.")
NOT_CANCELLABLE = _("Import %(number)s cannot be cancelled: it is %(status)s.")

PROGRESS_CACHE = "progress"
COUNT_FIELDS = ("total_rows", "created", "updated", "unchanged", "error_count")


class ImportRefused(DomainError):
    pass


def importer_for(kind: str) -> type[Importer]:
    importer = load_importers().get(kind)
    if importer is None:
        raise ImportRefused(UNKNOWN_SHEET % {"kind": kind})
    return importer


def check_permission(importer: type[Importer], actor: Any) -> None:
    if actor is None or not actor.has_perm(importer.permission):
        raise ImportRefused(
            NOT_ALLOWED % {"sheet": importer.label, "permission": importer.permission}
        )


def _progress_key(run_id: int) -> str:
    return f"import-run:{run_id}"


def progress_of(run: ImportRun) -> dict:
    """What the run page polls: status, phase, rows done so far, rows in the file."""
    data = caches[PROGRESS_CACHE].get(_progress_key(run.pk)) or {}
    total = run.total_rows or 0
    done = data.get("done", 0)
    if run.status in (ImportRun.Status.APPLIED, ImportRun.Status.PREVIEWED):
        done = total
    return {
        "status": run.status,
        "status_label": str(run.get_status_display()),
        "phase": data.get("phase", ""),
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else None,
        "busy": run.busy,
    }


def _progress_writer(run_id: int, phase: str):
    cache = caches[PROGRESS_CACHE]

    def progress(done: int) -> None:
        cache.set(_progress_key(run_id), {"phase": phase, "done": done}, timeout=24 * 3600)

    progress(0)
    return progress


def _stored_options(importer: type[Importer], raw: dict) -> dict:
    """Options as the importer wants them: each stored raw value cleaned by its form field."""
    options = {}
    for name, make_field in importer.option_fields.items():
        options[name] = make_field().clean(raw.get(name))
    return options


def _raw_option(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, list | tuple):
        return [_raw_option(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def import_run_start(
    *, kind: str, name: str, data: bytes, encoding: str = "auto", options: dict | None, actor: Any
) -> ImportRun:
    """Record an upload and check it: now for a small file, in the background for a big one.

    ``options`` are the cleaned values of the importer's option fields. Refuses
    an unknown sheet and a user without the sheet's import permission; a
    file that cannot be read at all is refused before anything is stored.
    """
    importer = importer_for(kind)
    check_permission(importer, actor)
    background = len(data) > settings.IMPORT_BACKGROUND_BYTES
    if not background:
        read_table(data, name, encoding=encoding)  # refuse an unreadable file at once
    run = ImportRun(
        kind=kind,
        file_name=name[:255],
        file_size=len(data),
        encoding=encoding or "auto",
        options={key: _raw_option(value) for key, value in (options or {}).items()},
        background=background,
        actor=actor if getattr(actor, "pk", None) else None,
        status=ImportRun.Status.CHECKING,
    )
    run.file.save(name, ContentFile(data), save=False)
    run.save()
    if background:
        _launch(run.pk, "check")
    else:
        import_run_check(run.pk)
        run.refresh_from_db()
    return run


def _report_into(run: ImportRun, report: Report) -> None:
    run.total_rows = report.total_rows
    run.created = report.created
    run.updated = report.updated
    run.unchanged = report.unchanged
    run.error_count = report.error_count


def _execute(run: ImportRun, *, dry_run: bool) -> Report:
    importer = importer_for(run.kind)
    with run.file.open("rb") as handle:
        data = handle.read()
    try:
        table = read_table(data, run.file_name, encoding=run.encoding)
        options = _stored_options(importer, run.options)
    except (SheetError, DomainError) as error:
        report = Report()
        report.error(0, "", error.message)
        return report
    except Exception as error:  # noqa: BLE001 - a bad option value (form field ValidationError)
        report = Report()
        report.error(0, "", "; ".join(getattr(error, "messages", [str(error)])))
        return report
    progress = _progress_writer(run.pk, "check" if dry_run else "apply")
    return run_import(
        importer,
        table,
        actor=run.actor,
        options=options,
        reference=run.number,
        dry_run=dry_run,
        progress=progress,
    )


def import_run_check(run_id: int) -> ImportRun | None:
    """The dry run of a run that is being checked; idempotent (a checked run is left alone)."""
    run = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.CHECKING).first()
    if run is None:
        return None
    report = _execute(run, dry_run=True)
    _report_into(run, report)
    run.preview = report.as_dict()
    run.status = ImportRun.Status.PREVIEWED
    # Only a run still being checked takes the result (a cancel in between wins).
    ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.CHECKING).update(
        **_counts(run), preview=run.preview, status=run.status
    )
    return run


def _counts(run: ImportRun) -> dict:
    return {name: getattr(run, name) for name in COUNT_FIELDS}


def import_run_confirm(*, run: ImportRun, actor: Any) -> ImportRun:
    """Apply a previewed run without errors: now (small file) or in the background."""
    importer = importer_for(run.kind)
    check_permission(importer, actor)
    run.refresh_from_db()
    if run.status == ImportRun.Status.PREVIEWED and run.error_count:
        raise ImportRefused(HAS_ERRORS % {"number": run.number, "count": run.error_count})
    claimed = ImportRun.objects.filter(
        pk=run.pk, status=ImportRun.Status.PREVIEWED, error_count=0
    ).update(status=ImportRun.Status.QUEUED)
    if not claimed:
        raise ImportRefused(
            NOT_CONFIRMABLE % {"number": run.number, "status": run.get_status_display()}
        )
    if run.background:
        _launch(run.pk, "apply")
    else:
        import_run_apply(run.pk)
    run.refresh_from_db()
    return run


def _claim_for_apply(run_id: int) -> bool:
    """Take a queued run, or a run left "applying" by a worker that died.

    The apply holds a lock on its run row until its transaction ends, so on
    PostgreSQL a run that is "applying" and not locked has nobody working on
    it: its transaction was rolled back with its worker. (SQLite has no row
    locks: there, such a run is taken over after ``IMPORT_STALE_SECONDS``.)
    """
    now = timezone.now()
    if ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
        status=ImportRun.Status.APPLYING, started_at=now
    ):
        return True
    applying = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.APPLYING)
    if connection.vendor != "postgresql":
        stale = now - timedelta(seconds=settings.IMPORT_STALE_SECONDS)
        return bool(applying.filter(started_at__lt=stale).update(started_at=now))
    try:
        with transaction.atomic():
            if not list(applying.select_for_update(nowait=True).values_list("pk", flat=True)):
                return False
            return bool(applying.update(started_at=now))
    except OperationalError:  # locked: a worker is applying it right now
        return False


def import_run_apply(run_id: int) -> ImportRun | None:
    """Apply a queued run, all rows or none; a second delivery finds it claimed and returns."""
    if not _claim_for_apply(run_id):
        return None
    try:
        with transaction.atomic():
            # Held until the import commits or rolls back: see _claim_for_apply.
            run = ImportRun.objects.select_for_update().get(pk=run_id)
            report = _execute(run, dry_run=False)
    except Exception:
        ImportRun.objects.filter(pk=run_id).update(
            status=ImportRun.Status.FAILED, finished_at=timezone.now()
        )
        raise
    _report_into(run, report)
    run.report = report.as_dict()
    run.status = ImportRun.Status.APPLIED if report.ok else ImportRun.Status.FAILED
    run.finished_at = timezone.now()
    run.save(update_fields=[*COUNT_FIELDS, "report", "status", "finished_at"])
    return run


def import_run_cancel(*, run: ImportRun, actor: Any) -> ImportRun:
    cancelled = ImportRun.objects.filter(
        pk=run.pk, status__in=[ImportRun.Status.PREVIEWED, ImportRun.Status.CHECKING]
    ).update(status=ImportRun.Status.CANCELLED, finished_at=timezone.now())
    run.refresh_from_db()
    if not cancelled:
        raise ImportRefused(
            NOT_CANCELLABLE % {"number": run.number, "status": run.get_status_display()}
        )
    return run


def _launch(run_id: int, phase: str) -> None:
    """Hand the phase to a worker once the run row is committed."""

    def start() -> None:
        from backoffice.tasks import import_run_task

        if settings.CELERY_TASK_ALWAYS_EAGER:
            if settings.IMPORT_BACKGROUND_THREADS:
                threading.Thread(
                    target=_in_thread, args=(run_id, phase), name=f"import-{run_id}", daemon=True
                ).start()
            else:
                import_run_task(run_id, phase)
            return
        try:
            import_run_task.delay(run_id, phase)
        except (KombuError, OSError) as error:
            logger.warning("broker unreachable, import %s waits for a retry: %s", run_id, error)

    transaction.on_commit(start)


def _in_thread(run_id: int, phase: str) -> None:
    from backoffice.tasks import import_run_task

    close_old_connections()
    try:
        import_run_task(run_id, phase)
    except Exception:
        logger.exception("background import %s failed", run_id)
    finally:
        from django.db import connections

        connections.close_all()


def import_run_resume(*, run: ImportRun, actor: Any) -> ImportRun:
    """Hand a stuck background run to a worker again: the broker was down when it was
    queued, or the worker applying it died (the task takes such a run over only when
    nobody holds it, see ``_claim_for_apply``)."""
    check_permission(importer_for(run.kind), actor)
    if run.status == ImportRun.Status.CHECKING:
        _launch(run.pk, "check")
    elif run.status in (ImportRun.Status.QUEUED, ImportRun.Status.APPLYING):
        _launch(run.pk, "apply")
    return run
