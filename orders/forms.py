"""Intermediate pages of the order and return admin actions."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.admin_actions import ActionForm
from inventory.models import Warehouse
from suppliers.models import Supplier

from .models import OrderLine, ReturnLine, ReturnReason, ReturnRequest
from .services import Inspection


class AllocateForm(ActionForm):
    warehouse = forms.ModelChoiceField(
        label=_("Ship from warehouse"), queryset=Warehouse.objects.filter(is_active=True)
    )


class ShipForm(ActionForm):
    carrier = forms.CharField(label=_("Carrier"), max_length=60)
    tracking_numbers = forms.CharField(
        label=_("Tracking numbers"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "One line per order: the order number, a space, the tracking number. "
            "With a single order selected, the tracking number alone is enough."
        ),
    )


def tracking_by_number(text: str, numbers: list[str]) -> dict[str, str]:
    """Map each selected order number to its tracking number (missing ones left out)."""
    rows = [row.split() for row in text.splitlines() if row.strip()]
    if len(numbers) == 1 and len(rows) == 1 and len(rows[0]) == 1:
        return {numbers[0]: rows[0][0]}
    return {row[0]: row[1] for row in rows if len(row) == 2}


class RejectReturnForm(ActionForm):
    note = forms.CharField(label=_("Why is it rejected?"), widget=forms.Textarea(attrs={"rows": 3}))


class ReceiveReturnForm(ActionForm):
    warehouse = forms.ModelChoiceField(
        label=_("Received at"), queryset=Warehouse.objects.filter(is_active=True)
    )


RETURN_SELECT_ONE_ORDER = _("Select exactly one order to request a return for.")
RETURN_SELECT_ONE_RETURN = _("Select exactly one return to inspect.")
QUANTITY_NOT_NEGATIVE = _("A quantity cannot be negative.")


def _count_field(label, *, initial: int = 0, help_text="") -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        initial=initial,
        min_value=0,
        help_text=help_text,
        error_messages={"min_value": QUANTITY_NOT_NEGATIVE},
        widget=forms.NumberInput(attrs={"style": "width: 6em"}),
    )


class RequestReturnForm(ActionForm):
    """A quantity for each shipped line of one order, then kind, reason and note.

    Quantities above what is left to return are refused by the service, so
    that the admin and the API share one rule.
    """

    kind = forms.ChoiceField(label=_("Type"), choices=ReturnRequest.Kind.choices)
    reason = forms.ChoiceField(label=_("Reason"), choices=ReturnReason.choices)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, lines: list[OrderLine], left: dict[int, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"line_{line.pk}"] = _count_field(
                f"{line.variant.sku} — {line.variant}",
                help_text=_("%(shipped)s shipped, %(left)s can still be returned.")
                % {"shipped": line.shipped_quantity, "left": left.get(line.pk, 0)},
            )
        # Lines first, as staff read the parcel; kind, reason and note after.
        self.order_fields([f"line_{line.pk}" for line in lines])

    def clean(self):
        data = super().clean()
        names = [f"line_{line.pk}" for line in self.lines]
        if all(name in data for name in names):
            # Lines left at zero are not part of the return; none at all is the service's refusal.
            data["quantities"] = [
                (line, data[name])
                for line, name in zip(self.lines, names, strict=True)
                if data[name]
            ]
        return data


class InspectReturnForm(ActionForm):
    """Per return line: resellable, damaged and back-to-supplier units; then the refund.

    Whether the three add up to the units returned is checked by the service.
    """

    refund_amount = forms.DecimalField(
        label=_("Refund"), min_value=0, max_digits=14, decimal_places=2
    )

    def __init__(self, *args, lines: list[ReturnLine], refund: Decimal, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.fields["refund_amount"].initial = refund
        names = []
        for line in lines:
            title = f"{line.order_line.variant.sku} ({line.quantity})"
            fields = {
                "resellable": _count_field(
                    _("%(line)s: resellable") % {"line": title}, initial=line.quantity
                ),
                "damaged": _count_field(_("%(line)s: damaged") % {"line": title}),
                "to_supplier": _count_field(_("%(line)s: returned to supplier") % {"line": title}),
                "supplier": forms.ModelChoiceField(
                    label=_("%(line)s: supplier") % {"line": title},
                    queryset=Supplier.objects.filter(is_active=True),
                    required=False,
                    help_text=_("Only needed when units go back to the supplier."),
                ),
            }
            for name, field in fields.items():
                self.fields[f"{name}_{line.pk}"] = field
                names.append(f"{name}_{line.pk}")
        self.order_fields(names)

    def clean(self):
        data = super().clean()
        if not self.errors:
            # Keyed by return line id, as return_inspect takes it; the sums are its to check.
            data["results"] = {
                line.pk: Inspection(
                    resellable=data[f"resellable_{line.pk}"],
                    damaged=data[f"damaged_{line.pk}"],
                    to_supplier=data[f"to_supplier_{line.pk}"],
                    supplier=data[f"supplier_{line.pk}"],
                )
                for line in self.lines
            }
        return data
