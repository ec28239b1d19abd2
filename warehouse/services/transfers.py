"""Transfers between warehouses (F-17): draft → in transit → received, or cancelled from draft.

Dispatch takes the units out of the source (``inventory.transfer_dispatch``,
free units only, all lines or none); receipt puts what arrived into the
destination (``inventory.transfer_receive``). In between they are in transit:
counted in no warehouse's on hand or available, and visible through
``warehouse.selectors``. A difference on arrival (short, over, damaged…) is
recorded per line with a reason; short and damaged units never enter stock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from backoffice.services import submission_claim
from catalog.models import Variant
from inventory import services as inventory
from inventory.models import Warehouse

from ..exceptions import WarehouseError
from ..models import DiscrepancyReason, Transfer, TransferLine
from ._base import (
    ACTION_CANCELLED,
    ACTION_DISPATCHED,
    ACTION_EDITED,
    ACTION_RECEIVED,
    OPERATION_CANCEL,
    REASON_REQUIRED,
    is_count,
    locked,
    require_status,
    save_as,
    user_of,
)

# --- messages (asserted by the tests) -----------------------------------------------------

TRANSFER_SAME_WAREHOUSE = inventory.SAME_WAREHOUSE
TRANSFER_INACTIVE = inventory.WAREHOUSE_INACTIVE
TRANSFER_NO_LINES = _("A transfer needs at least one line.")
TRANSFER_LINE_QUANTITY = _("%(sku)s: the quantity must be a whole number above zero.")
TRANSFER_DUPLICATE_SKU = _("%(sku)s appears on more than one line; use one line per SKU.")
RECEIVE_UNKNOWN_LINE = _("Line %(line)s is not a line of %(number)s.")
RECEIVE_MISSING_LINE = _(
    "%(reference)s %(sku)s: enter the quantity received (0 if nothing arrived)."
)
RECEIVE_NEGATIVE = _(
    "%(reference)s %(sku)s: the received quantity must be a whole number of at least 0."
)
RECEIVE_REASON_REQUIRED = _(
    "%(reference)s %(sku)s: %(received)s received of %(quantity)s sent — give the reason for "
    "the difference."
)
RECEIVE_UNKNOWN_REASON = _("%(reference)s: unknown discrepancy reason %(reason)r.")

S = Transfer.Status


@dataclass(frozen=True)
class TransferLineRequest:
    variant: Variant
    quantity: int


@dataclass(frozen=True)
class LineReceipt:
    """What arrived for one line; a reason when it differs from what was sent."""

    received: int
    reason: str = ""
    note: str = ""


def _check_warehouses(source: Warehouse, destination: Warehouse) -> None:
    if source.pk == destination.pk:
        raise WarehouseError(TRANSFER_SAME_WAREHOUSE)
    for warehouse in (source, destination):
        if not warehouse.is_active:
            raise WarehouseError(TRANSFER_INACTIVE % {"warehouse": warehouse.code})


def transfer_check_lines(lines: Sequence[TransferLineRequest]) -> None:
    """Refuse no lines, a quantity that is not a whole number above zero, a SKU twice and
    lot-tracked SKUs (they move per lot)."""
    if not lines:
        raise WarehouseError(TRANSFER_NO_LINES)
    seen: set[int] = set()
    for line in lines:
        if not is_count(line.quantity, positive=True):
            raise WarehouseError(TRANSFER_LINE_QUANTITY % {"sku": line.variant.sku})
        if line.variant.pk in seen:
            raise WarehouseError(TRANSFER_DUPLICATE_SKU % {"sku": line.variant.sku})
        seen.add(line.variant.pk)
    lot_tracked = sorted(
        line.variant.sku for line in lines if getattr(line.variant, "track_lots", False)
    )
    if lot_tracked:
        raise WarehouseError(inventory.LOT_TRACKED % {"skus": ", ".join(lot_tracked)})


def _write_lines(transfer: Transfer, lines: Sequence[TransferLineRequest]) -> None:
    TransferLine.objects.bulk_create(
        TransferLine(
            transfer=transfer, line_number=number, variant=line.variant, quantity=line.quantity
        )
        for number, line in enumerate(lines, start=1)
    )


def transfer_create(
    *,
    source: Warehouse,
    destination: Warehouse,
    lines: Sequence[TransferLineRequest],
    actor: Any,
    note: str = "",
    carrier_reference: str = "",
) -> Transfer:
    """Record a draft transfer; no stock moves until it is dispatched.

    Refuses the same warehouse at both ends, an inactive warehouse, no lines,
    a quantity that is not a whole number above zero, a SKU twice and
    lot-tracked SKUs.
    """
    _check_warehouses(source, destination)
    transfer_check_lines(lines)
    with transaction.atomic():
        transfer = Transfer(
            source=source,
            destination=destination,
            note=note.strip(),
            carrier_reference=carrier_reference.strip(),
            created_by=user_of(actor),
        )
        save_as(transfer, actor)
        _write_lines(transfer, lines)
    return transfer


def transfer_update_draft(
    *, transfer: Transfer, lines: Sequence[TransferLineRequest], actor: Any
) -> Transfer:
    """Replace the lines of a draft transfer. Refuses any other status and bad lines."""
    transfer_check_lines(lines)
    with transaction.atomic():
        transfer = locked(transfer)
        require_status(transfer, S.DRAFT, ACTION_EDITED)
        TransferLine.objects.filter(transfer=transfer).delete()
        _write_lines(transfer, lines)
    return transfer


def transfer_dispatch(
    *, transfer: Transfer, actor: Any, submission_key: str | None = None
) -> Transfer:
    """Send a draft transfer: its units leave the source's stock and are in transit.

    One TRANSFER_OUT movement per line at the source, referenced by the line
    (``TR-000012/L1``), through ``inventory.transfer_dispatch``: free units
    only, all lines or none. Refuses a transfer that is not a draft (a second
    dispatch finds it in transit), an inactive warehouse, lot-tracked SKUs,
    and — listing every short line — units that are allocated or not there.
    """
    with transaction.atomic():
        submission_claim(key=submission_key, operation="transfer_dispatch", actor=actor)
        transfer = locked(transfer)
        require_status(transfer, S.DRAFT, ACTION_DISPATCHED)
        source, destination = transfer.source, transfer.destination
        _check_warehouses(source, destination)
        lines = list(transfer.lines.select_related("variant").order_by("line_number"))
        transfer_check_lines([TransferLineRequest(line.variant, line.quantity) for line in lines])
        movements = inventory.transfer_dispatch(
            lines=[
                inventory.TransitLine(line.variant, line.quantity, line.reference) for line in lines
            ],
            source=source,
            destination=destination,
            actor=actor,
            reason=gettext("Transfer %(number)s to %(warehouse)s")
            % {"number": transfer.number, "warehouse": destination.code},
        )
        for line in lines:
            line.out_movement = movements[line.reference]
        TransferLine.objects.bulk_update(lines, ["out_movement"])
        transfer.status = S.IN_TRANSIT
        transfer.dispatched_at = timezone.now()
        transfer.dispatched_by = user_of(actor)
        save_as(transfer, actor, ["status", "dispatched_at", "dispatched_by"])
    return transfer


def transfer_receive(
    *,
    transfer: Transfer,
    received: Mapping[int, LineReceipt],
    actor: Any,
    submission_key: str | None = None,
) -> Transfer:
    """Record what arrived, per line, and put it into the destination's stock.

    ``received`` maps every line id to its ``LineReceipt``. A line that
    differs from what was sent needs a reason (short, over, damaged, wrong
    item, other); only the received quantity enters stock, as a TRANSFER_IN
    movement at the destination referenced by the line. A transfer is
    received once: refuses one that is not in transit (a second receipt finds
    it received), a line of another transfer, a missing line, a quantity that
    is not a whole number of at least 0 and a difference without a (known)
    reason. All lines or none.
    """
    with transaction.atomic():
        submission_claim(key=submission_key, operation="transfer_receive", actor=actor)
        transfer = locked(transfer)
        require_status(transfer, S.IN_TRANSIT, ACTION_RECEIVED)
        lines = list(transfer.lines.select_related("variant").order_by("line_number"))
        by_id = {line.pk: line for line in lines}
        for line_id in received:
            if line_id not in by_id:
                raise WarehouseError(
                    RECEIVE_UNKNOWN_LINE % {"line": line_id, "number": transfer.number}
                )
        arriving: list[inventory.TransitLine] = []
        for line in lines:
            names = {"reference": line.reference, "sku": line.variant.sku}
            receipt = received.get(line.pk)
            if receipt is None:
                raise WarehouseError(RECEIVE_MISSING_LINE % names)
            if not is_count(receipt.received, positive=False):
                raise WarehouseError(RECEIVE_NEGATIVE % names)
            reason = (receipt.reason or "").strip()
            if reason and reason not in DiscrepancyReason.values:
                raise WarehouseError(
                    RECEIVE_UNKNOWN_REASON % {"reference": line.reference, "reason": reason}
                )
            if receipt.received != line.quantity and not reason:
                raise WarehouseError(
                    RECEIVE_REASON_REQUIRED
                    % {**names, "received": receipt.received, "quantity": line.quantity}
                )
            line.received_quantity = receipt.received
            line.discrepancy_reason = reason if receipt.received != line.quantity else ""
            line.discrepancy_note = (
                (receipt.note or "").strip()[:255] if line.discrepancy_reason else ""
            )
            if receipt.received:
                arriving.append(
                    inventory.TransitLine(line.variant, receipt.received, line.reference)
                )
        movements = {}
        if arriving:
            movements = inventory.transfer_receive(
                lines=arriving,
                destination=transfer.destination,
                actor=actor,
                reason=gettext("Transfer %(number)s from %(warehouse)s")
                % {"number": transfer.number, "warehouse": transfer.source.code},
            )
        for line in lines:
            line.in_movement = movements.get(line.reference)
        TransferLine.objects.bulk_update(
            lines,
            ["received_quantity", "discrepancy_reason", "discrepancy_note", "in_movement"],
        )
        transfer.status = S.RECEIVED
        transfer.received_at = timezone.now()
        transfer.received_by = user_of(actor)
        save_as(transfer, actor, ["status", "received_at", "received_by"])
    return transfer


def transfer_cancel(*, transfer: Transfer, reason: str, actor: Any) -> Transfer:
    """Cancel a draft transfer (no stock has moved). Refuses any other status; needs a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise WarehouseError(REASON_REQUIRED % {"operation": OPERATION_CANCEL})
    with transaction.atomic():
        transfer = locked(transfer)
        require_status(transfer, S.DRAFT, ACTION_CANCELLED)
        transfer.status = S.CANCELLED
        transfer.cancelled_at = timezone.now()
        transfer.cancelled_by = user_of(actor)
        transfer.cancel_reason = reason
        save_as(transfer, actor, ["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    return transfer
