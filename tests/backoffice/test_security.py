"""Login protection, health check, logs, deploy checks and body limits (issue 9)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from backoffice.logging import JsonFormatter

from ..factories import AdminFactory

ROOT = Path(__file__).resolve().parents[2]


def login(client, username, password):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
    )


def test_repeated_failed_logins_lock_the_user_out_even_with_the_right_password(
    client, db, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    AdminFactory(username="boss", password="right-password-1")
    for _ in range(2):
        response = login(client, "boss", "wrong")
        assert response.status_code == 200  # the login form again, with its error
    locked = login(client, "boss", "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    again = login(client, "boss", "right-password-1")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # The attempt made while locked out counts as one more failure.
    assert AccessAttempt.objects.get(username="boss").failures_since_start == 4


def test_a_success_before_the_limit_resets_the_count(client, db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    AdminFactory(username="boss", password="right-password-1")
    login(client, "boss", "wrong")
    login(client, "boss", "wrong")
    assert login(client, "boss", "right-password-1").status_code == 302
    client.logout()
    assert login(client, "boss", "wrong").status_code == 200


def test_lockout_of_one_user_leaves_another_alone(client, db, settings):
    settings.AXES_FAILURE_LIMIT = 2
    AdminFactory(username="boss", password="right-password-1")
    AdminFactory(username="clerk", password="right-password-2")
    login(client, "boss", "x")
    login(client, "boss", "x")
    assert login(client, "clerk", "right-password-2").status_code == 302


def test_health_reports_database_and_broker(client, db, settings):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["broker"] == ("ok" if settings.CELERY_BROKER_URL else "in-process")


def test_health_answers_503_when_the_broker_is_unreachable(client, db, settings):
    from backoffice.celery import app

    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    saved = app.conf.broker_url, app.conf.broker_write_url
    app.conf.broker_url = app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get(reverse("healthz"))
    finally:
        app.conf.broker_url, app.conf.broker_write_url = saved
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["broker"].startswith("error:")
    assert "127.0.0.1:1" not in response.content.decode()


def test_json_logs_are_one_object_per_line_with_extra_fields():
    record = logging.LogRecord("stockroom", logging.WARNING, __file__, 1, "sent %s", ("x",), None)
    record.outbox_message = 12
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["message"] == "sent x"
    assert line["outbox_message"] == 12


def test_deploy_check_passes_with_production_settings():
    env = {
        **os.environ,
        "STOCKROOM_ENV": "production",
        "SECRET_KEY": "x" * 20 + "-production-only-" + "y" * 30,
        "ALLOWED_HOSTS": "stock.example.com",
    }
    env.pop("DEBUG", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_request_body_over_the_limit_is_refused(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = admin_client.post(
        reverse("admin:catalog_tag_add"), {"name": "x" * 5000, "kind": "brand"}
    )
    assert response.status_code == 400


def test_error_pages_do_not_show_settings_in_production_mode(client, db, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "SECRET_KEY" not in response.content.decode()


@pytest.mark.parametrize("path", ["/admin/", "/admin/catalog/product/"])
def test_admin_pages_need_a_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
