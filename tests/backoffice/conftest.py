from __future__ import annotations

import pytest

from backoffice.celery import app
from backoffice.models import WebhookEndpoint, WebhookEvent
from tests.support.webhook_receiver import start_receiver

SECRET = "a-test-secret-of-some-length"


@pytest.fixture
def eager():
    """Tasks run in-process for this test, whatever CELERY_BROKER_URL says."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def receiver():
    server = start_receiver(SECRET)
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def endpoint(db, receiver):
    return WebhookEndpoint.objects.create(
        name="Sales platform",
        url=receiver.url,
        secret=SECRET,
        events=[event.value for event in WebhookEvent],
        timeout_seconds=2,
    )
