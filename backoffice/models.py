from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SubmissionKey(models.Model):
    """A one-time key carried by an intermediate admin form.

    The service that does the work claims the key in its own transaction; a
    second submission of the same form finds the key taken and changes nothing.
    """

    key = models.CharField(_("key"), max_length=64, unique=True)
    operation = models.CharField(_("operation"), max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return f"{self.operation} {self.key}"


class WebhookEvent(models.TextChoices):
    """What an outbound webhook can report; endpoints subscribe to a subset."""

    PRODUCT_DELISTED = "product.delisted", _("Product delisted")
    PRODUCT_RELISTED = "product.relisted", _("Product relisted")
    PRODUCT_SOLD_OUT = "product.sold_out", _("Product sold out")
    PRODUCT_BACK_IN_STOCK = "product.back_in_stock", _("Product back in stock")


class WebhookEndpoint(models.Model):
    """A receiver of outbound webhooks: the sales platform, a search engine, a sync tool.

    Requests are signed with HMAC-SHA256 of ``"<timestamp>.<body>"`` under
    ``secret`` (see ``backoffice.webhooks``).
    """

    class Audience(models.TextChoices):
        SALES_PLATFORM = "sales_platform", _("Sales platform")
        SEARCH_ENGINE = "search_engine", _("Search engine")
        SYNC_TOOL = "sync_tool", _("Third-party sync tool")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=120, unique=True)
    audience = models.CharField(
        _("audience"), max_length=20, choices=Audience.choices, default=Audience.SALES_PLATFORM
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=128,
        help_text=_("Shared with the receiver, which checks the X-Stockroom-Signature header."),
    )
    events = models.JSONField(
        _("events"),
        default=list,
        blank=True,
        help_text=_("The events sent to this endpoint."),
    )
    timeout_seconds = models.PositiveSmallIntegerField(_("timeout (seconds)"), default=10)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(timeout_seconds__gte=1) & models.Q(timeout_seconds__lte=60),
                name="webhook_timeout_1_to_60",
            )
        ]

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    """One notification or outbound call, written in the transaction that caused it.

    A task delivers it after commit; the claim (``pending`` → ``sending`` with
    a lease) is a conditional UPDATE, so two deliveries of the same message
    send it once. A periodic task re-dispatches rows left pending (broker
    down) or stuck in ``sending`` past their lease (worker killed).
    """

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WEBHOOK = "webhook", _("Webhook")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    event = models.CharField(_("event"), max_length=60, db_index=True)
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        null=True,
        blank=True,
        related_name="messages",
        on_delete=models.PROTECT,
    )
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    batch = models.UUIDField(_("batch"), null=True, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("max attempts"), default=8)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        permissions = [("resend_outboxmessage", _("Can resend outbox messages"))]
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_next"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="email", endpoint__isnull=True) & ~models.Q(recipient=""))
                | models.Q(kind="webhook", endpoint__isnull=False),
                name="outbox_email_has_recipient_webhook_has_endpoint",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.event} · {self.idempotency_key}"


class ScheduledRun(models.Model):
    """One run of a scheduled job for one period: the unique key makes a second firing a no-op."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    job = models.CharField(_("job"), max_length=60)
    period = models.CharField(_("period"), max_length=40)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("scheduled run")
        verbose_name_plural = _("scheduled runs")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="scheduled_run_once_per_period")
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.period}"


class ImportRun(models.Model):
    """One spreadsheet import (F-50): the file, who sent it, its preview and its result.

    Status: ``checking`` (a background dry run) → ``previewed`` (the report of
    the dry run is ready; staff confirm or cancel) → ``queued`` → ``applying``
    → ``applied``, or ``failed`` (the apply found errors: nothing was written)
    or ``cancelled``. The uploaded file is kept so that it can be downloaded
    again; its reference (``IMP-000012``) is the reason and the reference of
    the stock movements it writes.
    """

    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking")
        PREVIEWED = "previewed", _("Previewed")
        QUEUED = "queued", _("Queued")
        APPLYING = "applying", _("Applying")
        APPLIED = "applied", _("Applied")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("sheet"), max_length=40)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    file_name = models.CharField(_("file name"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    encoding = models.CharField(_("encoding"), max_length=20, default="auto")
    options = models.JSONField(_("options"), default=dict, blank=True)
    background = models.BooleanField(_("in the background"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.CHECKING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    report = models.JSONField(_("result"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(_("applied from"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["status", "created_at"], name="importrun_status_created")]

    def __str__(self) -> str:
        return f"{self.number} · {self.file_name}"

    @property
    def number(self) -> str:
        return f"IMP-{self.pk:06d}" if self.pk else "IMP-(new)"

    @property
    def busy(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.QUEUED, self.Status.APPLYING)
