"""Review rules through reviews.services: submission, moderation, exact rating summaries."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.errors import DomainError
from backoffice.services import ALREADY_SUBMITTED
from reviews import services
from reviews.exceptions import ReviewError
from reviews.models import RatingSummary, Review

from ..factories import ProductFactory, ReviewFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db


def recount(product) -> dict:
    approved = list(
        Review.objects.filter(product=product, status="approved").values_list("rating", flat=True)
    )
    return {
        "count": len(approved),
        "sum": sum(approved),
        "distribution": {n: approved.count(n) for n in range(1, 6)},
    }


def summary(product) -> dict:
    row = RatingSummary.objects.filter(product=product).first()
    if row is None:
        return {"count": 0, "sum": 0, "distribution": dict.fromkeys(range(1, 6), 0)}
    if row.review_count:
        assert row.average == pytest.approx(row.rating_sum / row.review_count)
    return {"count": row.review_count, "sum": row.rating_sum, "distribution": row.distribution}


def test_submit_is_pending_and_leaves_the_summary(product):
    review = services.review_submit(
        product=product, rating=5, customer_name="Ana", title=" Great ", text="Soft linen."
    )
    assert review.status == Review.Status.PENDING
    assert review.title == "Great"
    assert not RatingSummary.objects.exists()


def test_approve_then_reject_keeps_the_summary_exact(product, admin_user):
    reviews = [ReviewFactory(product=product, rating=r) for r in (5, 4, 4, 1)]
    result = services.reviews_approve(reviews=Review.objects.all(), actor=admin_user)
    assert (result.changed, result.skipped) == (4, 0)
    row = RatingSummary.objects.get(product=product)
    assert (row.review_count, row.rating_sum, row.average) == (4, 14, 3.5)
    assert row.distribution == {1: 1, 2: 0, 3: 0, 4: 2, 5: 1}

    services.reviews_reject(
        reviews=Review.objects.filter(pk=reviews[3].pk), reason="Spam", actor=admin_user
    )
    row.refresh_from_db()
    assert (row.review_count, row.rating_sum, row.distribution[1]) == (3, 13, 0)
    rejected = Review.objects.get(pk=reviews[3].pk)
    assert (rejected.status, rejected.rejection_reason, rejected.moderated_by) == (
        "rejected",
        "Spam",
        admin_user,
    )

    services.reviews_reject(reviews=Review.objects.all(), reason="Bought reviews", actor=None)
    assert not RatingSummary.objects.filter(product=product).exists()


def test_approving_again_skips_and_counts(product, admin_user):
    ReviewFactory(product=product)
    services.reviews_approve(reviews=Review.objects.all(), actor=admin_user)
    ReviewFactory(product=product)
    result = services.reviews_approve(reviews=Review.objects.all(), actor=admin_user)
    assert (result.changed, result.skipped) == (1, 1)


def test_variant_bought_is_kept(product):
    variant = VariantFactory(product=product, sku="SHIRT-L")
    review = services.review_submit(product=product, variant=variant, rating=3, customer_name="Bo")
    assert review.variant == variant


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ratings=st.lists(st.integers(1, 5), min_size=1, max_size=12),
    steps=st.lists(
        st.tuples(st.sampled_from(["approve", "reject"]), st.lists(st.integers(0, 11))),
        min_size=1,
        max_size=8,
    ),
)
def test_summaries_equal_a_recount_after_random_moderation(ratings, steps):
    Review.objects.all().delete()
    RatingSummary.objects.all().delete()
    products = [ProductFactory(), ProductFactory()]
    reviews = [
        ReviewFactory(product=products[i % 2], rating=rating) for i, rating in enumerate(ratings)
    ]
    for operation, picks in steps:
        ids = {reviews[i % len(reviews)].pk for i in picks}
        selection = Review.objects.filter(pk__in=ids)
        try:
            if operation == "approve":
                services.reviews_approve(reviews=selection, actor=None)
            else:
                services.reviews_reject(reviews=selection, reason="test", actor=None)
        except ReviewError:
            pass  # nothing to do for that selection: a refusal, nothing changed
        for product in products:
            assert summary(product) == recount(product)


def test_moderation_runs_a_constant_number_of_queries(admin_user):
    def queries(n: int) -> int:
        product = ProductFactory()
        ReviewFactory.create_batch(n, product=product)
        for _ in range(3):
            ReviewFactory(product=ProductFactory())
        selection = Review.objects.filter(status="pending")
        with CaptureQueriesContext(connection) as captured:
            services.reviews_approve(reviews=selection, actor=admin_user)
        Review.objects.all().delete()
        return len(captured)

    assert queries(3) == queries(60)


# --- bad input: a clear message, nothing written -------------------------------------------


@pytest.mark.parametrize("rating", [0, 6, -1, "abc", None, True, 4.5])
def test_rating_outside_1_to_5_is_refused(product, state, rating):
    before = state()
    with pytest.raises(ReviewError) as error:
        services.review_submit(product=product, rating=rating, customer_name="Ana")
    assert "A rating is a whole number from 1 to 5" in error.value.message
    assert state() == before


def test_review_of_an_unknown_product_is_refused(state):
    before = state()
    with pytest.raises(ReviewError) as error:
        services.review_submit(
            product=None, product_label="no-such-thing", rating=5, customer_name="Ana"
        )
    assert error.value.message == "Unknown product: no-such-thing."
    assert state() == before


def test_huge_review_text_is_refused(product, state, settings):
    settings.REVIEW_TEXT_MAX_CHARS = 5000
    before = state()
    with pytest.raises(ReviewError) as error:
        services.review_submit(product=product, rating=2, customer_name="Ana", text="x" * 5001)
    assert error.value.message == "A review text has at most 5000 characters (got 5001)."
    assert state() == before


def test_variant_of_another_product_is_refused(product, state):
    other = VariantFactory(sku="OTHER-1")
    before = state()
    with pytest.raises(ReviewError) as error:
        services.review_submit(product=product, variant=other, rating=5, customer_name="Ana")
    assert error.value.message == "SKU OTHER-1 is not a variant of Linen shirt."
    assert state() == before


def test_empty_rejection_reason_is_refused(product, state, admin_user):
    ReviewFactory(product=product)
    services.reviews_approve(reviews=Review.objects.all(), actor=admin_user)
    before = state()
    with pytest.raises(ReviewError) as error:
        services.reviews_reject(reviews=Review.objects.all(), reason="   ", actor=admin_user)
    assert error.value.message == "Give the reason for rejecting the reviews."
    assert state() == before


def test_duplicate_moderation_submission_is_refused(product, state, admin_user):
    ReviewFactory(product=product, rating=2)
    ReviewFactory(product=product, rating=5)
    key = uuid.uuid4().hex
    services.reviews_reject(
        reviews=Review.objects.filter(rating=2), reason="Spam", actor=admin_user, submission_key=key
    )
    before = state()
    with pytest.raises(DomainError) as error:
        services.reviews_reject(
            reviews=Review.objects.all(), reason="Spam", actor=admin_user, submission_key=key
        )
    assert error.value.message == str(ALREADY_SUBMITTED)
    assert state() == before


def test_nothing_to_approve_is_refused(product, state, admin_user):
    ReviewFactory(product=product)
    services.reviews_approve(reviews=Review.objects.all(), actor=admin_user)
    before = state()
    with pytest.raises(ReviewError) as error:
        services.reviews_approve(reviews=Review.objects.all(), actor=UserFactory())
    assert error.value.message == str(services.NOTHING_TO_APPROVE)
    assert state() == before
