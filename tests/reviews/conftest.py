from __future__ import annotations

import pytest

from backoffice.models import SubmissionKey
from reviews.models import RatingSummary, Review

from ..factories import ProductFactory


def review_state() -> dict:
    """Everything a refused review operation must leave as it was."""
    return {
        "reviews": sorted(
            Review.objects.values_list(
                "pk", "product_id", "rating", "status", "rejection_reason", "moderated_by_id"
            )
        ),
        "summaries": sorted(
            RatingSummary.objects.values_list(
                "product_id",
                "review_count",
                "rating_sum",
                "stars_1",
                "stars_2",
                "stars_3",
                "stars_4",
                "stars_5",
            )
        ),
        "submission_keys": SubmissionKey.objects.count(),
    }


@pytest.fixture
def state(db):
    return review_state


@pytest.fixture
def product(db):
    return ProductFactory(title="Linen shirt", handle="linen-shirt")
