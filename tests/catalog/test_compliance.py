"""Listing compliance (F-40): the check, banned words, the flagged list and its delist action."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from backoffice.models import ScheduledRun
from catalog import compliance, tasks
from catalog.exceptions import CatalogError
from catalog.models import BannedWord, ComplianceFlag, ListingEvent, Product, ProductImage

from ..factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

Code = ComplianceFlag.Code


def complete_product(**fields):
    """A product that breaks no rule."""
    product = ProductFactory(**fields)
    VariantFactory(product=product, price=Decimal("20.00"), cost=Decimal("8.00"))
    ProductImage.objects.create(product=product, url="https://img.example.com/1.jpg")
    return product


def open_flags():
    return sorted(
        ComplianceFlag.objects.filter(resolved_at__isnull=True).values_list(
            "product__handle", "code", "detail"
        )
    )


def banned_state():
    return sorted(BannedWord.objects.values_list("word", flat=True))


def test_a_complete_product_is_not_flagged():
    complete_product()
    result = compliance.compliance_check()
    assert (result.opened, result.open) == (0, 0)


def test_each_rule_flags_with_its_reason():
    BannedWord.objects.create(word="miracle")
    complete_product(handle="no-title", title="  ")
    complete_product(handle="no-description", description="")
    ProductFactory(handle="no-image-no-price")
    complete_product(handle="no-category", category=None)
    cheap = complete_product(handle="below-cost")
    VariantFactory(product=cheap, sku="CHEAP-1", price=Decimal("5"), cost=Decimal("6"))
    compare = complete_product(handle="compare-at")
    VariantFactory(
        product=compare, sku="CMP-1", price=Decimal("30"), compare_at_price=Decimal("25")
    )
    complete_product(handle="banned", description="A MIRACLE cure for wrinkles")
    result = compliance.compliance_check()
    assert open_flags() == [
        ("banned", Code.BANNED_WORD, "miracle"),
        ("below-cost", Code.PRICE_BELOW_COST, "CHEAP-1"),
        ("compare-at", Code.COMPARE_AT_BELOW_PRICE, "CMP-1"),
        ("no-category", Code.MISSING_CATEGORY, ""),
        ("no-description", Code.MISSING_DESCRIPTION, ""),
        ("no-image-no-price", Code.MISSING_IMAGE, ""),
        ("no-image-no-price", Code.MISSING_PRICE, ""),
        ("no-title", Code.MISSING_TITLE, ""),
    ]
    assert result.opened == 8


def test_chinese_banned_word_in_title_is_found():
    BannedWord.objects.create(word="最好")
    complete_product(handle="zh", title="全网最好的T恤")
    compliance.compliance_check()
    assert open_flags() == [("zh", Code.BANNED_WORD, "最好")]


def test_rerun_opens_nothing_twice_and_resolves_what_was_fixed():
    product = complete_product(handle="p", description="")
    compliance.compliance_check()
    again = compliance.compliance_check()
    assert (again.opened, again.resolved, again.open) == (0, 0, 1)
    Product.objects.filter(pk=product.pk).update(description="Now described.")
    fixed = compliance.compliance_check()
    assert (fixed.opened, fixed.resolved, fixed.open) == (0, 1, 0)
    assert ComplianceFlag.objects.get().resolved_at is not None


def test_delisted_products_are_not_checked():
    ProductFactory(handle="gone", status="delisted", delist_reason="obsolete")
    assert compliance.compliance_check().open == 0


def test_the_check_runs_a_constant_number_of_queries():
    BannedWord.objects.create(word="fake")

    def queries(n: int) -> int:
        for i in range(n):
            product = complete_product(description="fake" if i % 2 else "")
            VariantFactory(product=product, price=Decimal("1"), cost=Decimal("2"))
        with CaptureQueriesContext(connection) as captured:
            compliance.compliance_check()
        return len(captured)

    assert queries(3) == queries(40)


def test_daily_task_runs_once_per_period():
    complete_product(description="")
    assert tasks.compliance_check_daily.run(period="2026-11-23")["open"] == 1
    assert tasks.compliance_check_daily.run(period="2026-11-23") is None
    assert ScheduledRun.objects.get(job="compliance_check").status == ScheduledRun.Status.DONE


def test_default_schedule_exists():
    task = PeriodicTask.objects.get(name="Daily listing compliance check")
    assert (task.task, task.enabled) == ("catalog.compliance_check", True)


# --- banned words ----------------------------------------------------------------------------


def test_banned_words_are_added_once_in_any_case():
    assert compliance.banned_words_add(words=["Miracle", " cure  all ", "miracle"]) == 2
    assert compliance.banned_words_add(words=["MIRACLE", "fake"]) == 1
    assert banned_state() == ["Miracle", "cure all", "fake"]


def test_banned_word_list_with_a_blank_is_refused():
    BannedWord.objects.create(word="fake")
    with pytest.raises(CatalogError) as error:
        compliance.banned_words_add(words=["miracle", "   ", "cure"])
    assert error.value.message == (
        "Line 2 is blank: a banned word cannot be empty. Nothing was added."
    )
    assert banned_state() == ["fake"]


def test_empty_banned_word_list_is_refused():
    with pytest.raises(CatalogError) as error:
        compliance.banned_words_add(words=[])
    assert error.value.message == str(compliance.BANNED_WORDS_EMPTY)
    assert banned_state() == []


def test_admin_adds_banned_words(admin_client):
    response = admin_client.post(
        reverse("admin:catalog_bannedword_add"), {"words": "miracle\r\n最好\r\n"}, follow=True
    )
    assert "2 banned words added." in response.content.decode()
    assert banned_state() == ["miracle", "最好"]


def test_admin_refuses_a_banned_word_list_with_blanks(admin_client):
    response = admin_client.post(
        reverse("admin:catalog_bannedword_add"), {"words": "miracle\r\n  \r\ncure"}
    )
    assert response.status_code == 200
    assert "Line 2 is blank: a banned word cannot be empty." in response.content.decode()
    assert banned_state() == []


# --- the flagged list ------------------------------------------------------------------------

FLAGGED = "admin:catalog_flaggedproduct_changelist"


def test_flagged_list_shows_reasons(admin_client):
    complete_product(title="No words", description="")
    complete_product(title="Fine")
    compliance.compliance_check()
    content = admin_client.get(reverse(FLAGGED)).content.decode()
    assert "No words" in content and "Missing description" in content
    assert "Fine" not in content


def test_run_now_flags_products(admin_client, django_capture_on_commit_callbacks):
    from backoffice.celery import app

    complete_product(title="Undescribed", description="")
    previous, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(reverse(FLAGGED) + "run-now/", follow=True)
    finally:
        app.conf.task_always_eager = previous
    assert "The compliance check was started" in response.content.decode()
    assert "Undescribed" in admin_client.get(reverse(FLAGGED)).content.decode()


def test_delist_for_compliance_through_the_intermediate_page(admin_client, admin_user):
    bad = complete_product(title="Bad", description="")
    compliance.compliance_check()
    data = {"action": "delist_for_compliance", ACTION_CHECKBOX_NAME: [bad.pk], "index": 0}
    page = admin_client.post(reverse(FLAGGED), data)
    assert page.status_code == 200 and "Delist for compliance" in page.content.decode()
    key = page.context["form"].initial["submission_key"]
    response = admin_client.post(
        reverse(FLAGGED), {**data, "apply": "1", "note": "No description", "submission_key": key}
    )
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [
        "1 products delisted for compliance; 0 skipped (already delisted or draft)."
    ]
    bad.refresh_from_db()
    assert (bad.status, bad.delist_reason, bad.delist_note) == (
        "delisted",
        "compliance",
        "No description",
    )
    assert ListingEvent.objects.get(product=bad).reason == "compliance"
    assert "Bad" not in admin_client.get(reverse(FLAGGED)).content.decode()
