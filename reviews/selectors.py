"""Reads of reviews for more than one door: low-rating alerts, complaint keywords (F-36)."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

import jieba
from django.conf import settings
from django.db.models import (
    Avg,
    Count,
    FloatField,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import ListingStatus, Product
from suppliers.models import SupplierPrice

from .models import Review
from .stopwords import CHINESE, ENGLISH

jieba.setLogLevel(logging.WARNING)

# CJK ideographs are segmented with jieba; everything else is split into words.
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-](?=[^\W\d_]))+")
KEYWORD_SAMPLE = 5000


def preferred_supplier(product_ref: str = "pk", variant_ref: str | None = None):
    """The preferred supplier of a product (of the variant bought, when known)."""
    by_product = Subquery(
        SupplierPrice.objects.filter(variant__product=OuterRef(product_ref), is_preferred=True)
        .order_by("pk")
        .values("supplier_id")[:1]
    )
    if not variant_ref:
        return by_product
    by_variant = Subquery(
        SupplierPrice.objects.filter(variant=OuterRef(variant_ref), is_preferred=True)
        .order_by("pk")
        .values("supplier_id")[:1]
    )
    return Coalesce(by_variant, by_product)


def low_rating_products(
    *,
    days: int | None = None,
    threshold: float | None = None,
    min_reviews: int | None = None,
    now: datetime | None = None,
) -> QuerySet[Product]:
    """Products (not delisted) whose approved reviews of the last ``days`` days average
    below ``threshold``.

    At least ``min_reviews`` recent reviews are needed (settings
    ``REVIEW_LOW_RATING_*`` by default). Annotated with ``recent_average``,
    ``recent_reviews`` and ``preferred_supplier_id``; lowest average first. One query.
    """
    days = settings.REVIEW_LOW_RATING_DAYS if days is None else days
    threshold = settings.REVIEW_LOW_RATING_THRESHOLD if threshold is None else threshold
    min_reviews = settings.REVIEW_LOW_RATING_MIN_REVIEWS if min_reviews is None else min_reviews
    since = (now or timezone.now()) - timedelta(days=days)
    recent = Review.objects.filter(status=Review.Status.APPROVED, created_at__gte=since)
    alerting = (
        recent.order_by()
        .values("product")
        .annotate(n=Count("pk"), average=Avg("rating", output_field=FloatField()))
        .filter(n__gte=max(min_reviews, 1), average__lt=threshold)
        .values("product")
    )
    per_product = recent.filter(product=OuterRef("pk")).order_by().values("product")
    return (
        Product.objects.filter(pk__in=alerting)
        .exclude(status=ListingStatus.DELISTED)
        .annotate(
            recent_average=Subquery(
                per_product.annotate(v=Avg("rating", output_field=FloatField())).values("v"),
                output_field=FloatField(),
            ),
            recent_reviews=Coalesce(
                Subquery(
                    per_product.annotate(v=Count("pk")).values("v"), output_field=IntegerField()
                ),
                Value(0),
            ),
            preferred_supplier_id=preferred_supplier(),
        )
        .order_by("recent_average", "-recent_reviews", "pk")
    )


def words(text: str) -> list[str]:
    """The words of ``text`` that can say something: Chinese segmented by jieba, other
    scripts split on word boundaries, lower-cased, stop words and single letters removed."""
    found: list[str] = []
    position = 0
    for run in CJK_RUN.finditer(text):
        found.extend(_latin_words(text[position : run.start()]))
        found.extend(
            token
            for token in (t.strip() for t in jieba.lcut(run.group()))
            if token and token not in CHINESE
        )
        position = run.end()
    found.extend(_latin_words(text[position:]))
    return found


def _latin_words(text: str) -> Iterable[str]:
    for match in WORD.finditer(text.lower()):
        word = match.group().strip("'’-")
        if len(word) > 1 and word not in ENGLISH:
            yield word


def low_rating_keywords(
    *,
    days: int | None = None,
    max_stars: int | None = None,
    product: Product | None = None,
    limit: int = 20,
    now: datetime | None = None,
) -> list[tuple[str, int]]:
    """The most frequent words of approved low ratings (≤ ``max_stars``), most frequent first.

    Reads the titles and texts of the latest ``KEYWORD_SAMPLE`` such reviews
    (one query), of the last ``days`` days when given, of one product when given.
    """
    max_stars = settings.REVIEW_LOW_RATING_MAX_STARS if max_stars is None else max_stars
    reviews = Review.objects.filter(status=Review.Status.APPROVED, rating__lte=max_stars)
    if days is not None:
        reviews = reviews.filter(created_at__gte=(now or timezone.now()) - timedelta(days=days))
    if product is not None:
        reviews = reviews.filter(product=product)
    counts: Counter[str] = Counter()
    for title, text in reviews.order_by("-created_at").values_list("title", "text")[
        :KEYWORD_SAMPLE
    ]:
        counts.update(words(f"{title}\n{text}"))
    return counts.most_common(limit)
