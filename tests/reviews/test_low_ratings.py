"""The daily low-ratings e-mail to staff (F-36)."""

from __future__ import annotations

from backoffice.models import OutboxMessage
from backoffice.notifications import EMAIL_STAFF_LOW_RATINGS, render_email
from reviews import services
from reviews.models import Review
from reviews.tasks import low_ratings_daily

from ..factories import ProductFactory, ReviewFactory


def approve_all():
    services.reviews_approve(reviews=Review.objects.all(), actor=None)


def test_staff_hear_once_a_day_about_products_rated_low(db, settings):
    settings.STOCKROOM_ALERT_EMAILS = ["quality@example.com"]
    bad = ProductFactory(title="Leaky kettle")
    for text in ("漏水 质量很差", "leaks badly", "漏水了"):
        ReviewFactory(product=bad, rating=1, text=text)
    ReviewFactory.create_batch(3, product=ProductFactory(title="Good tea"), rating=5)
    approve_all()

    assert low_ratings_daily.run(period="2026-11-23") == {"products": 1}
    assert low_ratings_daily.run(period="2026-11-23") is None  # beat fired twice
    message = OutboxMessage.objects.get(event=EMAIL_STAFF_LOW_RATINGS)
    assert message.recipient == "quality@example.com"
    assert [p["title"] for p in message.payload["products"]] == ["Leaky kettle"]
    assert "漏水" in message.payload["keywords"]
    subject, body = render_email(message)
    assert subject == "Low ratings: 1 product(s) below the threshold"
    assert "Leaky kettle: 1.0 (3)" in body


def test_no_e_mail_when_nothing_is_rated_low(db, settings):
    settings.STOCKROOM_ALERT_EMAILS = ["quality@example.com"]
    ReviewFactory.create_batch(3, rating=5)
    approve_all()
    assert low_ratings_daily.run(period="2026-11-23") == {"products": 0}
    assert not OutboxMessage.objects.exists()
