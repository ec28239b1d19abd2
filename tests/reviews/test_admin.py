"""Moderation, the rating page and the spreadsheet import, through the admin."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from backoffice.models import ImportRun
from backoffice.services import ALREADY_SUBMITTED
from reviews import services
from reviews.models import RatingSummary, Review

from ..factories import ReviewFactory, SupplierFactory, VariantFactory, supplier_price

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:reviews_review_changelist"


def post_action(client, action, reviews, **data):
    payload = {"action": action, ACTION_CHECKBOX_NAME: [r.pk for r in reviews], "index": 0}
    return client.post(reverse(CHANGELIST), {**payload, **data})


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def page_has(response, text) -> bool:
    return escape(str(text)) in response.content.decode()


@pytest.fixture
def reviews(product):
    return [ReviewFactory(product=product, rating=r) for r in (5, 2, 1)]


def test_changelist_shows_reviews(admin_client, reviews):
    response = admin_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert page_has(response, reviews[0].title)


def test_bulk_approve(admin_client, reviews):
    response = post_action(admin_client, "approve_action", reviews)
    assert response.status_code == 302
    assert messages_of(response) == ["3 reviews approved; 0 already approved."]
    summary = RatingSummary.objects.get(product=reviews[0].product)
    assert (summary.review_count, summary.rating_sum) == (3, 8)


def test_bulk_reject_asks_for_a_reason_then_rejects(admin_client, reviews, admin_user):
    services.reviews_approve(reviews=Review.objects.all(), actor=admin_user)
    page = post_action(admin_client, "reject_action", reviews[1:])
    assert page.status_code == 200
    assert page_has(page, "Reason")
    key = page.context["form"].initial["submission_key"]
    response = post_action(
        admin_client, "reject_action", reviews[1:], apply="1", reason="Spam", submission_key=key
    )
    assert response.status_code == 302
    assert messages_of(response) == ["2 reviews rejected; 0 already rejected."]
    assert RatingSummary.objects.get(product=reviews[0].product).review_count == 1
    assert set(
        Review.objects.filter(status="rejected").values_list("rejection_reason", flat=True)
    ) == {"Spam"}


def test_reject_with_an_empty_reason_is_refused(admin_client, reviews, state):
    before = state()
    response = post_action(
        admin_client, "reject_action", reviews, apply="1", reason="  ", submission_key="k1"
    )
    assert response.status_code == 200
    assert page_has(response, services.REJECTION_REASON_REQUIRED)
    assert state() == before


def test_reject_form_submitted_twice_changes_nothing_the_second_time(admin_client, reviews, state):
    data = {"apply": "1", "reason": "Spam", "submission_key": "same-key"}
    post_action(admin_client, "reject_action", reviews[:1], **data)
    before = state()
    response = post_action(admin_client, "reject_action", reviews, **data)
    assert messages_of(response)[-1] == str(ALREADY_SUBMITTED)
    assert state() == before


def test_reviews_cannot_be_added_or_edited_by_hand(admin_client, reviews):
    assert admin_client.get(reverse("admin:reviews_review_add")).status_code == 403
    page = admin_client.get(reverse("admin:reviews_review_change", args=[reviews[0].pk]))
    assert 'name="rating"' not in page.content.decode()


def test_low_rating_links_to_the_preferred_supplier_scorecard(admin_client, product):
    supplier = SupplierFactory(name="Weaver Co")
    variant = VariantFactory(product=product, sku="SHIRT-S")
    supplier_price(supplier, variant, is_preferred=True)
    ReviewFactory(product=product, rating=1, text="质量太差了，洗一次就掉色")
    url = reverse("admin:suppliers_supplier_change", args=[supplier.pk])
    response = admin_client.get(reverse(CHANGELIST))
    assert url in response.content.decode()


def test_rating_page_shows_alerts_keywords_and_supplier(admin_client, product, admin_user):
    supplier = SupplierFactory(name="Weaver Co")
    supplier_price(supplier, VariantFactory(product=product, sku="SHIRT-S"), is_preferred=True)
    for text in (
        "质量太差了，洗一次就掉色",
        "掉色严重 the colour runs",
        "Colour runs, thin fabric",
    ):
        ReviewFactory(product=product, rating=1, text=text)
    services.reviews_approve(reviews=Review.objects.all(), actor=admin_user)
    response = admin_client.get(reverse("admin:reviews_ratingsummary_changelist"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Linen shirt" in content
    assert "掉色 <small>(2)</small>" in content
    assert "colour <small>(2)</small>" in content
    assert reverse("admin:suppliers_supplier_change", args=[supplier.pk]) in content


# --- spreadsheet import -----------------------------------------------------------------------


def upload(client, content: str):
    return client.post(
        reverse("admin:reviews_review_import_sheet"),
        {
            "file": SimpleUploadedFile("reviews.csv", content.encode(), "text/csv"),
            "encoding": "auto",
        },
    )


HEADER = "product,sku,rating,title,text,customer_name,customer_email\n"


def test_import_previews_then_confirms(admin_client, product):
    VariantFactory(product=product, sku="SHIRT-M")
    csv = HEADER + (
        "linen-shirt,SHIRT-M,5,Lovely,Soft and cool,Ana,ana@example.com\n"
        "linen-shirt,,2,褪色,洗了一次就褪色,王小明,\n"
    )
    preview = upload(admin_client, csv)
    assert preview.status_code == 302
    run = ImportRun.objects.get()
    assert (run.status, run.created, run.error_count) == ("previewed", 2, 0)
    assert "Preview (nothing written yet)" in admin_client.get(preview.url).content.decode()
    assert not Review.objects.exists()
    response = admin_client.post(reverse("admin:backoffice_importrun_confirm", args=[run.pk]))
    assert response.status_code == 302
    rows = list(Review.objects.order_by("pk").values_list("rating", "status", "variant__sku"))
    assert rows == [(5, "pending", "SHIRT-M"), (2, "pending", None)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("linen-shirt,,0,Bad,,Ana,", "A rating is a whole number from 1 to 5 (got 0)."),
        ("linen-shirt,,6,Bad,,Ana,", "A rating is a whole number from 1 to 5 (got 6)."),
        ("no-such-product,,5,Good,,Ana,", "Unknown product: no-such-product."),
        ("linen-shirt,NOPE,5,Good,,Ana,", "Unknown SKU: NOPE."),
        ("linen-shirt,,5,Good,,,", "Give the customer&#x27;s name."),
    ],
)
def test_import_reports_bad_rows_and_writes_nothing(admin_client, product, state, row, message):
    before = state()
    csv = HEADER + "linen-shirt,,4,Fine,,Bo,\n" + row + "\n"
    response = upload(admin_client, csv)
    run = ImportRun.objects.get()
    content = admin_client.get(response.url).content.decode()
    assert message in content
    assert run.error_count == 1 and "confirm-import" not in content
    refused = admin_client.post(reverse("admin:backoffice_importrun_confirm", args=[run.pk]))
    assert refused.status_code == 302
    assert state() == before


def test_import_of_a_huge_text_is_refused(admin_client, product, state, settings):
    settings.REVIEW_TEXT_MAX_CHARS = 100
    before = state()
    response = upload(admin_client, HEADER + f"linen-shirt,,1,Long,{'x' * 101},Ana,\n")
    content = admin_client.get(response.url).content.decode()
    assert "A review text has at most 100 characters (got 101)." in content
    assert state() == before


def test_an_import_file_over_the_size_limit_is_refused(admin_client, product, state, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 200
    before = state()
    response = upload(admin_client, HEADER + "linen-shirt,,4,Fine,,Bo,\n" * 10)
    content = response.content.decode()
    assert response.status_code == 200
    assert "files up to 200" in content and "bytes can be imported." in content
    assert not ImportRun.objects.exists()
    assert state() == before


def test_an_empty_import_file_is_refused(admin_client, product, state):
    before = state()
    response = upload(admin_client, "")
    assert response.status_code == 200
    assert "The submitted file is empty." in response.content.decode()
    assert not ImportRun.objects.exists()
    assert state() == before


def test_export_csv(admin_client, reviews):
    response = admin_client.post(
        reverse("admin:reviews_review_export"),
        {
            "format": "0",
            "resource": "0",
            **{f"reviewresource_{f}": "on" for f in ("product", "rating", "title", "status")},
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "linen-shirt" in body and reviews[0].title in body
