"""Scheduled feedback jobs: load, call the selector or service, return a small result."""

from __future__ import annotations

from celery import shared_task

from backoffice.notifications import EMAIL_STAFF_LOW_RATINGS, notify_staff
from backoffice.schedules import run_once, today

from . import selectors


def low_ratings_notify(*, period: str) -> dict:
    """E-mail staff the products whose recent ratings fell below the threshold (F-36).

    One e-mail per period (the outbox key carries it); nothing is sent when no
    product is alerting.
    """
    alerting = list(selectors.low_rating_products()[:50])
    if not alerting:
        return {"products": 0}
    notify_staff(
        event=EMAIL_STAFF_LOW_RATINGS,
        key=f"low-ratings-{period}",
        payload={
            "count": len(alerting),
            "day": period,
            "products": [
                {
                    "title": product.title,
                    "average": round(product.recent_average or 0, 2),
                    "reviews": product.recent_reviews,
                }
                for product in alerting
            ],
            "keywords": [word for word, _n in selectors.low_rating_keywords(days=30, limit=10)],
        },
    )
    return {"products": len(alerting)}


@shared_task(name="reviews.low_ratings", ignore_result=True)
def low_ratings_daily(period: str | None = None) -> dict | None:
    """Daily: tell staff about products with low recent ratings; once per day."""
    key = period or today()
    run = run_once(job="low_ratings", period=key, work=lambda: low_ratings_notify(period=key))
    return run.summary if run else None
