"""Listing compliance (F-40): banned words, and the check that flags products breaking the
listing rules — missing title, description, image, price or category, a price below cost,
a compare-at price below the price, a banned word in the title or description.

The check is set-based: per rule, one INSERT … SELECT opens the flags of products that
newly break it and one UPDATE resolves the flags of products that no longer do, so it
costs the same number of queries for ten products as for a hundred thousand. Delisted
products are not checked (their open flags are resolved); relisting brings them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Trim
from django.db.models.lookups import IContains
from django.utils import timezone
from django.utils.translation import gettext_lazy

from backoffice.db import insert_select

from .exceptions import CatalogError
from .models import (
    BannedWord,
    ComplianceFlag,
    ListingStatus,
    Product,
    ProductImage,
    Variant,
)

BANNED_WORDS_EMPTY = gettext_lazy("Give at least one banned word, one per line.")
BANNED_WORD_BLANK = gettext_lazy(
    "Line %(position)s is blank: a banned word cannot be empty. Nothing was added."
)
BANNED_WORD_TOO_LONG = gettext_lazy(
    "“%(word)s” is longer than %(max)s characters. Nothing was added."
)

WORD_MAX = BannedWord._meta.get_field("word").max_length
Code = ComplianceFlag.Code


def banned_words_add(*, words: Sequence[str], actor: Any = None) -> int:
    """Add banned words (matched in any case); returns how many were new.

    Refuses the whole list if one entry is blank or too long, and an empty
    list. Words already banned (in any case) and repeats are skipped.
    """
    cleaned: dict[str, str] = {}
    if not words:
        raise CatalogError(BANNED_WORDS_EMPTY)
    for position, raw in enumerate(words, start=1):
        word = " ".join((raw or "").split())
        if not word:
            raise CatalogError(BANNED_WORD_BLANK % {"position": position})
        if len(word) > WORD_MAX:
            raise CatalogError(BANNED_WORD_TOO_LONG % {"word": word[:40], "max": WORD_MAX})
        cleaned.setdefault(word.casefold(), word)
    with transaction.atomic():
        known = {w.casefold() for w in BannedWord.objects.values_list("word", flat=True).iterator()}
        new = [BannedWord(word=w) for key, w in cleaned.items() if key not in known]
        BannedWord.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


@dataclass(frozen=True)
class ComplianceResult:
    opened: int
    resolved: int
    open_by_code: dict[str, int] = field(default_factory=dict)

    @property
    def open(self) -> int:
        return sum(self.open_by_code.values())

    def as_summary(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "resolved": self.resolved,
            "open": self.open,
            "by_code": self.open_by_code,
        }


def _first(queryset: models.QuerySet, column: str) -> Subquery:
    return Subquery(queryset.order_by("pk").values(column)[:1])


def _rules() -> list[tuple[str, Q, Any]]:
    """(code, condition on the checked products, detail expression) per rule."""
    active = Variant.objects.filter(product=OuterRef("pk"), is_active=True)
    below_cost = active.filter(cost__isnull=False, price__lt=F("cost"))
    compare_below = active.filter(compare_at_price__isnull=False, compare_at_price__lt=F("price"))
    banned = BannedWord.objects.filter(
        IContains(OuterRef("title"), F("word")) | IContains(OuterRef("description"), F("word"))
    )
    empty = Value("")
    return [
        (Code.MISSING_TITLE, Q(_title=""), empty),
        (Code.MISSING_DESCRIPTION, Q(_description=""), empty),
        (
            Code.MISSING_IMAGE,
            ~Exists(ProductImage.objects.filter(product=OuterRef("pk"))),
            empty,
        ),
        (Code.MISSING_PRICE, ~Exists(active.filter(price__gt=0)), empty),
        (Code.MISSING_CATEGORY, Q(category__isnull=True), empty),
        (Code.PRICE_BELOW_COST, Exists(below_cost), Coalesce(_first(below_cost, "sku"), empty)),
        (
            Code.COMPARE_AT_BELOW_PRICE,
            Exists(compare_below),
            Coalesce(_first(compare_below, "sku"), empty),
        ),
        (Code.BANNED_WORD, Exists(banned), Coalesce(_first(banned, "word"), empty)),
    ]


def compliance_check(*, now: datetime | None = None) -> ComplianceResult:
    """Flag the products (not delisted) that break a listing rule; resolve fixed flags.

    Writes one open ``ComplianceFlag`` per product and broken rule (the detail
    names the SKU or the word), sets ``resolved_at`` on open flags whose rule
    now holds (or whose product was delisted). Two statements per rule plus one
    count, whatever the number of products.
    """
    now = now or timezone.now()
    stamp = Value(now, output_field=models.DateTimeField())
    checked = Product.objects.exclude(status=ListingStatus.DELISTED).annotate(
        _title=Trim("title"), _description=Trim("description")
    )
    opened = resolved = 0
    with transaction.atomic():
        for code, condition, detail in _rules():
            breaking = checked.filter(condition)
            already = ComplianceFlag.objects.filter(
                product=OuterRef("pk"), code=code, resolved_at__isnull=True
            )
            opened += insert_select(
                ComplianceFlag,
                {
                    "product_id": F("pk"),
                    "code": Value(code),
                    "detail": detail,
                    "found_at": stamp,
                    "resolved_at": Value(None, output_field=models.DateTimeField()),
                },
                breaking.filter(~Exists(already)),
            )
            resolved += (
                ComplianceFlag.objects.filter(code=code, resolved_at__isnull=True)
                .exclude(product__in=breaking.values("pk"))
                .update(resolved_at=now)
            )
        open_by_code = dict(
            ComplianceFlag.objects.filter(resolved_at__isnull=True)
            .order_by()
            .values_list("code")
            .annotate(n=Count("pk"))
        )
    return ComplianceResult(opened=opened, resolved=resolved, open_by_code=open_by_code)


def flagged_products() -> models.QuerySet[Product]:
    """Products not delisted with at least one open flag."""
    return Product.objects.exclude(status=ListingStatus.DELISTED).filter(
        Exists(ComplianceFlag.objects.filter(product=OuterRef("pk"), resolved_at__isnull=True))
    )
