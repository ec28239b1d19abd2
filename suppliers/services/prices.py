"""Supplier price lists: one entry per supplier and SKU, quantity breaks, the preferred one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy

from backoffice.db import record_history
from catalog.models import Variant

from ..exceptions import InvalidPriceList
from ..models import (
    MOQ_AT_LEAST_ONE,
    PACK_AT_LEAST_ONE,
    Supplier,
    SupplierPrice,
    SupplierPriceBreak,
)
from ._base import as_cost, is_count

PRICE_MOQ = MOQ_AT_LEAST_ONE
PRICE_PACK = PACK_AT_LEAST_ONE
PRICE_COST = gettext_lazy("The unit cost must be a number of at least 0.")
PRICE_LEAD_TIME = gettext_lazy("The lead time must be a whole number of days (0 or more).")
PRICE_BREAK_QUANTITY = gettext_lazy(
    "A quantity price break starts at 2 units or more; got %(quantity)s."
)
PRICE_BREAK_DUPLICATE = gettext_lazy("Two quantity price breaks start at %(quantity)s units.")
PRICE_BREAK_COST = gettext_lazy(
    "The price break from %(quantity)s units needs a unit cost of at least 0."
)
PRICE_PREFERRED_INACTIVE = gettext_lazy(
    "%(supplier)s is inactive: it cannot be the preferred supplier of a SKU."
)


@dataclass(frozen=True)
class PriceBreak:
    min_quantity: int
    unit_cost: Decimal


@dataclass(frozen=True)
class CheckedPrice:
    unit_cost: Decimal
    breaks: list[PriceBreak] | None


def supplier_price_check(
    *,
    supplier: Supplier,
    unit_cost: Any,
    moq: Any,
    pack_size: Any,
    lead_time_days: Any,
    is_preferred: bool,
    breaks: Sequence[PriceBreak] | None,
) -> CheckedPrice:
    """Check a price-list entry without writing anything; refuses with ``InvalidPriceList``.

    Used by ``supplier_price_set`` and by the admin form, so that both say the same.
    """
    cost = as_cost(unit_cost)
    if cost is None:
        raise InvalidPriceList(PRICE_COST)
    if not is_count(moq, positive=True):
        raise InvalidPriceList(PRICE_MOQ)
    if not is_count(pack_size, positive=True):
        raise InvalidPriceList(PRICE_PACK)
    if lead_time_days is not None and not is_count(lead_time_days, positive=False):
        raise InvalidPriceList(PRICE_LEAD_TIME)
    if is_preferred and not supplier.is_active:
        raise InvalidPriceList(PRICE_PREFERRED_INACTIVE % {"supplier": supplier})
    checked = None
    if breaks is not None:
        checked, seen = [], set()
        for item in breaks:
            if not is_count(item.min_quantity, positive=True) or item.min_quantity < 2:
                raise InvalidPriceList(PRICE_BREAK_QUANTITY % {"quantity": item.min_quantity})
            if item.min_quantity in seen:
                raise InvalidPriceList(PRICE_BREAK_DUPLICATE % {"quantity": item.min_quantity})
            seen.add(item.min_quantity)
            break_cost = as_cost(item.unit_cost)
            if break_cost is None:
                raise InvalidPriceList(PRICE_BREAK_COST % {"quantity": item.min_quantity})
            checked.append(PriceBreak(item.min_quantity, break_cost))
        checked.sort(key=lambda b: b.min_quantity)
    return CheckedPrice(unit_cost=cost, breaks=checked)


def supplier_price_set(
    *,
    supplier: Supplier,
    variant: Variant,
    unit_cost: Any,
    actor: Any,
    supplier_sku: str = "",
    moq: int = 1,
    pack_size: int = 1,
    lead_time_days: int | None = None,
    is_preferred: bool = False,
    breaks: Sequence[PriceBreak] | None = None,
) -> SupplierPrice:
    """Create or update ``supplier``'s price-list entry for ``variant``.

    Refuses a negative or missing unit cost, an MOQ or pack size below 1, a
    negative lead time, breaks below 2 units, twice the same break or with a
    bad cost, and an inactive supplier as preferred. ``breaks`` replaces the
    entry's quantity breaks; ``None`` leaves them as they are. Making this
    supplier preferred takes the flag from the SKU's other supplier (under
    row locks, with a history record), so that a SKU has at most one
    preferred supplier — a partial unique constraint guarantees it.
    """
    checked = supplier_price_check(
        supplier=supplier,
        unit_cost=unit_cost,
        moq=moq,
        pack_size=pack_size,
        lead_time_days=lead_time_days,
        is_preferred=is_preferred,
        breaks=breaks,
    )
    with transaction.atomic():
        # Lock the SKU's price rows (pk order) so that two "make preferred" cannot interleave.
        list(SupplierPrice.objects.select_for_update().filter(variant=variant).order_by("pk"))
        if is_preferred:
            others = SupplierPrice.objects.filter(variant=variant, is_preferred=True).exclude(
                supplier=supplier
            )
            ids = list(others.values_list("pk", flat=True))
            if ids:
                SupplierPrice.objects.filter(pk__in=ids).update(is_preferred=False)
                record_history(
                    SupplierPrice,
                    SupplierPrice.objects.filter(pk__in=ids),
                    actor=actor,
                    reason="preferred supplier changed",
                )
        price = SupplierPrice.objects.filter(supplier=supplier, variant=variant).first()
        if price is None:
            price = SupplierPrice(supplier=supplier, variant=variant)
        price.supplier_sku = (supplier_sku or "").strip()
        price.unit_cost = checked.unit_cost
        price.moq = moq
        price.pack_size = pack_size
        price.lead_time_days = lead_time_days
        price.is_preferred = is_preferred
        price._history_user = actor if getattr(actor, "pk", None) else None
        price.save()
        if checked.breaks is not None:
            price.breaks.all().delete()
            SupplierPriceBreak.objects.bulk_create(
                SupplierPriceBreak(price=price, min_quantity=b.min_quantity, unit_cost=b.unit_cost)
                for b in checked.breaks
            )
    return price
