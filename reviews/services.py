"""Review operations: submit, approve, reject, and the rating summaries they keep exact.

Moderation takes a queryset and runs a constant number of queries whatever
its size: one UPDATE of the reviews, then the summaries of the products
touched are recounted from the approved reviews (DELETE + INSERT … SELECT),
in the same transaction, with the products locked in primary-key order so
that two moderators of the same product cannot interleave their recounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import Avg, Count, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from backoffice.db import insert_select
from backoffice.services import submission_claim
from catalog.models import Product, Variant

from .exceptions import ReviewError
from .models import RATING_MAX, RATING_MIN, RATINGS, RatingSummary, Review

RATING_INVALID = gettext_lazy("A rating is a whole number from 1 to 5 (got %(rating)s).")
UNKNOWN_PRODUCT = gettext_lazy("Unknown product: %(product)s.")
VARIANT_OF_OTHER_PRODUCT = gettext_lazy("SKU %(sku)s is not a variant of %(product)s.")
CUSTOMER_REQUIRED = gettext_lazy("Give the customer's name.")
EMAIL_INVALID = gettext_lazy("%(email)s is not a valid e-mail address.")
TITLE_TOO_LONG = gettext_lazy("A review title has at most %(max)s characters (got %(length)s).")
TEXT_TOO_LONG = gettext_lazy("A review text has at most %(max)s characters (got %(length)s).")
REJECTION_REASON_REQUIRED = gettext_lazy("Give the reason for rejecting the reviews.")
NOTHING_TO_APPROVE = gettext_lazy(
    "All the selected reviews are already approved: nothing was changed."
)
NOTHING_TO_REJECT = gettext_lazy(
    "All the selected reviews are already rejected: nothing was changed."
)

TITLE_MAX = Review._meta.get_field("title").max_length


@dataclass(frozen=True)
class ModerationResult:
    changed: int
    skipped: int


def _clean_rating(value: Any) -> int:
    rating = None
    if isinstance(value, bool):
        rating = None
    elif isinstance(value, int):
        rating = value
    elif isinstance(value, float | Decimal) and value == int(value):
        rating = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        rating = int(value.strip())
    if rating is None or not RATING_MIN <= rating <= RATING_MAX:
        shown = "—" if value is None or value == "" else value
        raise ReviewError(RATING_INVALID % {"rating": shown})
    return rating


def review_submit(
    *,
    product: Product | None,
    rating: Any,
    customer_name: str,
    customer_email: str = "",
    title: str = "",
    text: str = "",
    variant: Variant | None = None,
    created_at: datetime | None = None,
    product_label: str = "",
) -> Review:
    """Record a customer's review, pending moderation (F-35).

    Refuses an unknown product, a rating outside 1–5, a variant of another
    product, a missing customer name, an invalid e-mail, and a title or text
    over the limits (``REVIEW_TEXT_MAX_CHARS``). Writes one review; the
    rating summary changes only when the review is approved.
    """
    if product is None or product.pk is None:
        raise ReviewError(UNKNOWN_PRODUCT % {"product": product_label or "—"})
    rating = _clean_rating(rating)
    if variant is not None and variant.product_id != product.pk:
        raise ReviewError(VARIANT_OF_OTHER_PRODUCT % {"sku": variant.sku, "product": product})
    customer_name = (customer_name or "").strip()
    if not customer_name:
        raise ReviewError(CUSTOMER_REQUIRED)
    customer_email = (customer_email or "").strip().lower()
    if customer_email:
        try:
            validate_email(customer_email)
        except ValidationError:
            raise ReviewError(EMAIL_INVALID % {"email": customer_email}) from None
    title, text = (title or "").strip(), (text or "").strip()
    if len(title) > TITLE_MAX:
        raise ReviewError(TITLE_TOO_LONG % {"max": TITLE_MAX, "length": len(title)})
    text_max = settings.REVIEW_TEXT_MAX_CHARS
    if len(text) > text_max:
        raise ReviewError(TEXT_TOO_LONG % {"max": text_max, "length": len(text)})
    return Review.objects.create(
        product=product,
        variant=variant,
        rating=rating,
        title=title,
        text=text,
        customer_name=customer_name[:200],
        customer_email=customer_email,
        created_at=created_at or timezone.now(),
    )


def _moderate(
    reviews: models.QuerySet,
    *,
    status: str,
    reason: str,
    actor: Any,
    submission_key: str | None,
    nothing_message: str,
) -> ModerationResult:
    with transaction.atomic():
        submission_claim(key=submission_key, operation=f"reviews_{status}", actor=actor)
        selected = Review.objects.filter(pk__in=reviews.values("pk"))
        products = Product.objects.filter(pk__in=selected.values("product_id"))
        # Product rows in primary-key order, as every catalog writer takes them.
        list(products.order_by("pk").select_for_update().values_list("pk", flat=True))
        total = selected.count()
        changed = selected.exclude(status=status).update(
            status=status,
            rejection_reason=reason,
            moderated_by_id=getattr(actor, "pk", None),
            moderated_at=timezone.now(),
        )
        if not changed:
            raise ReviewError(nothing_message)
        rating_summaries_refresh(products=products)
    return ModerationResult(changed=changed, skipped=total - changed)


def reviews_approve(
    *, reviews: models.QuerySet, actor: Any, submission_key: str | None = None
) -> ModerationResult:
    """Approve the selected reviews; those already approved are skipped and counted.

    Refuses a selection with nothing to approve, and a form submitted twice.
    Recounts the rating summaries of the products concerned. Constant number
    of queries.
    """
    return _moderate(
        reviews,
        status=Review.Status.APPROVED,
        reason="",
        actor=actor,
        submission_key=submission_key,
        nothing_message=NOTHING_TO_APPROVE,
    )


def reviews_reject(
    *, reviews: models.QuerySet, reason: str, actor: Any, submission_key: str | None = None
) -> ModerationResult:
    """Reject the selected reviews with a reason (shown to staff, kept on the review).

    Refuses an empty reason, a selection already all rejected, and a form
    submitted twice. An approved review that is rejected leaves its product's
    summary at once. Constant number of queries.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(REJECTION_REASON_REQUIRED)
    return _moderate(
        reviews,
        status=Review.Status.REJECTED,
        reason=reason,
        actor=actor,
        submission_key=submission_key,
        nothing_message=NOTHING_TO_REJECT,
    )


def rating_summaries_refresh(*, products: models.QuerySet) -> int:
    """Recount the rating summaries of ``products`` from their approved reviews.

    Two statements whatever the number of products: the old summaries are
    deleted and one row per product with an approved review is inserted
    (INSERT … SELECT). Call inside the transaction that changed the reviews.
    Returns the number of summaries written.
    """
    selected = Product.objects.filter(pk__in=products.values("pk"))
    RatingSummary.objects.filter(product__in=selected).delete()
    approved = (
        Review.objects.filter(product=OuterRef("pk"), status=Review.Status.APPROVED)
        .order_by()
        .values("product")
    )

    def total(aggregate) -> Coalesce:
        rows = approved.annotate(v=aggregate).values("v")
        return Coalesce(Subquery(rows, output_field=models.IntegerField()), Value(0))

    columns = {
        "product_id": F("pk"),
        "review_count": total(Count("pk")),
        "rating_sum": total(Sum("rating")),
        "average": Subquery(
            approved.annotate(v=Avg("rating", output_field=models.FloatField())).values("v"),
            output_field=models.FloatField(),
        ),
        **{f"stars_{n}": total(Count("pk", filter=Q(rating=n))) for n in RATINGS},
        "updated_at": Value(timezone.now(), output_field=models.DateTimeField()),
    }
    return insert_select(RatingSummary, columns, selected.filter(Exists(approved)))
