"""The reviews sheet in the import runs: ``ReviewResource`` under ``ResourceImporter``, every
row through ``reviews.services.review_submit``; refusals at their row and column."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from backoffice.roles import roles_sync
from backoffice.spreadsheets.base import REGISTRY
from backoffice.spreadsheets.runner import MISSING_COLUMNS
from reviews import services
from reviews.models import Review
from reviews.resources import UNKNOWN_SKU, ReviewsImporter

from ..factories import VariantFactory
from ..support.sheets import actions, errors, run_sheet

HEADER = ["product", "sku", "rating", "title", "text", "customer_name", "customer_email"]


def test_the_reviews_sheet_is_registered_and_catalog_managers_may_import_it(db):
    importer = REGISTRY["reviews"]
    assert (importer.permission, importer.model) == ("reviews.import_review", Review)
    assert importer.required_columns == ("product", "rating", "customer_name")
    roles_sync()
    for role, allowed in (("Catalog manager", True), ("Warehouse clerk", False)):
        held = Group.objects.get(name=role).permissions.filter(codename="import_review")
        assert held.exists() is allowed, role


def test_reviews_are_submitted_pending_dry_run_first(product, state, admin_user):
    VariantFactory(product=product, sku="SHIRT-M")
    rows = [
        HEADER,
        ["linen-shirt", "SHIRT-M", "5", "Lovely", "Soft and cool", "Ana", "ana@example.com"],
        ["linen-shirt", "", "2", "褪色", "洗了一次就褪色", "王小明", ""],
    ]
    before = state()
    report = run_sheet(ReviewsImporter, rows, actor=admin_user)
    assert report.ok, report.errors
    assert actions(report) == [(2, "create"), (3, "create")]
    assert [p.key for p in report.preview] == ["linen-shirt / Ana", "linen-shirt / 王小明"]
    assert state() == before

    report = run_sheet(ReviewsImporter, rows, actor=admin_user, dry_run=False, fmt="xlsx")
    assert report.created == 2
    assert list(Review.objects.order_by("pk").values_list("rating", "status", "variant__sku")) == [
        (5, "pending", "SHIRT-M"),
        (2, "pending", None),
    ]


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"rating": "0"}, "rating", services.RATING_INVALID % {"rating": "0"}),
        ({"rating": "five"}, "rating", services.RATING_INVALID % {"rating": "five"}),
        ({"product": "no-such"}, "product", services.UNKNOWN_PRODUCT % {"product": "no-such"}),
        ({"sku": "NOPE"}, "sku", UNKNOWN_SKU % {"sku": "NOPE"}),
        ({"customer_name": ""}, "customer_name", services.CUSTOMER_REQUIRED),
        ({"customer_email": "ana@"}, "customer_email", services.EMAIL_INVALID % {"email": "ana@"}),
    ],
)
def test_a_bad_review_row_is_refused_at_its_column(product, state, cells, column, message):
    good = dict(zip(HEADER, ["linen-shirt", "", "4", "Fine", "", "Bo", ""], strict=True))
    bad = {**good, "customer_name": "Ana", **cells}
    before = state()
    report = run_sheet(
        ReviewsImporter,
        [HEADER, [good[c] for c in HEADER], [bad[c] for c in HEADER]],
        dry_run=False,
    )
    assert errors(report) == [(3, column, str(message))]
    assert report.created == 1  # the good row would have been written
    assert state() == before


def test_reviews_sheet_without_a_rating_column_is_refused(product, state):
    before = state()
    report = run_sheet(
        ReviewsImporter, [["product", "customer_name"], ["linen-shirt", "Ana"]], dry_run=False
    )
    message = MISSING_COLUMNS % {
        "missing": "rating",
        "required": "product, rating, customer_name",
        "found": "product, customer_name",
    }
    assert errors(report) == [(1, "", message)]
    assert state() == before


def test_the_status_column_of_an_export_is_not_imported(product, state):
    report = run_sheet(
        ReviewsImporter,
        [["product", "rating", "customer_name", "status"], ["linen-shirt", "5", "Ana", "approved"]],
        dry_run=False,
    )
    assert report.created == 1
    assert report.warnings == [
        "Column “status” is not imported: reviews are moderated in Stockroom."
    ]
    assert Review.objects.get().status == Review.Status.PENDING
