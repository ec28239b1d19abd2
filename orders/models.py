"""Orders and their lines. Intake doors, picking and returns come with the orders work."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Order(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        ALLOCATED = "allocated", _("Allocated")
        SHIPPED = "shipped", _("Shipped")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        STOREFRONT = "storefront", _("Storefront")
        MARKETPLACE = "marketplace", _("Marketplace")
        MANUAL = "manual", _("Manual")

    class Priority(models.TextChoices):
        NORMAL = "normal", _("Normal")
        URGENT = "urgent", _("Urgent")
        PRESALE = "presale", _("Pre-sale")

    number = models.CharField(_("number"), max_length=40, unique=True)
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.MANUAL
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.RECEIVED,
        db_index=True,
        editable=False,
    )
    priority = models.CharField(
        _("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    customer_name = models.CharField(_("customer"), max_length=200)
    customer_email = models.EmailField(_("customer e-mail"), blank=True)
    shipping_address = models.TextField(_("shipping address"), blank=True)
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("ships from"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
    )
    created_at = models.DateTimeField(_("placed at"), auto_now_add=True, db_index=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(
        Order, verbose_name=_("order"), related_name="lines", on_delete=models.CASCADE
    )
    variant = models.ForeignKey(
        "catalog.Variant", verbose_name=_("SKU"), related_name="+", on_delete=models.PROTECT
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(
        _("discount"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="orderline_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.quantity} × {self.variant_id}"

    @property
    def reference(self) -> str:
        """The allocation reference of this line in the stock ledger."""
        return f"order-line:{self.pk}"

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount
