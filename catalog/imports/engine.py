"""The writer the catalog importers share: product records in, set-based writes out.

An importer reads its sheet into ``ProductIn`` records (a product and the
``VariantIn`` of its SKUs, each with the spreadsheet row it came from) and
hands them to ``CatalogWriter.add``. Every few thousand rows the writer checks
the chunk against the database — one query each for the products, SKUs,
barcodes, tags, tag links and images it names — and writes it:

- new products, variants, tags and images with their "created" history rows
  (``rows.create_rows``: COPY on PostgreSQL, with keys reserved ahead in the
  query that tops up ``rows.KeyPool`` during the lookups; ``bulk_create``
  elsewhere);
- changed products and variants with one ``UPDATE … FROM (VALUES …)`` per
  table (``update_rows``), history likewise; a backorder switch through
  ``inventory.services.set_backorders`` (it keeps the stock rows in step);
- stock cells through ``inventory.services.stock_import`` (mode "set"): one
  adjustment movement per changed level, reason "import", reference
  "<run>/row <n>". The SKUs the chunk creates are handed over as such: no
  lookup, no savepoint, only the COPY of stock rows and movements.

A chunk is looked up as soon as it is read, then the chunk before it is
written, then it is planned (``flush``). After each write the database checks
the foreign keys of the rows written (deferred until COMMIT otherwise) while
Python plans the next chunk, writes the report and builds the rows of the chunk
it planned: ``backoffice.db.ChecksInBackground``. Those rows' COPYs are held until
the checks are done, then sent; each COPY's result is read only when the
connection is next used (``backoffice.db.LateCopyResults``), and the importer
reads the next rows of the sheet while it waits for one. A writer is used as a
context manager, so that the last result is read and the connection leaves
pipeline mode whatever happens.

What a sheet gives replaces what is stored; a column that is not in the sheet
(a key missing from ``values``, ``tags``/``images``/``category`` None) leaves
the stored value alone. A row equal to what is stored is "unchanged" and
writes nothing: no history row, no movement.

Listing status: a sheet's status applies only when a product is created. It
starts as a draft, or on sale — "sold out" instead when none of its active
SKUs gets stock from the sheet or allows backorders, exactly as
``listing_refresh_sold_out`` would set it ("sold out" and "on sale" are the
same wish: the stock decides). "Delisted" needs a reason, so such a product is
created as a draft (reported). A new listing has no history to record, so no
listing event is written for it (events mark changes of a listing: delisted,
relisted, sold out, back in stock). The status of an existing product is never
changed by an import — publish, delist and relist are the product list's
actions, through ``catalog.services`` — and a sheet that asks for another
status gets a note on the row and a warning.

Variants of a product that a sheet does not list are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backoffice.db import (
    ChecksInBackground,
    LateCopyResults,
    copy_rows,
    record_history,
    update_rows,
)
from backoffice.errors import DomainError
from backoffice.spreadsheets.base import Report
from inventory.models import Stock, Warehouse
from inventory.services import set_backorders, stock_import

from ..models import (
    PATH_SEPARATOR,
    SELLABLE_STATUSES,
    Category,
    ListingStatus,
    Product,
    ProductImage,
    Tag,
    Variant,
)
from .records import ProductIn, VariantIn
from .rows import KeyPool, NewRow, assign_ids, create_rows

CHUNK_ROWS = 5000
# The first chunk is small and each next one twice the size, up to CHUNK_ROWS: the
# database starts on a sheet after a few hundred rows instead of waiting, idle, for
# a whole chunk to be read (bench/ B4: 7.05 -> 6.92 s, seven alternating pairs).
FIRST_CHUNK_ROWS = 500

PRODUCT_FIELDS = (
    "title",
    "short_description",
    "description",
    "option1_name",
    "option2_name",
    "option3_name",
)
VARIANT_FIELDS = (
    "option1",
    "option2",
    "option3",
    "price",
    "compare_at_price",
    "cost",
    "barcode",
    "weight_grams",
    "is_active",
)

TITLE_REQUIRED = _("A new product needs a title.")
PRICE_REQUIRED = _("A new SKU needs a price.")
SKU_REQUIRED = _("Every variant row needs a SKU.")
DUPLICATE_SKU = _("SKU %(sku)s is on row %(first)s already: each SKU appears once in a file.")
DUPLICATE_BARCODE = _("Barcode %(barcode)s is on row %(first)s already: barcodes are unique.")
BARCODE_TAKEN = _("Barcode %(barcode)s belongs to SKU %(sku)s.")
SKU_OF_OTHER_PRODUCT = _(
    "SKU %(sku)s belongs to product %(handle)s: an import does not move a SKU to another product."
)
HANDLE_APART = _(
    "The rows of product %(handle)s must be together; it appeared on row %(first)s, before "
    "other products."
)
ROWS_DISAGREE = _(
    "“%(value)s” differs from “%(first)s” on row %(row)s: the rows of one product agree on "
    "%(column)s (or leave it blank after the first row)."
)
UNKNOWN_CATEGORY = _(
    "Unknown category “%(path)s”: create it first, or tick “Create missing categories”."
)
UNKNOWN_WAREHOUSE = _("Unknown warehouse “%(value)s”; the warehouses are %(codes)s.")
STOCK_NEEDS_WAREHOUSE = _("A stock quantity needs a warehouse.")
STATUS_KEPT = _(
    "status stays “%(status)s”: an import does not change the status of an existing product "
    "(publish, delist and relist it in the product list)"
)
DELISTED_ON_CREATE = _(
    "created as a draft: a product is delisted with a reason, in the product list"
)
SOLD_OUT_ON_PUBLISH = _(
    "%(count)s new products are on sale without stock: they are sold out until stock arrives."
)
NOTE_ROWS = _("%(note)s — rows %(rows)s")

ERROR = object()  # a lookup that failed and was reported


@dataclass
class _Found:
    """What a chunk's rows name, as the database has it."""

    products: dict[str, Product] = field(default_factory=dict)  # by handle
    variants: dict[str, Variant] = field(default_factory=dict)  # by SKU
    holders: dict[str, str] = field(default_factory=dict)  # barcode -> SKU
    tag_links: dict[int, set[int]] = field(default_factory=dict)  # product -> tags
    images: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # product -> URLs


@dataclass
class _Plan:
    source: ProductIn
    product: Product
    new: bool
    changed: list[str]
    tag_ids: list[int] | None = None
    images: list[tuple[str, str]] | None = None  # the product's URL images, when they change
    image_rows: list[NewRow] = field(default_factory=list)  # those images, to write
    variants: list[tuple[VariantIn, Variant, bool, list[str]]] = field(default_factory=list)


@dataclass
class _Chunk:
    """A chunk checked and planned, to be written: its plans, and its stock outcomes once
    the stock is written (None before)."""

    products: list[ProductIn]
    plans: list[_Plan] = field(default_factory=list)
    stock: dict[int, Any] | None = None


class CatalogWriter:
    """Checks and writes ``ProductIn`` records a chunk at a time (see the module docstring)."""

    def __init__(
        self,
        *,
        report: Report,
        actor: Any,
        reference: str,
        progress: Callable[[int], None],
        columns: dict[str, str] | None = None,
        create_categories: bool = False,
        chunk_rows: int | None = None,
    ) -> None:
        self.report = report
        self.actor = actor
        self.reference = reference
        self.progress = progress
        self.columns = columns or {}
        self.create_categories = create_categories
        self.chunk_rows = chunk_rows or CHUNK_ROWS
        self._next_chunk = min(FIRST_CHUNK_ROWS, self.chunk_rows)
        self.done = 0
        self._pending: list[ProductIn] = []
        self._pending_rows = 0
        self._handles: dict[str, int] = {}
        self._skus: dict[str, int] = {}
        self._barcodes: dict[str, int] = {}
        self._categories: dict[str, int] | None = None
        self._categories_folded: dict[str, str] = {}
        self._tags: dict[tuple[str, str], int] = {}
        self._warehouses: dict[str, dict] | None = None
        self._notes: dict[str, list[int]] = {}
        self._sold_out = 0
        self.history_reason = f"import {reference}".strip()[:100]
        self._checks = ChecksInBackground()
        self._late = LateCopyResults()
        self._keys = KeyPool()
        self._planned: _Chunk | None = None

    def __enter__(self) -> CatalogWriter:
        self._late.__enter__()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            self._late.__exit__(exc_type, exc, traceback)
        finally:
            self._checks.close(exc)

    # --- what importers call ---------------------------------------------------------------

    def column(self, name: str) -> str:
        return self.columns.get(name, name)

    def error(self, row: int, name: str, message: Any) -> None:
        self.report.error(row, self.column(name), message)

    def note(self, row: int, message: Any) -> None:
        """Something of the row that Stockroom cannot keep: on the row, and in one warning."""
        self._notes.setdefault(str(message), []).append(row)

    def skip(self, row: int, key: str, message: Any) -> None:
        """A row that is not imported (a grouped product…), reported, never silently dropped."""
        self.note(row, message)
        self.report.add(row, "skip", key, str(message))
        self.done += 1

    def warehouse_id(self, value: str, row: int, name: str = "warehouse") -> int | None:
        if self._warehouses is None:
            self._warehouses = {
                w["code"].lower(): w for w in Warehouse.objects.values("pk", "code", "is_active")
            }
        found = self._warehouses.get(value.strip().lower())
        if found is None:
            codes = ", ".join(sorted(w["code"] for w in self._warehouses.values())) or "—"
            self.error(row, name, UNKNOWN_WAREHOUSE % {"value": value, "codes": codes})
            return None
        return found["pk"]

    def add(self, product: ProductIn) -> None:
        first = self._handles.get(product.handle)
        if first is not None:
            self.error(
                product.row, "handle", HANDLE_APART % {"handle": product.handle, "first": first}
            )
            product.bad = True
            self.done += product.row_count
            return  # not checked further: its cells belong with its first rows
        self._handles[product.handle] = product.row
        for variant in list(product.variants):
            first = self._skus.get(variant.sku)
            if first is not None:
                self.error(variant.row, "sku", DUPLICATE_SKU % {"sku": variant.sku, "first": first})
                product.bad = True
                product.variants.remove(variant)  # reported once, not again as another's SKU
                product.rows.append(variant.row)  # counted as done all the same
                continue
            self._skus[variant.sku] = variant.row
            barcode = variant.values.get("barcode")
            if barcode:
                first = self._barcodes.get(barcode)
                if first is not None:
                    self.error(
                        variant.row,
                        "barcode",
                        DUPLICATE_BARCODE % {"barcode": barcode, "first": first},
                    )
                    product.bad = True
                else:
                    self._barcodes[barcode] = variant.row
        self._pending.append(product)
        self._pending_rows += product.row_count
        if self._pending_rows >= self._next_chunk:
            self._next_chunk = min(self._next_chunk * 2, self.chunk_rows)
            self.flush()

    def flush(self) -> None:
        """Look the pending chunk up, write the chunk planned before it, plan this one.

        The rows of the chunk planned before are built while the database still checks
        the keys of the chunk written before that (``ChecksInBackground``): its COPYs
        are held (``LateCopyResults.hold``) and sent once those checks are done. This
        chunk's lookups go to the database before the held COPYs, queued behind the
        checks (they cannot need those rows: a handle, SKU or barcode is in one chunk
        of a file). While the database writes the COPYs, the importer reads the next
        rows (``backoffice.db.while_waiting``); while it checks their keys, this chunk
        is planned — in Python only, in the common case — and the report written.
        """
        products, self._pending, self._pending_rows = self._pending, [], 0
        with self._late.hold(before=self._checks.wait):
            written = self._write_planned()
            with self._late.reads_first():
                found = self._look_up(products) if products else None
        if written is not None:
            self._checks.start()
        if products:
            self._planned = self._plan(products, found)
        if written is not None:
            self._report(
                written.products, {id(p.source): p for p in written.plans}, written.stock or {}
            )
            self.done += sum(p.row_count for p in written.products)
        self.progress(self.done)

    def finish(self) -> None:
        self.flush()
        self.flush()  # writes the chunk planned last
        self._checks.wait()
        for note, rows in self._notes.items():
            shown = ", ".join(str(r) for r in rows[:20]) + (", …" if len(rows) > 20 else "")
            self.report.warn(NOTE_ROWS % {"note": note, "rows": shown})
        if self._sold_out:
            self.report.warn(SOLD_OUT_ON_PUBLISH % {"count": self._sold_out})

    # --- lookups -------------------------------------------------------------------------

    def _category_id(self, path: str, row: int) -> Any:
        if self._categories is None:
            self._categories = dict(Category.objects.values_list("path", "pk"))
            self._categories_folded = {p.casefold(): p for p in self._categories}
        found = self._categories.get(path)
        if found is None and path.casefold() in self._categories_folded:
            found = self._categories[self._categories_folded[path.casefold()]]
        if found is not None:
            return found
        if not self.create_categories:
            self.error(row, "category", UNKNOWN_CATEGORY % {"path": path})
            return ERROR
        parent_id = None
        parts = path.split(PATH_SEPARATOR)
        for depth in range(1, len(parts) + 1):
            sub = PATH_SEPARATOR.join(parts[:depth])
            known = self._categories.get(sub) or self._categories.get(
                self._categories_folded.get(sub.casefold(), "")
            )
            if known is None:
                node = Category(name=parts[depth - 1], parent_id=parent_id)
                node.save()  # builds the path; simple-history records the creation
                known = self._categories[sub] = node.pk
                self._categories_folded[sub.casefold()] = sub
            parent_id = known
        return parent_id

    def _tag_ids(self, keys: set[tuple[str, str]]) -> None:
        wanted = keys - self._tags.keys()
        if not wanted:
            return
        names = {name for _kind, name in wanted}
        for pk, kind, name in Tag.objects.filter(name__any_of=names).values_list(
            "pk", "kind", "name"
        ):
            self._tags[(kind, name)] = pk
        missing = sorted(wanted - self._tags.keys())
        if missing:
            created = Tag.objects.bulk_create([Tag(kind=k, name=n) for k, n in missing])
            record_history(
                Tag,
                [t.pk for t in created],
                actor=self.actor,
                reason=self.history_reason,
                history_type="+",
            )
            for tag in created:
                self._tags[(tag.kind, tag.name)] = tag.pk

    # --- one chunk -----------------------------------------------------------------------

    def _look_up(self, products: list[ProductIn]) -> _Found:
        """What the chunk's rows name, from the database; the keys its new rows may need."""
        found = _Found()
        found.products = {
            p.handle: p for p in Product.objects.filter(handle__any_of=[p.handle for p in products])
        }
        skus = [v.sku for p in products for v in p.variants]
        if skus:
            found.variants = {
                v.sku: v
                for v in Variant.objects.filter(sku__any_of=skus)
                .select_related("product")
                .only(
                    *(f"{name}" for name in VARIANT_FIELDS),
                    "sku",
                    "allow_backorder",
                    "product_id",
                    "product__handle",
                )
            }
        barcodes = [
            v.values["barcode"] for p in products for v in p.variants if v.values.get("barcode")
        ]
        if barcodes:
            found.holders = dict(
                Variant.objects.filter(barcode__any_of=barcodes).values_list("barcode", "sku")
            )
        self._tag_ids({key for p in products if p.tags for key in p.tags})
        old = {found.products[p.handle].pk: p for p in products if p.handle in found.products}
        ids = [pk for pk, p in old.items() if p.tags is not None]
        if ids:
            for product_id, tag_id in Product.tags.through.objects.filter(
                product_id__any_of=ids
            ).values_list("product_id", "tag_id"):
                found.tag_links.setdefault(product_id, set()).add(tag_id)
        ids = [pk for pk, p in old.items() if p.images is not None]
        if ids:
            for product_id, url, alt in (
                ProductImage.objects.filter(product_id__any_of=ids)
                .exclude(url="")
                .order_by("product_id", "position", "pk")
                .values_list("product_id", "url", "alt_text")
            ):
                found.images.setdefault(product_id, []).append((url, alt))
        self._keys.top_up(
            [
                (Product, len(products) - len(old)),
                (Variant, len(skus) - len(found.variants)),
                (ProductImage, sum(len(p.images or ()) for p in products)),
                (Stock, sum(v.stock is not None for p in products for v in p.variants)),
            ]
        )
        return found

    def _plan(self, products: list[ProductIn], found: _Found) -> _Chunk:
        """Check the chunk against what was found; its new rows get their keys."""
        chunk = _Chunk(products)
        for source in products:
            plan = self._check(
                source, found.products.get(source.handle), found.variants, found.holders
            )
            if plan is not None:
                chunk.plans.append(plan)
        if not chunk.plans:
            return chunk
        self._diff_links(chunk.plans, found)
        self._assign_ids(chunk.plans)
        return chunk

    def _write_planned(self) -> _Chunk | None:
        """Write the chunk planned last: its catalog rows, then its stock; returns it."""
        chunk, self._planned = self._planned, None
        if chunk is not None and chunk.plans:
            self._save(chunk.plans)
            chunk.stock = self._stock(chunk.plans)
        return chunk

    def _check(
        self,
        source: ProductIn,
        product: Product | None,
        variants: dict[str, Variant],
        holders: dict[str, str],
    ) -> _Plan | None:
        ok = not source.bad
        category: Any = None
        if source.category:
            category = self._category_id(source.category, source.row)
            ok = ok and category is not ERROR
        if product is None and not source.values.get("title") and "title" not in source.refused:
            self.error(source.row, "title", TITLE_REQUIRED)
            ok = False
        for wanted in source.variants:
            current = variants.get(wanted.sku)
            if current is not None and (product is None or current.product_id != product.pk):
                self.error(
                    wanted.row,
                    "sku",
                    SKU_OF_OTHER_PRODUCT % {"sku": wanted.sku, "handle": current.product.handle},
                )
                ok = False
            elif current is None and wanted.values.get("price") is None:
                self.error(wanted.row, "price", PRICE_REQUIRED)
                ok = False
            barcode = wanted.values.get("barcode")
            if barcode and holders.get(barcode, wanted.sku) != wanted.sku:
                self.error(
                    wanted.row,
                    "barcode",
                    BARCODE_TAKEN % {"barcode": barcode, "sku": holders[barcode]},
                )
                ok = False
        if not ok:
            return None

        new = product is None
        changed: list[str] = []
        category_id = category if source.category else None
        if new:
            product = NewRow(
                handle=source.handle, status=self._initial_status(source), **source.values
            )
            if source.category is not None:
                product.category_id = category_id
        else:
            for name, value in source.values.items():
                if getattr(product, name) != value:
                    setattr(product, name, value)
                    changed.append(name)
            if source.category is not None and product.category_id != category_id:
                product.category_id = category_id
                changed.append("category")
        if not new and source.status is not None:
            wanted_status = _sellable_as_one(source.status)
            if wanted_status != _sellable_as_one(product.status):
                self._row_note(
                    source, source.row, STATUS_KEPT % {"status": product.get_status_display()}
                )
        elif new and source.status == ListingStatus.DELISTED:
            self._row_note(source, source.row, DELISTED_ON_CREATE)
        plan = _Plan(source=source, product=product, new=new, changed=changed)
        for wanted in source.variants:
            current = variants.get(wanted.sku)
            is_new = current is None
            fields = []
            if is_new:
                current = NewRow(
                    sku=wanted.sku, allow_backorder=bool(wanted.allow_backorder), **wanted.values
                )
            else:
                for name, value in wanted.values.items():
                    if getattr(current, name) != value:
                        setattr(current, name, value)
                        fields.append(name)
            if (
                not is_new
                and wanted.allow_backorder is not None
                and current.allow_backorder != wanted.allow_backorder
            ):
                fields.append("allow_backorder")
            plan.variants.append((wanted, current, is_new, fields))
        return plan

    def _initial_status(self, source: ProductIn) -> str:
        """A new product's status: the sheet's wish, sold out when nothing of it can be sold."""
        if source.status not in SELLABLE_STATUSES or not source.variants:
            return ListingStatus.DRAFT
        for variant in source.variants:
            sellable = variant.allow_backorder or (
                variant.stock is not None and variant.stock[1] > 0
            )
            if variant.values.get("is_active", True) and sellable:
                return ListingStatus.ON_SALE
        self._sold_out += 1
        return ListingStatus.SOLD_OUT

    def _row_note(self, source: ProductIn, row: int, message: Any) -> None:
        source.notes.append(str(message))
        self.note(row, message)

    def _diff_links(self, plans: list[_Plan], found: _Found) -> None:
        """Tags and URL images: what each product should have against what it has."""
        tag_links, images = found.tag_links, found.images
        for plan in plans:
            source = plan.source
            if source.tags is not None:
                wanted = [self._tags[key] for key in source.tags]
                if plan.new or set(wanted) != tag_links.get(plan.product.pk, set()):
                    plan.tag_ids = wanted
                    if wanted or not plan.new:
                        plan.changed.append("tags")
            if source.images is not None:
                current = [] if plan.new else images.get(plan.product.pk, [])
                alts = dict(current)
                wanted_images = [
                    (url, alt if alt is not None else alts.get(url, ""))
                    for url, alt in source.images
                ]
                if wanted_images != current:
                    plan.images = wanted_images
                    plan.changed.append("images")

    def _assign_ids(self, plans: list[_Plan]) -> None:
        """The keys of the chunk's new products, SKUs and images, in one query (PostgreSQL)."""
        for plan in plans:
            if plan.images is not None:
                plan.image_rows = [
                    NewRow(url=url, alt_text=alt, position=position)
                    for position, (url, alt) in enumerate(plan.images)
                ]
        assign_ids(
            [
                (Product, [plan.product for plan in plans if plan.new]),
                (Variant, [v for plan in plans for _w, v, new, _f in plan.variants if new]),
                (ProductImage, [row for plan in plans for row in plan.image_rows]),
            ],
            self._keys,
        )

    def _save(self, plans: list[_Plan]) -> None:
        now = timezone.now()
        reason = self.history_reason
        created = [plan.product for plan in plans if plan.new]
        create_rows(Product, created, actor=self.actor, reason=reason, now=now)
        changed = [plan for plan in plans if not plan.new and plan.changed]
        if changed:
            fields = sorted(
                {
                    name
                    for plan in changed
                    for name in plan.changed
                    if name not in ("tags", "images")
                }
                | {"updated_at"}
            )
            columns = ["category_id" if name == "category" else name for name in fields]
            for plan in changed:
                plan.product.updated_at = now
            update_rows(
                Product,
                fields,
                [
                    (plan.product.pk, *(getattr(plan.product, c) for c in columns))
                    for plan in changed
                ],
            )
        # Variants
        new_variants = []
        changed_variants: list[tuple[VariantIn, Variant, list[str]]] = []
        for plan in plans:
            for wanted, variant, is_new, fields in plan.variants:
                if is_new:
                    variant.product_id = plan.product.pk
                    new_variants.append(variant)
                elif fields:
                    changed_variants.append((wanted, variant, fields))
        create_rows(Variant, new_variants, actor=self.actor, reason=reason, now=now)
        if changed_variants:
            fields = sorted(
                {f for _w, _v, fs in changed_variants for f in fs if f != "allow_backorder"}
            )
            rows = [
                (v.pk, *(getattr(v, f) for f in fields))
                for _w, v, fs in changed_variants
                if set(fs) - {"allow_backorder"}
            ]
            if fields and rows:
                update_rows(Variant, fields, rows)
            self._backorders(changed_variants)
            record_history(
                Variant,
                Variant.objects.filter(pk__any_of=[v.pk for _w, v, _f in changed_variants]),
                actor=self.actor,
                reason=reason,
            )
        self._save_links(plans, now)
        if changed:
            record_history(
                Product,
                Product.objects.filter(pk__any_of=[plan.product.pk for plan in changed]),
                actor=self.actor,
                reason=reason,
            )

    def _backorders(self, changed: list[tuple[VariantIn, Variant, list[str]]]) -> None:
        for allowed in (True, False):
            group = [
                (wanted, variant)
                for wanted, variant, fields in changed
                if "allow_backorder" in fields and wanted.allow_backorder is allowed
            ]
            if not group:
                continue
            # set_backorders runs in a savepoint of its own: a refusal leaves nothing behind.
            try:
                set_backorders(
                    variants=Variant.objects.filter(pk__in=[v.pk for _w, v in group]),
                    allowed=allowed,
                    actor=self.actor,
                )
            except DomainError:
                # Find the SKUs that refuse, one by one, so each row gets its own message.
                for wanted, variant in group:
                    try:
                        set_backorders(
                            variants=Variant.objects.filter(pk=variant.pk),
                            allowed=allowed,
                            actor=self.actor,
                        )
                    except DomainError as error:
                        self.error(wanted.row, "allow_backorder", error.message)

    def _save_links(self, plans: list[_Plan], now) -> None:
        through = Product.tags.through
        retagged = [plan for plan in plans if plan.tag_ids is not None]
        if retagged:
            old = [plan.product.pk for plan in retagged if not plan.new]
            if old:
                through.objects.filter(product_id__any_of=old).delete()
            links = [(plan.product.pk, tag_id) for plan in retagged for tag_id in plan.tag_ids]
            if connection.vendor == "postgresql":  # no history, no keys needed: straight COPY
                copy_rows(through, ["product_id", "tag_id"], links)
            else:
                through.objects.bulk_create([through(product_id=p, tag_id=t) for p, t in links])
        reimaged = [plan for plan in plans if plan.images is not None]
        if reimaged:
            old = [plan.product.pk for plan in reimaged if not plan.new]
            if old:
                # Through the ORM, one by one: simple-history records each removal.
                ProductImage.objects.filter(product_id__any_of=old).exclude(url="").delete()
            images = []
            for plan in reimaged:
                for row in plan.image_rows:
                    row.product_id = plan.product.pk
                    images.append(row)
            create_rows(ProductImage, images, actor=self.actor, reason=self.history_reason, now=now)

    def _stock(self, plans: list[_Plan]) -> dict[int, Any]:
        lines = [
            (wanted.row, variant.pk, *wanted.stock)
            for plan in plans
            for wanted, variant, _new, _fields in plan.variants
            if wanted.stock is not None
        ]
        if not lines:
            return {}
        result = stock_import(
            rows=lines,
            mode="set",
            reference=self.reference,
            actor=self.actor,
            # A new product's status was set from these levels when it was created.
            settled_products={plan.product.pk for plan in plans if plan.new},
            warehouses=self._warehouses and {w["pk"]: w for w in self._warehouses.values()},
            new_keys=self._keys.take,
            created_variants={
                variant.pk: {
                    "sku": variant.sku,
                    "product_id": plan.product.pk,
                    "allow_backorder": variant.allow_backorder,
                }
                for plan in plans
                for _wanted, variant, new, _fields in plan.variants
                if new
            },
        )
        names = {"quantity": "stock", "warehouse": "warehouse", "sku": "sku"}
        for refusal in result.refused:
            self.error(refusal.row, names.get(refusal.field, refusal.field), refusal.message)
        return result.outcomes

    # --- the report ----------------------------------------------------------------------

    def _report(
        self, products: list[ProductIn], plans: dict[int, _Plan], stock: dict[int, Any]
    ) -> None:
        for source in products:
            plan = plans.get(id(source))
            if plan is None:
                continue  # refused: its errors are in the report
            product_action = "create" if plan.new else ("update" if plan.changed else "unchanged")
            product_detail = "" if plan.new else ", ".join(_label(c) for c in plan.changed)
            lines: list[tuple[int, str, str, list[str]]] = []  # row, action, key, detail parts
            for row in source.rows:
                lines.append((row, product_action, source.handle, []))
            for wanted, _variant, is_new, fields in plan.variants:
                parts = [] if is_new or not fields else [", ".join(_label(f) for f in fields)]
                outcome = stock.get(wanted.row)
                moved = outcome is not None and outcome.changed
                if moved:
                    parts.append(f"stock {outcome.before} → {outcome.after}")
                parts += wanted.notes
                if is_new:
                    action = "create"
                elif fields or moved or (wanted.row == source.row and plan.changed):
                    action = "update"
                else:
                    action = "unchanged"
                lines.append((wanted.row, action, wanted.sku, parts))
            lines.sort(key=lambda line: line[0])
            for index, (row, action, key, parts) in enumerate(lines):
                if index == 0:
                    parts = [d for d in (product_detail, *source.notes) if d] + parts
                self.report.add(row, action, key, "; ".join(parts))


def _sellable_as_one(status: str) -> str:
    return ListingStatus.ON_SALE if status in SELLABLE_STATUSES else status


def _label(name: str) -> str:
    return name.replace("_", " ")
