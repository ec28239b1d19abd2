"""Warehouse operations: stock counts (F-16), ABC classes for cycle counts, transfers (F-17).

Rows here are written by ``warehouse.services``; stock never is. A count's
corrections and a transfer's units leave and enter stock through
``inventory.services`` (``count_correct``, ``transfer_dispatch``,
``transfer_receive``), with the count line or transfer line as the
movement's reference (``CNT-000012/L3``, ``TR-000012/L1``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from inventory.models import Zone


def _user(verbose_name) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        editable=False,
    )


class AbcClass(models.TextChoices):
    A = "A", _("A (top of the shipment value)")
    B = "B", _("B (middle)")
    C = "C", _("C (the rest)")


class SkuClass(models.Model):
    """The ABC class of one SKU in one warehouse, from its shipment value (set by the job).

    ``value`` is the value shipped over ``ABC_WINDOW_DAYS``; ``value_before``
    the value of the SKUs ranked above it in the warehouse, so that
    ``value_before / warehouse_value`` is where it starts on the Pareto curve.
    """

    stock = models.OneToOneField(
        "inventory.Stock",
        verbose_name=_("stock"),
        related_name="abc",
        on_delete=models.CASCADE,
    )
    abc_class = models.CharField(_("class"), max_length=1, choices=AbcClass.choices)
    value = models.DecimalField(_("shipment value"), max_digits=18, decimal_places=2)
    value_before = models.DecimalField(
        _("value of SKUs ranked above"), max_digits=18, decimal_places=2
    )
    warehouse_value = models.DecimalField(
        _("warehouse shipment value"), max_digits=18, decimal_places=2
    )
    classified_at = models.DateTimeField(_("classified at"))

    class Meta:
        verbose_name = _("ABC class")
        verbose_name_plural = _("ABC classes")
        ordering = ["abc_class", "-value"]
        indexes = [models.Index(fields=["abc_class", "stock"], name="skuclass_class_stock")]

    def __str__(self) -> str:
        return f"{self.abc_class} · {self.stock_id}"

    @property
    def cumulative_share(self) -> Decimal | None:
        """Share of the warehouse's shipment value up to and including this SKU (0–1)."""
        if not self.warehouse_value:
            return None
        return (self.value_before + self.value) / self.warehouse_value


class StockCount(models.Model):
    """A stock count (盤點): planned, started (expected quantities snapshot), counted, applied."""

    class Scope(models.TextChoices):
        WAREHOUSE = "warehouse", _("Whole warehouse")
        ZONE = "zone", _("One zone")
        ABC = "abc", _("One ABC class")

    class Status(models.TextChoices):
        PLANNED = "planned", pgettext_lazy("stock count status", "Planned")
        COUNTING = "counting", pgettext_lazy("stock count status", "Counting")
        APPLIED = "applied", pgettext_lazy("stock count status", "Applied")
        CANCELLED = "cancelled", pgettext_lazy("stock count status", "Cancelled")

    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("warehouse"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    scope = models.CharField(
        _("scope"), max_length=16, choices=Scope.choices, default=Scope.WAREHOUSE
    )
    zone = models.CharField(
        _("zone"),
        max_length=16,
        choices=Zone.choices,
        blank=True,
        help_text=_("Counts the SKUs whose default bin is in this zone."),
    )
    abc_class = models.CharField(_("ABC class"), max_length=1, choices=AbcClass.choices, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.PLANNED,
        db_index=True,
        editable=False,
    )
    planned_for = models.DateField(_("planned for"))
    is_cycle_count = models.BooleanField(
        _("cycle count"),
        default=False,
        editable=False,
        help_text=_("Planned by the cycle-count schedule of its ABC class."),
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = _user(_("created by"))
    started_at = models.DateTimeField(_("snapshot taken at"), null=True, blank=True, editable=False)
    started_by = _user(_("started by"))
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True, editable=False)
    applied_by = _user(_("applied by"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    cancelled_by = _user(_("cancelled by"))
    cancel_reason = models.TextField(_("cancel reason"), blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("stock count")
        verbose_name_plural = _("stock counts")
        ordering = ["-id"]
        permissions = [("apply_stockcount", _("Can apply stock counts (count corrections)"))]
        indexes = [models.Index(fields=["warehouse", "status"], name="stockcount_wh_status")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(scope="zone") | ~Q(zone=""), name="stockcount_zone_scope_has_zone"
            ),
            models.CheckConstraint(
                condition=~Q(scope="abc") | ~Q(abc_class=""),
                name="stockcount_abc_scope_has_class",
            ),
            # One open count per ABC class and warehouse: the cycle-count job never
            # piles a second one on a count that is still waiting or being counted.
            models.UniqueConstraint(
                fields=["warehouse", "abc_class"],
                condition=Q(scope="abc", status__in=["planned", "counting"]),
                name="stockcount_one_open_per_class",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"CNT-{self.pk:06d}" if self.pk else "CNT-(new)"

    @property
    def scope_label(self) -> str:
        if self.scope == self.Scope.ZONE:
            return f"{self.get_scope_display()}: {self.get_zone_display()}"
        if self.scope == self.Scope.ABC:
            return f"{self.get_scope_display()}: {self.abc_class}"
        return str(self.get_scope_display())


class StockCountLine(models.Model):
    """One stock row of a count: expected at the snapshot, counted, why they differ.

    ``ledger_position`` is the last movement of the row when the snapshot was
    taken: movements after it happened while counting and are kept when the
    count is applied (the correction is counted − expected, added to the level).
    """

    count = models.ForeignKey(
        StockCount, verbose_name=_("stock count"), related_name="lines", on_delete=models.CASCADE
    )
    line_number = models.PositiveIntegerField(_("line"), editable=False)
    stock = models.ForeignKey(
        "inventory.Stock",
        verbose_name=_("stock"),
        related_name="+",
        on_delete=models.PROTECT,
        editable=False,
    )
    expected = models.IntegerField(_("expected"), editable=False)
    ledger_position = models.BigIntegerField(
        _("last movement at snapshot"), default=0, editable=False
    )
    unit_cost = models.DecimalField(
        _("unit cost"), max_digits=12, decimal_places=2, null=True, blank=True, editable=False
    )
    counted = models.IntegerField(_("counted"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True, editable=False)
    counted_by = _user(_("counted by"))
    movement = models.ForeignKey(
        "inventory.Movement",
        verbose_name=_("correction"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
        editable=False,
    )

    class Meta:
        verbose_name = _("stock count line")
        verbose_name_plural = _("stock count lines")
        ordering = ["count_id", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["count", "line_number"], name="stockcountline_unique_number"
            ),
            models.UniqueConstraint(fields=["count", "stock"], name="stockcountline_unique_stock"),
            models.CheckConstraint(
                condition=Q(counted__isnull=True) | Q(counted__gte=0),
                name="stockcountline_counted_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """What the stock ledger calls this line: ``CNT-000012/L3``."""
        return f"CNT-{self.count_id:06d}/L{self.line_number}"

    @property
    def difference(self) -> int | None:
        return None if self.counted is None else self.counted - self.expected


class DiscrepancyReason(models.TextChoices):
    SHORT = "short", _("Short (fewer units arrived)")
    OVER = "over", _("Over (more units arrived)")
    DAMAGED = "damaged", _("Damaged in transit")
    WRONG_ITEM = "wrong_item", _("Wrong item")
    OTHER = "other", _("Other")


class Transfer(models.Model):
    """Stock moving between two warehouses: draft → in transit → received (or cancelled).

    Units in transit left the source's on hand when dispatched and reach the
    destination's when received: while on the road they are available nowhere.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("transfer status", "Draft")
        IN_TRANSIT = "in_transit", pgettext_lazy("transfer status", "In transit")
        RECEIVED = "received", pgettext_lazy("transfer status", "Received")
        CANCELLED = "cancelled", pgettext_lazy("transfer status", "Cancelled")

    source = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("from warehouse"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    destination = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("to warehouse"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.DRAFT,
        db_index=True,
        editable=False,
    )
    note = models.TextField(_("note"), blank=True)
    carrier_reference = models.CharField(_("carrier / tracking"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = _user(_("created by"))
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True, editable=False)
    dispatched_by = _user(_("dispatched by"))
    received_at = models.DateTimeField(_("received at"), null=True, blank=True, editable=False)
    received_by = _user(_("received by"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True, editable=False)
    cancelled_by = _user(_("cancelled by"))
    cancel_reason = models.TextField(_("cancel reason"), blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["source", "status"], name="transfer_source_status"),
            models.Index(fields=["destination", "status"], name="transfer_dest_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=models.F("destination")), name="transfer_two_warehouses"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"TR-{self.pk:06d}" if self.pk else "TR-(new)"


class TransferLine(models.Model):
    """Units of one SKU sent, how many arrived, and why they differ."""

    transfer = models.ForeignKey(
        Transfer, verbose_name=_("transfer"), related_name="lines", on_delete=models.CASCADE
    )
    line_number = models.PositiveSmallIntegerField(_("line"), editable=False)
    variant = models.ForeignKey(
        "catalog.Variant", verbose_name=_("SKU"), related_name="+", on_delete=models.PROTECT
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    received_quantity = models.PositiveIntegerField(
        _("received"), null=True, blank=True, editable=False
    )
    discrepancy_reason = models.CharField(
        _("discrepancy"), max_length=16, choices=DiscrepancyReason.choices, blank=True
    )
    discrepancy_note = models.CharField(_("discrepancy note"), max_length=255, blank=True)
    out_movement = models.ForeignKey(
        "inventory.Movement",
        verbose_name=_("dispatch movement"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
        editable=False,
    )
    in_movement = models.ForeignKey(
        "inventory.Movement",
        verbose_name=_("receipt movement"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.PROTECT,
        editable=False,
    )

    class Meta:
        verbose_name = _("transfer line")
        verbose_name_plural = _("transfer lines")
        ordering = ["transfer_id", "line_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["transfer", "line_number"], name="transferline_unique_number"
            ),
            models.UniqueConstraint(fields=["transfer", "variant"], name="transferline_unique_sku"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="transferline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """What the stock ledger calls this line: ``TR-000012/L1``."""
        return f"TR-{self.transfer_id:06d}/L{self.line_number}"

    @property
    def difference(self) -> int | None:
        return None if self.received_quantity is None else self.received_quantity - self.quantity
