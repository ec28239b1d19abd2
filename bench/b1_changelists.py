"""B1: admin changelists at full size, against a plain ModelAdmin of the same model.

Also the floor: the time of the simplest admin page (the password change form) and of
the movement list when no row matches — what a page costs before it shows rows."""

from __future__ import annotations

import statistics
import time

from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from catalog.models import Variant

TARGET_QUERIES = 8
TARGET_P95_MS = 150


def _cases() -> list[tuple[str, str, str]]:
    skus = Variant.objects.order_by("pk").values_list("sku", flat=True)
    sku = skus[min(500, skus.count() - 1)]
    prefix = sku.rsplit("-", 1)[0]  # the SKUs of one product, as staff search them
    return [
        ("product", "catalog/product/", ""),
        ("product", "catalog/product/", "?status__exact=on_sale&q=Widget"),
        ("variant", "catalog/variant/", ""),
        ("variant", "catalog/variant/", f"?q={prefix}"),
        ("stock", "inventory/stock/", ""),
        ("stock", "inventory/stock/", "?state=low"),
        ("movement", "inventory/movement/", ""),
        ("movement", "inventory/movement/", f"?kind__exact=shipment&q={sku}"),
        ("order", "orders/order/", ""),
        ("order", "orders/order/", "?status__exact=shipped"),
    ]


def _measure(client: Client, url: str, repeat: int) -> tuple[int, float, float]:
    client.get(url)  # warm caches: templates, connection, plan
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    # Read now: the captured list is a view on the connection's log, which the next
    # request resets.
    query_count = len(queries)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        reset_queries()
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return query_count, statistics.median(times), p95


def run(*, repeat: int = 20) -> list[dict]:
    # B2/B3 may have created the "bench" user first, without the admin flags.
    user, _created = get_user_model().objects.update_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    rows: list[dict] = []
    with override_settings(ROOT_URLCONF="bench.urls", DEBUG=False):
        for name, path, query in _cases():
            label = f"{name} {'filtered' if query else 'default'}"
            ours = _measure(client, f"/admin/{path}{query}", repeat)
            base = _measure(client, f"/baseline/{path}{query}", max(3, repeat // 4))
            print(f"B1 {label}: ours {ours}, baseline {base}", flush=True)
            rows.append(
                {
                    "id": "B1",
                    "figure": f"{label}: queries/page",
                    "value": ours[0],
                    "baseline": base[0],
                    "target": f"<= {TARGET_QUERIES}",
                }
            )
            rows.append(
                {
                    "id": "B1",
                    "figure": f"{label}: p50",
                    "value": round(ours[1], 1),
                    "baseline": round(base[1], 1),
                    "unit": "ms",
                }
            )
            rows.append(
                {
                    "id": "B1",
                    "figure": f"{label}: p95",
                    "value": round(ours[2], 1),
                    "baseline": round(base[2], 1),
                    "unit": "ms",
                    "target": f"<= {TARGET_P95_MS} ms",
                }
            )
        # What any admin page costs before its own work: a ratio of 10 against the
        # plain ModelAdmin needs our page under a tenth of the baseline's time.
        for label, url in (
            ("floor: password change form (simplest admin page)", "/admin/password_change/"),
            ("floor: movement list, no matching row", "/admin/inventory/movement/?q=NO-SUCH-REF"),
        ):
            queries, p50, p95 = _measure(client, url, repeat)
            print(f"B1 {label}: {queries} queries, p50 {p50:.1f} ms", flush=True)
            rows.append(
                {"id": "B1", "figure": f"{label}: p50", "value": round(p50, 1), "unit": "ms"}
            )
    return rows
