"""Catalog: categories, tags, products (listings) and their variants (SKUs)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

PATH_SEPARATOR = " > "


class Category(models.Model):
    """A node of the category tree; ``path`` is the full "Clothing > Tshirts" name."""

    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        related_name="children",
        on_delete=models.PROTECT,
    )
    path = models.CharField(_("path"), max_length=1000, unique=True, editable=False)
    description = models.TextField(_("description"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="category_unique_name_under_parent"
            ),
            models.UniqueConstraint(
                fields=["name"], condition=Q(parent=None), name="category_unique_root_name"
            ),
        ]

    def __str__(self) -> str:
        return self.path or self.name

    def save(self, *args, **kwargs) -> None:
        # Only this row: descendants' paths are rewritten by catalog.services.
        self.path = self.build_path()
        super().save(*args, **kwargs)

    def build_path(self) -> str:
        if self.parent_id is None:
            return self.name
        return f"{self.parent.build_path()}{PATH_SEPARATOR}{self.name}"

    def clean(self) -> None:
        if PATH_SEPARATOR.strip() in self.name:
            raise ValidationError({"name": _("A category name cannot contain '>'.")})
        node = self.parent
        while node is not None:
            if self.pk is not None and node.pk == self.pk:
                raise ValidationError({"parent": _("A category cannot be its own ancestor.")})
            node = node.parent


class Tag(models.Model):
    """A label or an attribute value (brand, material, colour…) used to find products."""

    class Kind(models.TextChoices):
        LABEL = "label", _("Label")
        BRAND = "brand", _("Brand")
        MATERIAL = "material", _("Material")
        COLOUR = "colour", _("Colour")
        STYLE = "style", _("Style")
        SEASON = "season", _("Season")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.LABEL)
    name = models.CharField(_("name"), max_length=80)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="tag_unique_kind_name")
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.LABEL:
            return self.name
        return f"{self.get_kind_display()}: {self.name}"


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ON_SALE = "on_sale", _("On sale")
    SOLD_OUT = "sold_out", _("Sold out")
    DELISTED = "delisted", _("Delisted")


# Statuses in which a product's stock counts as sellable.
SELLABLE_STATUSES = (ListingStatus.ON_SALE, ListingStatus.SOLD_OUT)


class DelistReason(models.TextChoices):
    SEASONAL = "seasonal", _("Seasonal")
    OUT_OF_STOCK = "out_of_stock", _("Out of stock")
    OBSOLETE = "obsolete", _("Obsolete")
    QUALITY = "quality", _("Quality problem")
    COMPLIANCE = "compliance", _("Compliance")
    SUPPLIER_DISCONTINUED = "supplier_discontinued", _("Supplier discontinued")
    OTHER = "other", _("Other")


class Product(models.Model):
    """A listing: what the shop shows; its variants are what the warehouse stocks."""

    title = models.CharField(_("title"), max_length=255)
    handle = models.SlugField(_("handle"), max_length=255, unique=True, allow_unicode=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        related_name="products",
        on_delete=models.PROTECT,
        db_index=False,  # product_category_status serves it
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="products")
    short_description = models.TextField(_("short description"), blank=True)
    description = models.TextField(_("description"), blank=True)
    option1_name = models.CharField(_("option 1 name"), max_length=40, blank=True)
    option2_name = models.CharField(_("option 2 name"), max_length=40, blank=True)
    option3_name = models.CharField(_("option 3 name"), max_length=40, blank=True)
    status = models.CharField(
        _("listing status"),
        max_length=16,
        choices=ListingStatus.choices,
        default=ListingStatus.DRAFT,
        editable=False,
    )
    delist_reason = models.CharField(
        _("delist reason"), max_length=32, choices=DelistReason.choices, blank=True, editable=False
    )
    delist_note = models.TextField(_("delist note"), blank=True, editable=False)
    delisted_at = models.DateTimeField(_("delisted at"), null=True, blank=True, editable=False)
    delisted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("delisted by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
        editable=False,
        db_index=False,  # never looked up; written by every bulk delist
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # The history is read per object (by id): the copied columns need no index of
    # their own, and each one would be written on every bulk change. Who made a
    # change is kept as the user's id without a foreign key: no check per history
    # row written (an import of 100,000 rows writes 130,000 of them), and the
    # record keeps the id when the user is deleted instead of losing it.
    history = HistoricalRecords(
        excluded_fields=["updated_at"],
        no_db_index=["handle", "category", "delisted_by"],
        user_db_constraint=False,
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-id"]
        # Every index is written again by a status change (status is indexed, so it
        # is never a HOT update): no LIKE twin for status, no category index beside
        # the (category, status) one.
        indexes = [
            models.Index(fields=["status"], name="product_status"),
            models.Index(fields=["category", "status"], name="product_category_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ListingStatus.DELISTED) | ~Q(delist_reason=""),
                name="product_delisted_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_sellable(self) -> bool:
        return self.status in SELLABLE_STATUSES


class Variant(models.Model):
    """A SKU: one sellable, stockable version of a product (size, colour…)."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), related_name="variants", on_delete=models.CASCADE
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    # Unique by a constraint, not unique=True: barcodes are looked up whole, and
    # unique=True would add a second (LIKE) index that every new SKU writes.
    barcode = models.CharField(_("barcode"), max_length=64, null=True, blank=True)
    option1 = models.CharField(_("option 1"), max_length=80, blank=True)
    option2 = models.CharField(_("option 2"), max_length=80, blank=True)
    option3 = models.CharField(_("option 3"), max_length=80, blank=True)
    price = models.DecimalField(
        _("price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    compare_at_price = models.DecimalField(
        _("compare-at price"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    cost = models.DecimalField(
        _("cost"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    weight_grams = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)
    allow_backorder = models.BooleanField(
        _("allow backorders"),
        default=False,
        editable=False,
        help_text=_("Changed with the variant actions, which keep every stock row in step."),
    )
    track_lots = models.BooleanField(
        _("lot tracking"),
        default=False,
        editable=False,
        help_text=_(
            "Stock is kept per lot with its expiry date. Switched with the variant actions, "
            "only while the SKU has no stock."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords(  # see Product
        no_db_index=["sku", "barcode", "product"], user_db_constraint=False
    )

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["product_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["barcode"], name="variant_unique_barcode"),
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
            models.CheckConstraint(
                condition=Q(cost__isnull=True) | Q(cost__gte=0), name="variant_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(compare_at_price__isnull=True) | Q(compare_at_price__gte=0),
                name="variant_compare_at_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.sku

    @property
    def options_label(self) -> str:
        return " / ".join(o for o in (self.option1, self.option2, self.option3) if o)

    def clean(self) -> None:
        if self.sku:
            self.sku = self.sku.strip()
        if self.barcode is not None:
            self.barcode = self.barcode.strip() or None


class ProductImage(models.Model):
    """An image of a product: an uploaded file or an external URL."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), related_name="images", on_delete=models.CASCADE
    )
    image = models.ImageField(_("file"), upload_to="products/%Y/%m/", blank=True)
    url = models.URLField(_("URL"), max_length=1000, blank=True)
    alt_text = models.CharField(_("alternative text"), max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    history = HistoricalRecords(user_db_constraint=False)  # see Product

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["product_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(image="") | ~Q(url=""), name="product_image_has_file_or_url"
            )
        ]

    def __str__(self) -> str:
        return self.url or (self.image.name if self.image else "")

    def clean(self) -> None:
        if not self.image and not self.url:
            raise ValidationError(_("Give an image file or an image URL."))

    @property
    def src(self) -> str:
        return self.image.url if self.image else self.url


class ListingEvent(models.Model):
    """What happened to a listing, written in the same transaction as the change.

    Delisting records its snapshot here (F-04 step 8: stock and recent sales at
    the moment of delisting). The notification jobs (F-04 steps 4–6, back-in-
    stock watchers) read the rows whose ``dispatched_at`` is still empty.
    """

    class Kind(models.TextChoices):
        DELISTED = "delisted", _("Delisted")
        RELISTED = "relisted", _("Relisted")
        SOLD_OUT = "sold_out", _("Sold out")
        BACK_IN_STOCK = "back_in_stock", _("Back in stock")
        DISPOSITION = "disposition", _("Stock disposition")

    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        related_name="listing_events",
        on_delete=models.CASCADE,
        db_index=False,  # listingevent_product_kind serves it
    )
    kind = models.CharField(_("event"), max_length=16, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    note = models.TextField(_("note"), blank=True)
    on_hand = models.IntegerField(_("on hand at the time"), default=0)
    available = models.IntegerField(_("available at the time"), default=0)
    units_sold_30d = models.IntegerField(_("units shipped in the 30 days before"), default=0)
    batch = models.UUIDField(_("batch"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("at"), db_index=True)
    dispatched_at = models.DateTimeField(_("notifications dispatched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("listing event")
        verbose_name_plural = _("listing events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "kind"], name="listingevent_product_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.product_id}"


class StockWatch(models.Model):
    """A customer who asked to hear when a product is back (a back-in-stock watcher).

    Told by e-mail when the product is delisted, and when it is back on sale
    (relisted or restocked); the second message fulfils the watch.
    """

    product = models.ForeignKey(
        Product, verbose_name=_("product"), related_name="watches", on_delete=models.CASCADE
    )
    email = models.EmailField(_("e-mail"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    notified_at = models.DateTimeField(_("told it is back at"), null=True, blank=True)

    class Meta:
        verbose_name = _("back-in-stock watcher")
        verbose_name_plural = _("back-in-stock watchers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "email"],
                condition=models.Q(notified_at__isnull=True),
                name="stockwatch_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.product_id}"


# --- Listing compliance (F-40): written by catalog.compliance -----------------------------


class BannedWord(models.Model):
    """A word that must not appear in a product's title or description (any case)."""

    word = models.CharField(_("word"), max_length=100, unique=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("banned word")
        verbose_name_plural = _("banned words")
        ordering = ["word"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(word="") & ~Q(word__startswith=" ") & ~Q(word__endswith=" "),
                name="bannedword_not_blank",
            )
        ]

    def __str__(self) -> str:
        return self.word


class ComplianceFlag(models.Model):
    """A reason a product breaks the listing rules; open until a check finds it fixed."""

    class Code(models.TextChoices):
        MISSING_TITLE = "missing_title", _("Missing title")
        MISSING_DESCRIPTION = "missing_description", _("Missing description")
        MISSING_IMAGE = "missing_image", _("Missing image")
        MISSING_PRICE = "missing_price", _("Missing price")
        MISSING_CATEGORY = "missing_category", _("Missing category")
        PRICE_BELOW_COST = "price_below_cost", _("Price below cost")
        COMPARE_AT_BELOW_PRICE = "compare_at_below_price", _("Compare-at price below price")
        BANNED_WORD = "banned_word", _("Banned word")

    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        related_name="compliance_flags",
        on_delete=models.CASCADE,
    )
    code = models.CharField(_("reason"), max_length=32, choices=Code.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    found_at = models.DateTimeField(_("found at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("compliance flag")
        verbose_name_plural = _("compliance flags")
        ordering = ["-found_at", "-id"]
        permissions = [("run_compliance_check", _("Can run the compliance check now"))]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "code"],
                condition=Q(resolved_at__isnull=True),
                name="complianceflag_one_open_per_code",
            )
        ]
        indexes = [models.Index(fields=["code", "resolved_at"], name="complianceflag_code_open")]

    def __str__(self) -> str:
        return f"{self.get_code_display()} · {self.product_id}"


class FlaggedProduct(Product):
    """Products with open compliance flags, as the compliance list shows them."""

    class Meta:
        proxy = True
        verbose_name = _("flagged product")
        verbose_name_plural = _("flagged products")
