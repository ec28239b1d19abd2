"""The outbox with a real Celery worker process and a real Redis (F-60).

Each test starts its own ``redis-server`` on a free port (so that one test
can stop it without disturbing anything else) and a worker process
(``celery -A backoffice worker --pool=solo``) on the test database. The
webhook receiver is an HTTP server on 127.0.0.1 that checks the signature.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from backoffice.celery import app
from backoffice.models import OutboxMessage, WebhookEndpoint, WebhookEvent
from backoffice.tasks import outbox_deliver, outbox_redispatch
from catalog import services as catalog
from catalog.models import ListingStatus, Product, StockWatch
from tests.support.webhook_receiver import start_receiver

from ..factories import ProductFactory, VariantFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "worker-test-secret-0123456789"
Status = OutboxMessage.Status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float = 30, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


class RedisServer:
    """A private redis-server: started, stopped and started again on the same port."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if not self.binary:
            message = "needs the redis-server program (apt-get install redis-server)"
            if os.environ.get("STOCKROOM_REQUIRE_SERVICES") == "1":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(self.ping, timeout=10), "redis-server did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        assert not self.ping()

    def queued(self) -> int:
        """Messages waiting in the default queue plus those delivered but not acknowledged."""
        import redis

        client = redis.Redis(port=self.port)
        return client.llen("celery") + client.hlen("unacked")


class Worker:
    """A Celery worker process on the test database and the private Redis."""

    def __init__(self, broker_url: str, tmp_path: Path) -> None:
        db = connection.settings_dict
        self.mail_dir = tmp_path / "mail"
        self.mail_dir.mkdir(exist_ok=True)
        self.log = tmp_path / "worker.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                f"{db['NAME']}"
            ),
            "CELERY_BROKER_URL": broker_url,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "OUTBOX_RETRY_BASE_SECONDS": "1",
            "OUTBOX_LEASE_MARGIN_SECONDS": "1",
            "OUTBOX_REDISPATCH_GRACE_SECONDS": "0",
            "STOCKROOM_ALERT_EMAILS": "ops@example.com",
        }
        self.env.pop("STOCKROOM_ENV", None)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        handle = self.log.open("a")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backoffice",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        assert wait_until(lambda: "ready." in self.log.read_text(), timeout=60), self.log_text()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log.read_text()[-4000:] if self.log.exists() else ""

    def emails(self) -> list[str]:
        return [path.read_text() for path in sorted(self.mail_dir.iterdir())]


@contextmanager
def published_to(url: str):
    """This process publishes tasks to ``url`` (not in-process) for the duration."""
    import kombu.pools

    conf = app.conf
    names = ("broker_url", "broker_write_url", "broker_read_url", "task_always_eager")
    saved = {name: conf[name] for name in names}

    def switch(values):
        for name, value in values.items():
            conf[name] = value
        app._pool = None
        app.amqp._producer_pool = None
        kombu.pools.reset()

    switch(
        {
            "broker_url": url,
            "broker_write_url": url,
            "broker_read_url": url,
            "task_always_eager": False,
        }
    )
    try:
        yield
    finally:
        switch(saved)


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def worker(redis_server, tmp_path):
    process = Worker(redis_server.url, tmp_path)
    yield process
    process.stop()


@pytest.fixture
def receiver():
    server = start_receiver(SECRET)
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpoint.objects.create(
        name="Sales platform",
        url=receiver.url,
        secret=SECRET,
        events=[WebhookEvent.PRODUCT_DELISTED.value],
        timeout_seconds=5,
    )


@pytest.fixture
def product():
    product = ProductFactory(title="Linen shirt", status=ListingStatus.ON_SALE)
    VariantFactory(product=product, sku="SHIRT-M")
    StockWatch.objects.create(product=product, email="fan@example.com")
    return product


def delist(product) -> None:
    catalog.delist(products=Product.objects.filter(pk=product.pk), reason="obsolete", actor=None)


def all_delivered(count: int):
    def check() -> bool:
        statuses = list(OutboxMessage.objects.values_list("status", flat=True))
        return len(statuses) == count and set(statuses) == {Status.DELIVERED}

    return check


def test_a_worker_delivers_a_signed_webhook_and_the_e_mail(
    redis_server, worker, receiver, endpoint, product
):
    worker.start()
    with published_to(redis_server.url):
        delist(product)
    assert wait_until(all_delivered(2)), worker.log_text()
    (request,) = receiver.requests
    assert request.signature_ok
    assert request.event == "product.delisted"
    assert request.body["data"]["skus"] == ["SHIRT-M"]
    (email,) = worker.emails()
    assert "To: fan@example.com" in email and "Linen shirt is no longer available" in email


def test_the_same_message_delivered_twice_sends_one_e_mail_and_one_webhook(
    redis_server, worker, receiver, endpoint, product
):
    with published_to(redis_server.url):
        delist(product)  # queued: no worker yet
        for message_id in OutboxMessage.objects.values_list("pk", flat=True):
            outbox_deliver.delay(message_id)  # the duplicates a broker may hand out
            outbox_deliver.delay(message_id)
    assert redis_server.queued() == 5
    worker.start()
    assert wait_until(all_delivered(2)), worker.log_text()
    assert wait_until(lambda: redis_server.queued() == 0), worker.log_text()
    assert len(receiver.requests) == 1
    assert len(worker.emails()) == 1
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_a_worker_killed_mid_delivery_is_made_good_after_restart(
    redis_server, worker, receiver, endpoint, product
):
    StockWatch.objects.all().delete()
    receiver.mode, receiver.delay = "hang_first", 20
    worker.start()
    with published_to(redis_server.url):
        delist(product)
        assert receiver.first_request.wait(30), worker.log_text()
        worker.kill()  # SIGKILL while the task waits for the receiver's answer
        message = OutboxMessage.objects.get()
        assert (message.status, message.attempts) == (Status.SENDING, 1)

        worker.start()
        # The lease (endpoint timeout 5 s + margin 1 s) runs out; beat's
        # periodic re-dispatch then hands the message to the new worker.
        assert wait_until(lambda: message.lease_until.timestamp() < time.time(), timeout=10)
        outbox_redispatch.delay()
        assert wait_until(all_delivered(1)), worker.log_text()
    message.refresh_from_db()
    assert message.attempts == 2
    # Sent twice (at least once), processed once: the receiver drops the
    # repeat by its idempotency key.
    assert [r.key for r in receiver.requests] == [message.idempotency_key] * 2
    assert receiver.processed_keys == [message.idempotency_key]


def test_notifications_committed_while_redis_is_down_are_all_delivered_later(
    redis_server, worker, receiver, endpoint, product
):
    second = ProductFactory(title="Wool scarf", status=ListingStatus.ON_SALE)
    VariantFactory(product=second, sku="SCARF")
    StockWatch.objects.create(product=second, email="scarf@example.com")
    worker.start()
    with published_to(redis_server.url):
        redis_server.stop()
        started = time.monotonic()
        delist(product)  # commits; publishing after commit fails and is logged
        delist(second)
        assert time.monotonic() - started < 15  # the request is not held by the outage
        assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.PENDING}
        assert OutboxMessage.objects.count() == 4

        redis_server.start()
        assert wait_until(lambda: "Connected to redis" in worker.log_text().split("Cannot")[-1])
        outbox_redispatch.delay()  # what beat sends every minute
        assert wait_until(all_delivered(4), timeout=60), worker.log_text()
    assert sorted(r.body["data"]["product"]["id"] for r in receiver.requests) == sorted(
        [product.pk, second.pk]
    )
    assert all(r.signature_ok for r in receiver.requests)
    assert len(worker.emails()) == 2


def test_worker_settings_are_the_reliable_ones():
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility > settings.OUTBOX_RETRY_MAX_SECONDS


def test_a_big_import_is_checked_and_applied_by_the_worker_with_progress(
    redis_server, worker, settings
):
    """F-52: the request stores the file; the worker does the work and reports progress."""
    from backoffice.models import ImportRun
    from backoffice.spreadsheets import runs
    from catalog.models import Variant
    from inventory.models import Stock

    from ..factories import AdminFactory, WarehouseFactory

    settings.IMPORT_BACKGROUND_BYTES = 1024
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CACHES = {
        **settings.CACHES,
        "progress": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
            "KEY_PREFIX": "stockroom-progress",
        },
    }
    worker.env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    worker.start()
    WarehouseFactory(code="MAIN", name="Main")
    staff = AdminFactory()
    rows = "".join(
        f"w-{n // 3},Worker product {n // 3},W-{n},{5 + n % 9}.50,MAIN,{1 + n % 4}\n"
        for n in range(30_000)
    )
    data = ("handle,title,sku,price,warehouse,stock\n" + rows).encode()
    with published_to(redis_server.url):
        run = runs.import_run_start(
            kind="products", name="big.csv", data=data, options={}, actor=staff
        )
        assert run.background and run.status == ImportRun.Status.CHECKING
        assert wait_until(
            lambda: ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.PREVIEWED,
            timeout=120,
        ), worker.log_text()
        run.refresh_from_db()
        assert (run.total_rows, run.created, run.error_count) == (30_000, 30_000, 0)
        assert not Variant.objects.exists()
        runs.import_run_confirm(run=run, actor=staff)
        seen = []

        def applied() -> bool:
            current = ImportRun.objects.get(pk=run.pk)
            seen.append(runs.progress_of(current))
            return current.status == ImportRun.Status.APPLIED

        assert wait_until(applied, timeout=180, interval=0.05), worker.log_text()
    assert any(p["status"] == "applying" and 0 < p["done"] < 30_000 for p in seen), seen[:20]
    assert Variant.objects.count() == 30_000
    assert Stock.objects.count() == 30_000
    assert "imports.run" in worker.log_text()
