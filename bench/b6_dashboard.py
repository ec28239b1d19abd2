"""B6: the dashboard (admin index) and the listing-compliance check at full size.

- dashboard: the figures computed without the cache (the first request after it
  expires) and the whole admin index page through the test client; queries and
  time, worst of ``repeat`` runs;
- compliance: one check over every product; queries and time (no baseline: the
  rules are set-based statements, there is no per-product door to compare with).
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from backoffice.dashboard import dashboard_figures
from catalog import compliance
from catalog.models import Product


def _measure(call, repeat: int) -> tuple[float, int]:
    worst, queries = 0.0, 0
    for _ in range(repeat):
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            worst = max(worst, time.perf_counter() - started)
        queries = len(captured)
    return worst, queries


def run(repeat: int = 3) -> list[dict]:
    user, _created = get_user_model().objects.get_or_create(
        username="bench-dashboard", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    products = Product.objects.count()
    figures_time, figures_queries = _measure(dashboard_figures, repeat)
    page_time, page_queries = _measure(lambda: client.get("/admin/"), repeat)
    check_time, check_queries = _measure(compliance.compliance_check, 1)
    print(
        f"B6 dashboard: figures {figures_time:.2f}s / {figures_queries} queries, page "
        f"{page_time:.2f}s / {page_queries} queries; compliance {check_time:.2f}s / "
        f"{check_queries} queries, {products:,} products",
        flush=True,
    )
    return [
        {"id": "B6", "figure": f"dashboard figures, {products:,} products: time",
         "value": round(figures_time, 2), "unit": "s", "target": ""},
        {"id": "B6", "figure": "dashboard figures: queries", "value": figures_queries,
         "target": "constant"},
        {"id": "B6", "figure": "admin index (dashboard) page: time", "value": round(page_time, 2),
         "unit": "s", "target": ""},
        {"id": "B6", "figure": "admin index (dashboard) page: queries", "value": page_queries,
         "target": "constant"},
        {"id": "B6", "figure": f"compliance check, {products:,} products: time",
         "value": round(check_time, 2), "unit": "s", "target": ""},
        {"id": "B6", "figure": "compliance check: queries", "value": check_queries,
         "target": "bounded"},
    ]  # fmt: skip
