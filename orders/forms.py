"""Intermediate pages of the order and return admin actions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.admin_actions import ActionForm
from inventory.models import Warehouse


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
