"""The outbox in-process: fan-out of listing events, signed delivery, retries, resend."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice import outbox
from backoffice.errors import DomainError
from backoffice.models import OutboxMessage, WebhookEndpoint, WebhookEvent
from backoffice.notifications import (
    EMAIL_ORDER_ITEM_DELISTED,
    EMAIL_WATCH_BACK,
    EMAIL_WATCH_DELISTED,
)
from backoffice.tasks import outbox_deliver
from backoffice.webhooks import sign, verify_signature
from catalog import services as catalog
from catalog.models import ListingStatus, Product, StockWatch
from inventory import services as inventory
from orders.models import Order

from ..factories import OrderFactory, OrderLineFactory, ProductFactory, VariantFactory

Status = OutboxMessage.Status


def only(*products):
    return Product.objects.filter(pk__in=[p.pk for p in products])


@pytest.fixture
def shirt(stocked_variant):
    product = stocked_variant.product
    product.status = ListingStatus.ON_SALE
    product.save()
    return product


def delist(products, actor, callbacks):
    with callbacks(execute=True):
        return catalog.delist(products=products, reason="obsolete", actor=actor)


# --- fan-out -------------------------------------------------------------------------


def test_delisting_writes_webhook_order_and_watcher_messages_in_the_same_transaction(
    shirt, stocked_variant, endpoint, admin_user
):
    order = OrderFactory(customer_email="buyer@example.com")
    OrderLineFactory(order=order, variant=stocked_variant)
    OrderLineFactory(order=order, variant=stocked_variant)  # two lines: still one e-mail
    OrderLineFactory(
        order=OrderFactory(customer_email="done@example.com", status=Order.Status.DELIVERED),
        variant=stocked_variant,
    )
    StockWatch.objects.create(product=shirt, email="watcher@example.com")

    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)

    rows = {(m.kind, m.event, m.recipient or m.endpoint.name) for m in OutboxMessage.objects.all()}
    assert rows == {
        ("webhook", "product.delisted", "Sales platform"),
        ("email", EMAIL_ORDER_ITEM_DELISTED, "buyer@example.com"),
        ("email", EMAIL_WATCH_DELISTED, "watcher@example.com"),
    }
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.PENDING}


def test_a_refused_delisting_writes_no_message(shirt, endpoint, admin_user):
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    before = OutboxMessage.objects.count()
    with pytest.raises(DomainError):
        catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    assert OutboxMessage.objects.count() == before


def test_endpoints_receive_only_the_events_they_subscribe_to(shirt, endpoint, admin_user):
    WebhookEndpoint.objects.create(
        name="Search engine",
        url=endpoint.url,
        secret="another-secret-value",
        events=[WebhookEvent.PRODUCT_RELISTED.value],
    )
    WebhookEndpoint.objects.create(
        name="Switched off",
        url=endpoint.url,
        secret="another-secret-value",
        events=[WebhookEvent.PRODUCT_DELISTED.value],
        is_active=False,
    )
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    assert list(OutboxMessage.objects.values_list("endpoint__name", flat=True)) == [
        "Sales platform"
    ]
    catalog.relist(products=only(shirt), actor=admin_user)
    relisted = OutboxMessage.objects.filter(event="product.relisted")
    assert sorted(relisted.values_list("endpoint__name", flat=True)) == [
        "Sales platform",
        "Search engine",
    ]


def test_fan_out_costs_the_same_queries_for_1_and_60_products(warehouse, endpoint, admin_user):
    def products(count, prefix):
        selected = []
        for i in range(count):
            variant = VariantFactory(
                product=ProductFactory(status=ListingStatus.ON_SALE), sku=f"{prefix}-{i}"
            )
            OrderLineFactory(
                order=OrderFactory(customer_email=f"{prefix}{i}@example.com"), variant=variant
            )
            StockWatch.objects.create(product=variant.product, email=f"w{prefix}{i}@example.com")
            selected.append(variant.product)
        return only(*selected)

    small, large = products(1, "s"), products(60, "l")
    with CaptureQueriesContext(connection) as one:
        catalog.delist(products=small, reason="obsolete", actor=admin_user)
    with CaptureQueriesContext(connection) as sixty:
        catalog.delist(products=large, reason="obsolete", actor=admin_user)
    assert len(one) == len(sixty)
    assert OutboxMessage.objects.count() == 3 * 61


def test_relisting_tells_watchers_once_and_fulfils_the_watch(shirt, admin_user, mailoutbox):
    catalog.delist(products=only(shirt), reason="seasonal", actor=admin_user)
    watch = StockWatch.objects.create(product=shirt, email="fan@example.com")
    catalog.relist(products=only(shirt), actor=admin_user)
    back = OutboxMessage.objects.get(event=EMAIL_WATCH_BACK)
    assert back.recipient == "fan@example.com"
    watch.refresh_from_db()
    assert watch.notified_at is not None
    # A second round (delist, relist) does not tell a fulfilled watch again.
    catalog.delist(products=only(shirt), reason="seasonal", actor=admin_user)
    catalog.relist(products=only(shirt), actor=admin_user)
    assert OutboxMessage.objects.filter(event=EMAIL_WATCH_BACK).count() == 1


def test_relisting_a_product_with_nothing_to_sell_does_not_say_it_is_back(admin_user):
    product = ProductFactory(status=ListingStatus.DELISTED, delist_reason="seasonal")
    VariantFactory(product=product)
    StockWatch.objects.create(product=product, email="fan@example.com")
    catalog.relist(products=only(product), actor=admin_user)
    product.refresh_from_db()
    assert product.status == ListingStatus.SOLD_OUT
    assert not OutboxMessage.objects.filter(event=EMAIL_WATCH_BACK).exists()


def test_restock_of_a_sold_out_product_tells_its_watchers(warehouse, admin_user):
    product = ProductFactory(status=ListingStatus.SOLD_OUT)
    variant = VariantFactory(product=product)
    StockWatch.objects.create(product=product, email="fan@example.com")
    inventory.receive(variant=variant, warehouse=warehouse, quantity=3, actor=admin_user)
    product.refresh_from_db()
    assert product.status == ListingStatus.ON_SALE
    message = OutboxMessage.objects.get(event=EMAIL_WATCH_BACK)
    assert message.recipient == "fan@example.com"
    assert OutboxMessage.objects.filter(event="product.back_in_stock").count() == 0  # no endpoint


# --- delivery ----------------------------------------------------------------------


def test_after_commit_the_webhook_is_signed_and_the_e_mails_are_sent(
    shirt,
    stocked_variant,
    endpoint,
    receiver,
    admin_user,
    eager,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    order = OrderFactory(customer_email="buyer@example.com", customer_name="Han Meimei")
    OrderLineFactory(order=order, variant=stocked_variant)
    delist(only(shirt), admin_user, django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.signature_ok
    assert request.event == "product.delisted"
    assert request.body["data"]["product"]["id"] == shirt.pk
    assert request.body["data"]["skus"] == [stocked_variant.sku]
    assert request.body["data"]["reason"] == "obsolete"
    assert request.key == OutboxMessage.objects.get(kind="webhook").idempotency_key
    assert [m.to for m in mailoutbox] == [["buyer@example.com"]]
    assert order.number in mailoutbox[0].subject
    assert "Han Meimei" in mailoutbox[0].body and shirt.title in mailoutbox[0].body
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(Status.DELIVERED, 1)}


def test_delivering_the_same_message_twice_sends_it_once(
    shirt, endpoint, receiver, admin_user, mailoutbox
):
    StockWatch.objects.create(product=shirt, email="fan@example.com")
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    for message in OutboxMessage.objects.all():
        assert outbox.deliver(message.pk).status == Status.DELIVERED
        assert outbox.deliver(message.pk) == outbox.SKIPPED
    assert len(receiver.requests) == 1
    assert len(mailoutbox) == 1


def test_a_message_being_sent_is_not_claimed_by_a_second_worker(shirt, endpoint, admin_user):
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    message = OutboxMessage.objects.get()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.SENDING, lease_until=timezone.now() + timedelta(minutes=1)
    )
    assert outbox.deliver(message.pk) == outbox.SKIPPED


@pytest.mark.parametrize("mode", ["error", "slow", "refused"])
def test_an_endpoint_that_fails_is_retried_with_backoff_then_marked_failed(
    mode, shirt, endpoint, receiver, admin_user, settings
):
    settings.OUTBOX_RETRY_BASE_SECONDS = 10
    settings.OUTBOX_MAX_ATTEMPTS = 4
    if mode == "refused":
        receiver.server.shutdown()
        receiver.server.server_close()
    receiver.mode, receiver.delay = mode, 3  # "slow" answers after the 2 s timeout
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    message = OutboxMessage.objects.get()
    expected_error = {"error": "HTTP 500", "slow": "within 2 s", "refused": "cannot reach"}[mode]

    first = outbox.deliver(message.pk)
    message.refresh_from_db()
    assert (first.status, first.retry_in) == (Status.PENDING, 10)
    assert message.attempts == 1 and expected_error in message.last_error
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=8)
    # Not due yet: a duplicate task does nothing.
    assert outbox.deliver(message.pk) == outbox.SKIPPED

    delays = []
    for _attempt in range(2, message.max_attempts + 1):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        delays.append(outbox.deliver(message.pk).retry_in)
    message.refresh_from_db()
    assert delays == [20, 40, None]
    assert message.status == Status.FAILED
    assert message.attempts == message.max_attempts == 4
    assert expected_error in message.last_error


def test_backoff_doubles_and_stays_below_the_visibility_timeout(settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    assert [outbox.backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert outbox.backoff_seconds(20) == settings.OUTBOX_RETRY_MAX_SECONDS < 3600


def test_redispatch_picks_up_pending_and_abandoned_messages(shirt, endpoint, admin_user, settings):
    settings.OUTBOX_REDISPATCH_GRACE_SECONDS = 60
    StockWatch.objects.create(product=shirt, email="fan@example.com")
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    webhook = OutboxMessage.objects.get(kind="webhook")
    email = OutboxMessage.objects.get(kind="email")
    assert outbox.redispatch() == []  # just written: their own task is on its way
    past = timezone.now() - timedelta(minutes=5)
    OutboxMessage.objects.filter(pk=webhook.pk).update(next_attempt_at=past)
    OutboxMessage.objects.filter(pk=email.pk).update(status=Status.SENDING, lease_until=past)
    sent = []
    from unittest import mock

    with mock.patch.object(outbox, "_send_task", sent.append):
        ids = outbox.redispatch()
    assert sorted(ids) == sorted(sent) == sorted([webhook.pk, email.pk])


def test_task_schedules_the_retry_with_a_countdown_when_a_broker_is_used(
    shirt, endpoint, receiver, admin_user
):
    from unittest import mock

    receiver.mode = "error"
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    message = OutboxMessage.objects.get()
    conf = outbox_deliver.app.conf
    previous, conf.task_always_eager = conf.task_always_eager, False
    try:
        with mock.patch.object(outbox_deliver, "apply_async") as retry:
            assert outbox_deliver.run(message.pk) == Status.PENDING
    finally:
        conf.task_always_eager = previous
    retry.assert_called_once_with((message.pk,), countdown=30)


# --- bad input ------------------------------------------------------------------------


def test_an_e_mail_without_recipient_is_refused(db):
    with pytest.raises(DomainError, match=str(outbox.UNKNOWN_RECIPIENT)):
        outbox.enqueue(kind="email", event="x", idempotency_key="k1", recipient=" ")
    with pytest.raises(DomainError, match=str(outbox.UNKNOWN_ENDPOINT)):
        outbox.enqueue(kind="webhook", event="x", idempotency_key="k2")
    assert OutboxMessage.objects.count() == 0


def test_the_same_idempotency_key_writes_one_row(db, mailoutbox):
    first = outbox.enqueue(kind="email", event="x", idempotency_key="k", recipient="a@b.c")
    again = outbox.enqueue(kind="email", event="x", idempotency_key="k", recipient="a@b.c")
    assert first.pk == again.pk and OutboxMessage.objects.count() == 1


def test_a_message_that_cannot_be_rendered_fails_at_once_with_the_error(db):
    message = outbox.enqueue(
        kind="email", event="no.such.template", idempotency_key="k", recipient="a@b.c"
    )
    assert outbox.deliver(message.pk).status == Status.FAILED
    message.refresh_from_db()
    assert message.attempts == 1 and "KeyError" in message.last_error


def test_signature_checks_body_secret_and_age():
    body = b'{"a": 1}'
    header = sign("s3cret", body, 1_700_000_000)
    assert verify_signature("s3cret", body, header, now=1_700_000_010)
    assert not verify_signature("other", body, header, now=1_700_000_010)
    assert not verify_signature("s3cret", b'{"a": 2}', header, now=1_700_000_010)
    assert not verify_signature("s3cret", body, header, now=1_700_001_000)  # replayed later
    assert not verify_signature("s3cret", body, "garbage", now=1_700_000_010)


# --- admin --------------------------------------------------------------------------


def test_admin_resend_queues_failed_messages_again(
    admin_client, shirt, endpoint, receiver, admin_user, eager, django_capture_on_commit_callbacks
):
    receiver.mode = "error"
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    message = OutboxMessage.objects.get()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.FAILED, attempts=8, last_error="HTTP 500"
    )
    receiver.mode = "ok"
    url = reverse("admin:backoffice_outboxmessage_changelist")
    assert admin_client.get(url + "?status__exact=failed").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"action": "resend", "_selected_action": [message.pk]}, follow=True
        )
    assert "1 message(s) queued to be sent again." in response.content.decode()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (Status.DELIVERED, 1, "")
    assert len(receiver.requests) == 1 and receiver.requests[0].signature_ok


def test_admin_resend_of_a_message_being_sent_is_refused(admin_client, shirt, endpoint, admin_user):
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    message = OutboxMessage.objects.get()
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.SENDING, lease_until=timezone.now() + timedelta(minutes=1)
    )
    response = admin_client.post(
        reverse("admin:backoffice_outboxmessage_changelist"),
        {"action": "resend", "_selected_action": [message.pk]},
        follow=True,
    )
    assert str(outbox.NOTHING_TO_RESEND) in response.content.decode()
    message.refresh_from_db()
    assert message.status == Status.SENDING


def test_outbox_message_page_shows_the_payload_and_error(admin_client, shirt, endpoint, admin_user):
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    message = OutboxMessage.objects.get()
    response = admin_client.get(reverse("admin:backoffice_outboxmessage_change", args=[message.pk]))
    assert response.status_code == 200
    assert message.idempotency_key in response.content.decode()


def endpoint_form(**overrides):
    data = {
        "name": "Search",
        "audience": "search_engine",
        "url": "http://127.0.0.1:9/hook",
        "secret": "x" * 32,
        "events": ["product.delisted"],
        "timeout_seconds": "5",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_admin_adds_a_webhook_endpoint(admin_client):
    add = reverse("admin:backoffice_webhookendpoint_add")
    assert len(admin_client.get(add).context["adminform"].form.initial["secret"]) == 64
    response = admin_client.post(add, endpoint_form())
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().events == ["product.delisted"]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("url", "ftp://127.0.0.1/hook", "Only http:// and https:// URLs can be called."),
        ("url", "not a url", "Enter a valid URL."),
        ("secret", "short", "Use a secret of at least 16 characters."),
        ("events", ["product.exploded"], "Select a valid choice."),
        ("timeout_seconds", "-1", "Ensure this value is greater than or equal to 0."),
        ("timeout_seconds", "0", "Constraint"),
    ],
)
def test_admin_refuses_a_bad_webhook_endpoint(admin_client, field, value, message):
    response = admin_client.post(
        reverse("admin:backoffice_webhookendpoint_add"), endpoint_form(**{field: value})
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_payload_of_listing_messages_names_the_event(shirt, endpoint, admin_user):
    batch_before = uuid.uuid4()
    catalog.delist(products=only(shirt), reason="obsolete", actor=admin_user)
    message = OutboxMessage.objects.get()
    assert message.batch != batch_before
    payload = message.payload if isinstance(message.payload, dict) else json.loads(message.payload)
    assert set(payload) == {"listing_event"}
