"""Celery runs tasks in-process without a broker, and talks to Redis when one is set."""

from __future__ import annotations

import pytest
from django.conf import settings

from backoffice.celery import app


def test_tasks_run_in_process_exactly_when_no_broker_is_set():
    assert app.conf.task_always_eager is (not settings.CELERY_BROKER_URL)


@pytest.mark.redis
def test_with_a_broker_celery_reaches_redis():
    assert app.conf.task_always_eager is False
    assert app.conf.broker_url.startswith("redis://")
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
        assert connection.connected
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
