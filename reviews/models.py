"""Product reviews, their moderation, and the per-product rating summary (SPEC F-35).

Only ``reviews.services`` writes reviews' statuses and the summaries: every
moderation change recounts the summaries of the products it touched, in the
same transaction, so that a summary always equals a recount of the approved
reviews.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

RATING_MIN = 1
RATING_MAX = 5
RATINGS = range(RATING_MIN, RATING_MAX + 1)


class Review(models.Model):
    """A customer's review of a product (and of the variant bought, when known)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        related_name="reviews",
        on_delete=models.CASCADE,
    )
    variant = models.ForeignKey(
        "catalog.Variant",
        verbose_name=_("variant bought"),
        null=True,
        blank=True,
        related_name="reviews",
        on_delete=models.SET_NULL,
    )
    rating = models.PositiveSmallIntegerField(
        _("rating"), validators=[MinValueValidator(RATING_MIN), MaxValueValidator(RATING_MAX)]
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    text = models.TextField(_("text"), blank=True)
    customer_name = models.CharField(_("customer"), max_length=200)
    customer_email = models.EmailField(_("customer e-mail"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING,
        editable=False,
    )
    rejection_reason = models.TextField(_("rejection reason"), blank=True, editable=False)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("moderated by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        editable=False,
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("written at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["product", "status", "created_at"], name="review_product_status"),
            models.Index(fields=["status", "rating"], name="review_status_rating"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=RATING_MIN) & Q(rating__lte=RATING_MAX),
                name="review_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="review_rejected_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ · {self.title or self.customer_name}"


class RatingSummary(models.Model):
    """Approved reviews of one product: count, sum, average and the 1–5 distribution.

    Rewritten by ``reviews.services.rating_summaries_refresh`` from a recount,
    never incremented: a summary cannot drift from its reviews.
    """

    product = models.OneToOneField(
        "catalog.Product",
        verbose_name=_("product"),
        primary_key=True,
        related_name="rating_summary",
        on_delete=models.CASCADE,
    )
    review_count = models.PositiveIntegerField(_("approved reviews"), default=0)
    rating_sum = models.PositiveIntegerField(_("sum of ratings"), default=0)
    average = models.FloatField(_("average rating"), null=True, blank=True)
    stars_1 = models.PositiveIntegerField("1★", default=0)
    stars_2 = models.PositiveIntegerField("2★", default=0)
    stars_3 = models.PositiveIntegerField("3★", default=0)
    stars_4 = models.PositiveIntegerField("4★", default=0)
    stars_5 = models.PositiveIntegerField("5★", default=0)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("rating summary")
        verbose_name_plural = _("rating summaries")
        ordering = ["average", "-review_count"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    review_count=models.F("stars_1")
                    + models.F("stars_2")
                    + models.F("stars_3")
                    + models.F("stars_4")
                    + models.F("stars_5")
                ),
                name="ratingsummary_distribution_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.average or 0:.2f} ({self.review_count})"

    @property
    def distribution(self) -> dict[int, int]:
        return {stars: getattr(self, f"stars_{stars}") for stars in RATINGS}
