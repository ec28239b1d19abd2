"""Replenishment: turn suggestions into draft purchase orders, one per preferred supplier
(and delivery warehouse)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from simple_history.utils import bulk_create_with_history

from backoffice.db import record_history
from backoffice.services import submission_claim

from ..exceptions import PurchasingError
from ..models import PurchaseOrder, PurchaseOrderLine, Supplier
from ..selectors import (
    DEFAULT_DEMAND_DAYS,
    PriceInfo,
    Suggestion,
    breaks_by_price,
    replenishment_suggestions,
)
from ._base import user_of

REPLENISH_NOTHING_SELECTED = gettext_lazy("Select at least one suggestion.")
REPLENISH_NO_SUPPLIER = gettext_lazy(
    "No purchase order was created: none of the selected SKUs has an active preferred "
    "supplier (%(skus)s)."
)
REPLENISH_NOTHING_NEEDED = gettext_lazy(
    "No purchase order was created: the selected rows no longer need replenishing."
)


@dataclass
class ReplenishmentResult:
    orders: list[PurchaseOrder] = field(default_factory=list)
    lines: int = 0
    # "SKU @ WAREHOUSE" of suggestions without an (active) preferred supplier: not ordered.
    without_supplier: list[str] = field(default_factory=list)
    # Selected rows that no longer need replenishing (stock arrived, order placed meanwhile).
    not_needed: int = 0


def _unit_cost(suggestion: Suggestion, breaks) -> Any:
    price = PriceInfo(
        price_id=suggestion.price_id,
        supplier_id=suggestion.supplier_id,
        variant_id=suggestion.variant_id,
        unit_cost=suggestion.unit_cost,
        moq=suggestion.moq,
        pack_size=suggestion.pack_size,
        lead_time_days=suggestion.lead_time_days,
        breaks=breaks.get(suggestion.price_id, ()),
    )
    return price.cost_for(suggestion.quantity)


def replenishment_create_orders(
    *,
    stock_ids: Iterable[int],
    actor: Any,
    days: int = DEFAULT_DEMAND_DAYS,
    submission_key: str | None = None,
) -> ReplenishmentResult:
    """Write draft purchase orders for the selected suggestions (stock row ids).

    The suggestions are computed again, set-based, at this moment (what was
    shown may have changed since); selected rows that no longer need anything
    are counted in ``not_needed``. One draft per preferred supplier and
    warehouse, one line per SKU with the suggested quantity (rounded to MOQ
    and pack size) at the price-list cost for that quantity. SKUs without an
    active preferred supplier are reported in ``without_supplier``, never
    silently dropped.

    Refuses an empty selection, a selection where nothing can be ordered
    (nothing is written then), and a form submitted twice. The number of
    queries does not depend on the number of SKUs (on SQLite the lines' INSERT is
    split in batches of ~100 rows, a limit of its statement parameters).
    """
    stock_ids = sorted(set(stock_ids))
    if not stock_ids:
        raise PurchasingError(REPLENISH_NOTHING_SELECTED)
    with transaction.atomic():
        submission_claim(key=submission_key, operation="replenishment", actor=actor)
        suggestions = replenishment_suggestions(stock_ids=stock_ids, days=days)
        result = ReplenishmentResult(not_needed=len(stock_ids) - len(suggestions))
        groups: dict[tuple[int, int], list[Suggestion]] = {}
        for suggestion in suggestions:
            if suggestion.supplier_id is None:
                result.without_supplier.append(f"{suggestion.sku} @ {suggestion.warehouse_code}")
            else:
                key = (suggestion.supplier_id, suggestion.warehouse_id)
                groups.setdefault(key, []).append(suggestion)
        if not groups:
            if result.without_supplier:
                raise PurchasingError(
                    REPLENISH_NO_SUPPLIER % {"skus": ", ".join(result.without_supplier[:20])}
                )
            raise PurchasingError(REPLENISH_NOTHING_NEEDED)
        groups = dict(sorted(groups.items()))
        suppliers = Supplier.objects.in_bulk({supplier_id for supplier_id, _w in groups})
        breaks = breaks_by_price(s.price_id for items in groups.values() for s in items)
        today = timezone.localdate()
        user = user_of(actor)
        note = gettext("Drafted from replenishment suggestions.")
        orders = [
            PurchaseOrder(
                supplier=suppliers[supplier_id],
                warehouse_id=warehouse_id,
                currency=suppliers[supplier_id].currency,
                note=note,
                expected_date=today + timedelta(days=max(s.lead_time_days for s in items)),
                created_by=user,
            )
            for (supplier_id, warehouse_id), items in groups.items()
        ]
        orders = bulk_create_with_history(orders, PurchaseOrder, default_user=user)
        lines = [
            PurchaseOrderLine(
                order=order,
                line_number=number,
                variant_id=suggestion.variant_id,
                quantity=suggestion.quantity,
                unit_cost=_unit_cost(suggestion, breaks),
                list_unit_cost=_unit_cost(suggestion, breaks),
            )
            for order, items in zip(orders, groups.values(), strict=True)
            for number, suggestion in enumerate(items, start=1)
        ]
        PurchaseOrderLine.objects.bulk_create(lines)
        # One INSERT … SELECT for the lines' history, however many lines there are.
        record_history(
            PurchaseOrderLine,
            PurchaseOrderLine.objects.filter(order__in=[order.pk for order in orders]),
            actor=actor,
            reason="replenishment",
            history_type="+",
        )
        result.orders = orders
        result.lines = len(lines)
    return result
