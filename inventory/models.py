"""Inventory: warehouses, bins, stock levels, allocations and the movement ledger.

Levels (``Stock.on_hand``, ``Stock.allocated``) are written only by
``inventory.services``, which writes the matching ``Movement`` in the same
transaction. For a lot-tracked SKU (``Variant.track_lots``) the levels are
also kept per lot (``LotStock``), each movement names its lot, and each
allocation records the lots it took (``AllocationLot``).

The ledger is append-only: ``Movement`` refuses updates and deletes through
the ORM.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from backoffice.errors import DomainError


class Warehouse(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    address = models.TextField(_("address"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Zone(models.TextChoices):
    STORAGE = "storage", _("Storage")
    PICKING = "picking", _("Picking")
    PACKING = "packing", _("Packing")
    SHIPPING = "shipping", _("Shipping")


class Location(models.Model):
    """A bin location inside a warehouse zone, e.g. ``A-01-03``."""

    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("warehouse"), related_name="locations", on_delete=models.PROTECT
    )
    zone = models.CharField(_("zone"), max_length=16, choices=Zone.choices, default=Zone.STORAGE)
    code = models.CharField(_("bin"), max_length=40)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bin location")
        verbose_name_plural = _("bin locations")
        ordering = ["warehouse_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "code"], name="location_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.warehouse.code}/{self.code}"


class Stock(models.Model):
    """The level of one SKU in one warehouse."""

    # No index of its own: stock_unique_sku_warehouse (variant, warehouse) serves it.
    variant = models.ForeignKey(
        "catalog.Variant",
        verbose_name=_("SKU"),
        related_name="stocks",
        on_delete=models.PROTECT,
        db_index=False,
    )
    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("warehouse"), related_name="stocks", on_delete=models.PROTECT
    )
    on_hand = models.IntegerField(_("on hand"), default=0, editable=False)
    allocated = models.IntegerField(_("allocated"), default=0, editable=False)
    # A copy of Variant.allow_backorder, so that the CHECK below can see it;
    # inventory.services.set_backorders keeps both in step.
    backorders_allowed = models.BooleanField(_("backorders allowed"), default=False, editable=False)
    safety_stock = models.PositiveIntegerField(_("safety stock"), default=0)
    reorder_point = models.PositiveIntegerField(_("reorder point"), default=0)
    max_level = models.PositiveIntegerField(_("maximum level"), null=True, blank=True)
    default_location = models.ForeignKey(
        Location,
        verbose_name=_("default bin"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        db_index=False,  # the partial index below: most rows have no default bin
    )
    # Read per object (by id), like the product history: no index per copied column.
    history = HistoricalRecords(
        excluded_fields=["on_hand", "allocated"],
        no_db_index=["variant", "warehouse", "default_location"],
        user_db_constraint=False,  # see catalog.Product
    )

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        ordering = ["variant_id", "warehouse_id"]
        indexes = [
            models.Index(
                fields=["default_location"],
                name="stock_default_location",
                condition=Q(default_location__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "warehouse"], name="stock_unique_sku_warehouse"
            ),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(
                condition=Q(allocated__gte=0), name="stock_allocated_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(allocated__lte=F("on_hand")) | Q(backorders_allowed=True),
                name="stock_allocated_within_on_hand",
            ),
            models.CheckConstraint(
                condition=Q(max_level__isnull=True) | Q(max_level__gte=F("reorder_point")),
                name="stock_max_level_above_reorder_point",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant} @ {self.warehouse.code}"

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class Lot(models.Model):
    """A batch of one lot-tracked SKU (``Variant.track_lots``): its code and expiry date (F-14).

    A lot belongs to the SKU, not to a warehouse: the same batch may sit in
    several warehouses, and ``LotStock`` holds how much of it each stock row
    has. Lots are created by receipts; picking takes the earliest expiry first.
    """

    variant = models.ForeignKey(
        "catalog.Variant", verbose_name=_("SKU"), related_name="lots", on_delete=models.PROTECT
    )
    code = models.CharField(_("lot"), max_length=64)
    expiry = models.DateField(_("expiry date"), null=True, blank=True)
    received_at = models.DateTimeField(_("first received"))

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        ordering = [F("expiry").asc(nulls_last=True), "received_at", "id"]
        constraints = [models.UniqueConstraint(fields=["variant", "code"], name="lot_unique_code")]
        indexes = [models.Index(fields=["expiry"], name="lot_expiry")]

    def __str__(self) -> str:
        return f"{self.code} ({self.expiry:%Y-%m-%d})" if self.expiry else self.code


class LotStock(models.Model):
    """The units of one lot in one stock row. Written only by ``inventory.services``.

    Invariant: for a lot-tracked SKU, Sum(on_hand) and Sum(allocated) over a
    stock row's lots equal the row's own levels (the stock audit checks it).
    """

    stock = models.ForeignKey(
        Stock, verbose_name=_("stock"), related_name="lot_stocks", on_delete=models.PROTECT
    )
    lot = models.ForeignKey(
        Lot, verbose_name=_("lot"), related_name="lot_stocks", on_delete=models.PROTECT
    )
    on_hand = models.IntegerField(_("on hand"), default=0, editable=False)
    allocated = models.IntegerField(_("allocated"), default=0, editable=False)

    class Meta:
        verbose_name = _("lot stock")
        verbose_name_plural = _("lot stock")
        ordering = ["stock_id", "lot_id"]
        constraints = [
            models.UniqueConstraint(fields=["stock", "lot"], name="lotstock_unique_lot"),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="lotstock_on_hand_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(allocated__gte=0), name="lotstock_allocated_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(allocated__lte=F("on_hand")), name="lotstock_allocated_within_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lot.code} @ {self.stock_id}: {self.on_hand}"

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    SHIPMENT = "shipment", _("Shipment")
    RETURN = "return", _("Customer return")
    ADJUSTMENT = "adjustment", _("Adjustment")
    COUNT = "count", _("Count correction")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    DISPOSAL = "disposal", _("Disposal (scrap/recycle)")
    DONATION = "donation", _("Donation")
    RETURN_TO_SUPPLIER = "return_to_supplier", _("Return to supplier")


class ImmutableLedger(DomainError):
    """Someone tried to change or delete a ledger row."""


LEDGER_IS_APPEND_ONLY = _(
    "The stock ledger is append-only: a movement cannot be changed or deleted. "
    "Correct it with a new adjustment."
)


class MovementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableLedger(LEDGER_IS_APPEND_ONLY)

    def delete(self):
        raise ImmutableLedger(LEDGER_IS_APPEND_ONLY)

    def bulk_update(self, *args, **kwargs):
        raise ImmutableLedger(LEDGER_IS_APPEND_ONLY)


class Movement(models.Model):
    """One immutable line of the stock ledger. Sum(quantity) per stock == on hand."""

    stock = models.ForeignKey(
        Stock,
        verbose_name=_("stock"),
        related_name="movements",
        on_delete=models.PROTECT,
        db_index=False,  # movement_stock_id (stock, id) serves it
    )
    kind = models.CharField(_("kind"), max_length=24, choices=MovementKind.choices)
    quantity = models.IntegerField(_("quantity"))
    on_hand_after = models.IntegerField(_("on hand after"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    # The lot moved, for every movement of a lot-tracked SKU (one movement per lot).
    lot = models.ForeignKey(
        Lot,
        verbose_name=_("lot"),
        null=True,
        blank=True,
        related_name="movements",
        on_delete=models.PROTECT,
        db_index=False,  # movement_lot: the movements that have one
    )
    batch = models.UUIDField(_("operation"), null=True, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("at"), db_index=True)

    objects = MovementQuerySet.as_manager()

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-id"]
        # Every movement writes each of these: references are looked up whole (no
        # LIKE twin), and most movements have no lot (a partial index).
        indexes = [
            models.Index(fields=["stock", "id"], name="movement_stock_id"),
            models.Index(fields=["kind", "created_at"], name="movement_kind_created"),
            models.Index(fields=["reference"], name="movement_reference"),
            models.Index(fields=["lot"], name="movement_lot", condition=Q(lot__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_not_zero"),
            models.CheckConstraint(
                condition=Q(on_hand_after__gte=0), name="movement_on_hand_after_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d} · {self.stock_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ImmutableLedger(LEDGER_IS_APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableLedger(LEDGER_IS_APPEND_ONLY)


class Allocation(models.Model):
    """Units of one stock row reserved for a reference (an order line).

    ``quantity`` is what is still reserved; releasing or shipping lowers it.
    Invariant: ``Stock.allocated`` == Sum(Allocation.quantity) of the stock.
    """

    stock = models.ForeignKey(
        Stock,
        verbose_name=_("stock"),
        related_name="allocations",
        on_delete=models.PROTECT,
        db_index=False,  # allocation_unique_reference (stock, reference) serves it
    )
    reference = models.CharField(_("reference"), max_length=120)
    quantity = models.IntegerField(_("still allocated"))
    allocated_quantity = models.IntegerField(_("allocated"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["stock", "reference"], name="allocation_unique_reference"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="allocation_not_negative"),
            models.CheckConstraint(
                condition=Q(quantity__lte=F("allocated_quantity")),
                name="allocation_within_allocated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.quantity}"


class AllocationLot(models.Model):
    """The lots an allocation of a lot-tracked SKU took, so that shipping and releasing hit them.

    Invariant: Sum(quantity) of an allocation's lots == ``Allocation.quantity``,
    and Sum(quantity) per lot stock == ``LotStock.allocated``.
    """

    allocation = models.ForeignKey(
        Allocation, verbose_name=_("allocation"), related_name="lots", on_delete=models.CASCADE
    )
    lot_stock = models.ForeignKey(
        LotStock, verbose_name=_("lot"), related_name="allocations", on_delete=models.PROTECT
    )
    quantity = models.IntegerField(_("still allocated"))
    allocated_quantity = models.IntegerField(_("allocated"))

    class Meta:
        verbose_name = _("allocated lot")
        verbose_name_plural = _("allocated lots")
        ordering = ["allocation_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "lot_stock"], name="allocationlot_unique_lot"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="allocationlot_not_negative"),
            models.CheckConstraint(
                condition=Q(quantity__lte=F("allocated_quantity")),
                name="allocationlot_within_allocated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.allocation_id} · {self.lot_stock_id}: {self.quantity}"


class StockAuditRun(models.Model):
    """One run of the stock audit (F-18): what was checked and how many problems it found."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    stock_rows = models.PositiveIntegerField(_("stock rows checked"), default=0)
    movements = models.PositiveBigIntegerField(_("movements summed"), default=0)
    findings_count = models.PositiveIntegerField(_("findings"), default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )

    class Meta:
        verbose_name = _("stock audit")
        verbose_name_plural = _("stock audits")
        ordering = ["-started_at"]
        permissions = [("run_stock_audit", _("Can run the stock audit now"))]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} · {self.findings_count}"


class StockAuditFinding(models.Model):
    """One problem found by an audit: the figure expected and the one stored."""

    class Kind(models.TextChoices):
        LEDGER_MISMATCH = "ledger_mismatch", _("On hand differs from the ledger")
        NEGATIVE = "negative", _("Negative level")
        OVER_ALLOCATED = "over_allocated", _("Allocated above on hand")
        ALLOCATION_MISMATCH = "allocation_mismatch", _("Allocated differs from allocations")
        STALE_ALLOCATION = "stale_allocation", _("Stale allocation")
        LOT_MISMATCH = "lot_mismatch", _("Lots differ from the stock level")

    run = models.ForeignKey(
        StockAuditRun, verbose_name=_("audit"), related_name="findings", on_delete=models.CASCADE
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    stock = models.ForeignKey(
        Stock, verbose_name=_("stock"), related_name="+", on_delete=models.CASCADE
    )
    allocation = models.ForeignKey(
        Allocation,
        verbose_name=_("allocation"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.CASCADE,
    )
    expected = models.BigIntegerField(_("expected"))
    actual = models.BigIntegerField(_("stored"))

    class Meta:
        verbose_name = _("audit finding")
        verbose_name_plural = _("audit findings")
        ordering = ["run", "kind", "stock"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.stock_id}"


class StockAlert(models.Model):
    """A stock row that needs attention (F-15); open until the condition clears.

    The alert job opens an alert when a condition starts to hold and closes it
    (``resolved_at``) when it no longer does, so the list shows what is wrong
    now and since when.
    """

    class Kind(models.TextChoices):
        LOW_STOCK = "low_stock", _("Low stock")
        OUT_OF_STOCK = "out_of_stock", _("Out of stock")
        OVERSTOCK = "overstock", _("Overstock")
        SLOW_MOVER = "slow_mover", _("Slow mover")
        EXPIRING = "expiring", _("Expiring lot")

    stock = models.ForeignKey(
        Stock, verbose_name=_("stock"), related_name="alerts", on_delete=models.CASCADE
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    on_hand = models.IntegerField(_("on hand"), default=0)
    available = models.IntegerField(_("available"), default=0)
    threshold = models.IntegerField(_("threshold"), null=True, blank=True)
    opened_at = models.DateTimeField(_("since"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("stock alert")
        verbose_name_plural = _("stock alerts")
        permissions = [("refresh_stock_alerts", _("Can refresh the stock alerts now"))]
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["stock", "kind"],
                condition=Q(resolved_at__isnull=True),
                name="stockalert_one_open_per_kind",
            )
        ]
        indexes = [models.Index(fields=["kind", "resolved_at"], name="stockalert_kind_open")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.stock_id}"
