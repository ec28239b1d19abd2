"""Import runs: upload → preview → apply (or cancel), in the request or in the background.

A sheet made for these tests (warehouses: code, name) keeps the framework's
behaviour apart from any app's rules; the apps' sheets have their own tests.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backoffice.models import ImportRun
from backoffice.spreadsheets import base, runs
from inventory.models import Stock, Warehouse

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


class WarehouseSheet(base.Importer):
    kind = "test-warehouses"
    label = "Warehouses (test sheet)"
    permission = "inventory.add_warehouse"
    model = Stock  # where its Import button is
    required_columns = ("code", "name")
    optional_columns = ("address",)
    ignored_columns = {"manager": "managers are not kept"}
    example = ({"code": "WEST", "name": "West warehouse"},)
    seen_progress: list[dict] = []

    def run(self, rows, *, report, progress):
        done = 0
        for row in rows:
            code, name = row.cells["code"], row.cells["name"]
            if not code:
                report.error(row.number, "code", "A code is needed.")
                continue
            existing = Warehouse.objects.filter(code=code).first()
            if existing is None:
                Warehouse.objects.create(code=code, name=name)
                report.add(row.number, "create", code)
            elif existing.name != name:
                Warehouse.objects.filter(pk=existing.pk).update(name=name)
                report.add(row.number, "update", code)
            else:
                report.add(row.number, "unchanged", code)
            done += 1
            progress(done)
            if self.reference and done == 2:
                WarehouseSheet.seen_progress.append(
                    runs.progress_of(ImportRun.objects.get(pk=int(self.reference.split("-")[1])))
                )


@pytest.fixture(autouse=True)
def sheet(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_BACKGROUND_THREADS = False
    # The background work runs where the test can call it (test_worker.py runs a real
    # worker), also when a broker is configured.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    base.load_importers()
    base.REGISTRY[WarehouseSheet.kind] = WarehouseSheet
    WarehouseSheet.seen_progress = []
    yield WarehouseSheet
    base.REGISTRY.pop(WarehouseSheet.kind, None)


@pytest.fixture
def clerk(db):
    user = UserFactory(username="clerk")
    user.user_permissions.add(
        Permission.objects.get(codename="add_warehouse", content_type__app_label="inventory")
    )
    return user


GOOD = b"code,name\nNORTH,North warehouse\nSOUTH,South warehouse\nWEST,West\n"
BAD = b"code,name\nNORTH,North warehouse\n,Nameless\n"


def start(data=GOOD, actor=None, name="warehouses.csv"):
    return runs.import_run_start(
        kind=WarehouseSheet.kind, name=name, data=data, options={}, actor=actor
    )


def test_a_small_file_is_previewed_without_writing(clerk):
    run = start(actor=clerk)
    assert run.status == ImportRun.Status.PREVIEWED
    assert (run.total_rows, run.created, run.error_count) == (3, 3, 0)
    assert [row["key"] for row in run.preview["preview"]] == ["NORTH", "SOUTH", "WEST"]
    assert not Warehouse.objects.exists()
    assert run.number == f"IMP-{run.pk:06d}"
    with run.file.open("rb") as handle:
        assert handle.read() == GOOD


def test_confirming_applies_every_row_once(clerk):
    run = runs.import_run_confirm(run=start(actor=clerk), actor=clerk)
    assert run.status == ImportRun.Status.APPLIED
    assert sorted(Warehouse.objects.values_list("code", flat=True)) == ["NORTH", "SOUTH", "WEST"]
    assert run.report["created"] == 3 and run.started_at and run.finished_at
    with pytest.raises(runs.ImportRefused, match="cannot be applied: it is Applied"):
        runs.import_run_confirm(run=run, actor=clerk)
    assert Warehouse.objects.count() == 3


def test_a_file_with_an_error_cannot_be_applied_and_writes_nothing(clerk):
    run = start(BAD, actor=clerk)
    assert run.status == ImportRun.Status.PREVIEWED
    assert run.error_count == 1
    assert run.preview["errors"] == [{"row": 3, "column": "code", "message": "A code is needed."}]
    with pytest.raises(runs.ImportRefused, match="has 1 errors"):
        runs.import_run_confirm(run=run, actor=clerk)
    assert not Warehouse.objects.exists()
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.PREVIEWED


def test_an_error_found_only_while_applying_rolls_everything_back(clerk):
    run = start(actor=clerk)
    # Between preview and apply somebody creates SOUTH under a name the sheet changes,
    # and the sheet is changed to hold an empty code: the apply finds the error.
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.PREVIEWED)
    run.file.save("warehouses.csv", SimpleUploadedFile("w.csv", BAD), save=True)
    run = runs.import_run_confirm(run=run, actor=clerk)
    assert run.status == ImportRun.Status.FAILED
    assert run.report["error_count"] == 1
    assert not Warehouse.objects.exists()


def test_cancel_leaves_nothing_to_apply(clerk):
    run = runs.import_run_cancel(run=start(actor=clerk), actor=clerk)
    assert run.status == ImportRun.Status.CANCELLED
    with pytest.raises(runs.ImportRefused):
        runs.import_run_confirm(run=run, actor=clerk)
    with pytest.raises(runs.ImportRefused, match="cannot be cancelled"):
        runs.import_run_cancel(run=run, actor=clerk)
    assert not Warehouse.objects.exists()


def test_a_user_without_the_import_permission_is_refused():
    user = UserFactory(username="analyst")
    with pytest.raises(runs.ImportRefused, match="inventory.add_warehouse"):
        start(actor=user)
    assert not ImportRun.objects.exists()


def test_unknown_sheet_and_unreadable_file_are_refused_before_anything_is_stored(clerk):
    with pytest.raises(runs.ImportRefused, match="Unknown sheet"):
        runs.import_run_start(kind="nope", name="a.csv", data=GOOD, options={}, actor=clerk)
    with pytest.raises(runs.SheetError, match="not an Excel workbook"):
        start(b"\x00\x01\x02 not a zip", actor=clerk, name="warehouses.xlsx")
    with pytest.raises(runs.SheetError, match="empty"):
        start(b"", actor=clerk)
    assert not ImportRun.objects.exists()


def test_wrong_headers_are_reported_at_row_1(clerk):
    run = start(b"kode,name\nNORTH,North\n", actor=clerk)
    assert run.error_count == 1
    assert run.preview["errors"][0]["row"] == 1
    assert "Missing columns: code" in run.preview["errors"][0]["message"]


def test_ignored_and_unknown_columns_are_reported_not_dropped(clerk):
    run = start(b"code,name,manager,colour\nNORTH,North,Ann,red\n", actor=clerk)
    assert run.error_count == 0
    warnings = " ".join(run.preview["warnings"])
    assert "“manager” is not imported: managers are not kept" in warnings
    assert "“colour” is not a column of this sheet" in warnings


def test_a_big_file_is_checked_and_applied_by_the_task_not_the_request(
    clerk, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_BYTES = 10
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = start(actor=clerk)
    assert run.background and run.status == ImportRun.Status.CHECKING
    assert run.preview == {} and not Warehouse.objects.exists()
    assert len(queued) == 1
    queued[0]()  # the worker: the dry run
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PREVIEWED and run.created == 3
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = runs.import_run_confirm(run=run, actor=clerk)
    assert run.status == ImportRun.Status.QUEUED and not Warehouse.objects.exists()
    queued[0]()  # the worker: the apply
    run.refresh_from_db()
    assert run.status == ImportRun.Status.APPLIED
    assert Warehouse.objects.count() == 3
    # The apply reported its progress while it ran, where the web process can read it.
    applying = [p for p in WarehouseSheet.seen_progress if p["status"] == "applying"]
    assert applying and applying[0]["done"] == 2 and applying[0]["total"] == 3


def test_a_task_delivered_twice_applies_once(clerk, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_BACKGROUND_BYTES = 10
    with django_capture_on_commit_callbacks(execute=True):
        run = start(actor=clerk)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.QUEUED)
    from backoffice.tasks import import_run_task

    assert import_run_task(run.pk, "apply") == "applied"
    assert import_run_task(run.pk, "apply") == "skipped"
    assert import_run_task(run.pk, "check") == "skipped"
    assert Warehouse.objects.count() == 3


# --- the admin ---------------------------------------------------------------------


def upload(client, data=GOOD, name="warehouses.csv", **extra):
    url = reverse("admin:inventory_stock_import_sheet") + f"?kind={WarehouseSheet.kind}"
    return client.post(url, {"file": SimpleUploadedFile(name, data), "encoding": "auto", **extra})


@pytest.fixture
def wired_admin():
    """The test sheet's Import button lives on the stock list (its ``model``)."""
    return None


def test_admin_upload_preview_and_apply(admin_client, wired_admin):
    changelist = admin_client.get(reverse("admin:inventory_stock_changelist"))
    assert reverse("admin:inventory_stock_import_sheet") in changelist.content.decode()
    response = upload(admin_client)
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/{run.pk}/change/")
    page = admin_client.get(response.url).content.decode()
    assert "Preview (nothing written yet)" in page and "NORTH" in page
    assert "confirm-import" in page
    done = admin_client.post(reverse("admin:backoffice_importrun_confirm", args=[run.pk]))
    assert done.status_code == 302
    assert Warehouse.objects.count() == 3
    page = admin_client.get(done.url).content.decode()
    assert "applied: 3 new, 0 updated" in page and "confirm-import" not in page
    assert (
        admin_client.get(reverse("admin:backoffice_importrun_file", args=[run.pk])).getvalue()
        == GOOD
    )
    assert admin_client.get(reverse("admin:backoffice_importrun_changelist")).status_code == 200


def test_admin_shows_errors_with_row_and_column_and_offers_them_as_csv(admin_client, wired_admin):
    upload(admin_client, BAD)
    run = ImportRun.objects.get()
    page = admin_client.get(reverse("admin:backoffice_importrun_change", args=[run.pk]))
    text = page.content.decode()
    assert "A code is needed." in text and "confirm-import" not in text
    errors = admin_client.get(reverse("admin:backoffice_importrun_errors", args=[run.pk]))
    assert errors.content.decode().splitlines()[1] == "3,code,A code is needed."
    refused = admin_client.post(reverse("admin:backoffice_importrun_confirm", args=[run.pk]))
    assert refused.status_code == 302 and not Warehouse.objects.exists()


def test_admin_refuses_an_unreadable_file_on_the_form(admin_client, wired_admin):
    response = upload(admin_client, b"\xff\xfe\x00garbage", name="warehouses.xlsx")
    assert response.status_code == 200
    assert "is not an Excel workbook" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_admin_refuses_a_file_above_the_upload_limit(admin_client, wired_admin, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 20
    response = upload(admin_client)
    assert "files up to 20" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_admin_import_needs_the_sheet_permission(client, wired_admin, clerk):
    outsider = UserFactory(username="outsider")
    outsider.user_permissions.add(
        Permission.objects.get(codename="view_stock", content_type__app_label="inventory")
    )
    client.force_login(outsider)
    changelist = client.get(reverse("admin:inventory_stock_changelist")).content.decode()
    assert "import-sheet" not in changelist
    assert upload(client).status_code == 403
    # The clerk's run is not the outsider's to see.
    run = start(actor=clerk)
    assert client.get(reverse("admin:backoffice_importrun_change", args=[run.pk])).status_code in (
        302,
        403,
    )
    client.force_login(clerk)
    assert upload(client).status_code == 302
    assert (
        client.get(reverse("admin:backoffice_importrun_change", args=[run.pk])).status_code == 200
    )


def test_progress_endpoint_and_template_sheet(admin_client, wired_admin):
    upload(admin_client)
    run = ImportRun.objects.get()
    progress = admin_client.get(reverse("admin:backoffice_importrun_progress", args=[run.pk]))
    assert progress.json()["status"] == "previewed" and progress.json()["percent"] == 100
    template = admin_client.get(
        reverse("admin:inventory_stock_import_sheet") + f"?kind={WarehouseSheet.kind}&template=csv"
    )
    assert template.content.decode().splitlines() == ["code,name,address", "WEST,West warehouse,"]


def test_the_run_page_costs_the_same_queries_for_3_and_300_rows(admin_client, wired_admin):
    upload(admin_client)
    small = ImportRun.objects.get()
    rows = "".join(f"W{i},Warehouse {i}\n" for i in range(300))
    upload(admin_client, ("code,name\n" + rows).encode())
    big = ImportRun.objects.exclude(pk=small.pk).get()
    counts = []
    for run in (small, big):
        with CaptureQueriesContext(connection) as queries:
            admin_client.get(reverse("admin:backoffice_importrun_change", args=[run.pk]))
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- a worker that died while applying ----------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_left_applying_by_a_dead_worker_is_taken_over(clerk):
    run = start(actor=clerk)
    # The worker claimed it, then died: its transaction (and lock) went with it.
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.APPLYING)
    from backoffice.tasks import import_run_task

    assert import_run_task(run.pk, "apply") == "applied"
    assert Warehouse.objects.count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_run_being_applied_is_not_taken_over(clerk):
    import threading

    from django.db import connection as main_connection
    from django.db import transaction

    run = start(actor=clerk)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.APPLYING)
    locked, release = threading.Event(), threading.Event()

    def live_worker():
        with transaction.atomic():
            ImportRun.objects.select_for_update().get(pk=run.pk)
            locked.set()
            release.wait(30)
        from django.db import connection

        connection.close()

    thread = threading.Thread(target=live_worker)
    thread.start()
    try:
        assert locked.wait(30)
        assert runs.import_run_apply(run.pk) is None
    finally:
        release.set()
        thread.join(30)
    assert not Warehouse.objects.exists()
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.APPLYING
    assert main_connection.vendor == "postgresql"


def test_a_run_applying_for_too_long_without_a_worker_is_taken_over(clerk, settings):
    from django.db import connection
    from django.utils import timezone

    run = start(actor=clerk)
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.APPLYING, started_at=timezone.now()
    )
    if connection.vendor == "sqlite":
        # No row locks to ask: a recent "applying" run may still have its worker.
        assert runs.import_run_apply(run.pk) is None
        settings.IMPORT_STALE_SECONDS = 0
    # PostgreSQL: nobody holds the run's row, so its worker is gone.
    assert runs.import_run_apply(run.pk).status == ImportRun.Status.APPLIED
    assert Warehouse.objects.count() == 3


def test_a_list_with_several_sheets_asks_which_one_first(admin_client):
    page = admin_client.get(reverse("admin:catalog_product_import_sheet"))
    text = page.content.decode()
    assert page.status_code == 200
    for kind in ("products", "woocommerce", "shopify"):
        assert f"?kind={kind}" in text
    upload_page = admin_client.get(reverse("admin:catalog_product_import_sheet") + "?kind=shopify")
    assert upload_page.status_code == 200 and "Variant SKU" in upload_page.content.decode()


def test_a_report_keeps_its_errors_in_row_order_whatever_order_they_come_in():
    report = base.Report()
    report.error(7, "price", "Enter a number.")
    report.error(2, "category", "Unknown category.")
    report.error(7, "stock", "Must be 0 or more.")
    report.error(0, "", "Missing column.")
    assert [(e.row, e.column) for e in report.errors] == [
        (0, ""),
        (2, "category"),
        (7, "price"),
        (7, "stock"),
    ]
    assert report.error_count == 4
