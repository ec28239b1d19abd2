"""GET /healthz: can this process reach its database and its broker?

For load balancers and orchestrators: 200 with ``{"status": "ok", …}`` when
everything answers, 503 naming what does not. No secrets and no details of
the error beyond its kind.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "not reachable" here
        return f"error: {type(error).__name__}"
    return "ok"


def _broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "in-process"
    from .celery import app

    try:
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database(), "broker": _broker()}
    healthy = all(value in ("ok", "in-process") for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
