"""Intermediate pages of the inventory admin actions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.admin_actions import ActionForm
from catalog.forms import positive_quantity_field

from .models import Warehouse
from .services import ADJUSTMENT_ZERO


class AdjustForm(ActionForm):
    quantity = forms.IntegerField(
        label=_("Change on hand by"),
        help_text=_("Signed: 5 adds five units, -2 removes two."),
        min_value=-1_000_000,
        max_value=1_000_000,
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
    lot_code = forms.CharField(
        label=_("Lot"),
        required=False,
        max_length=64,
        help_text=_("For SKUs tracked by lot: the lot the units go into or come out of."),
    )
    expiry = forms.DateField(
        label=_("Expiry date"),
        required=False,
        help_text=_("For units going into a new lot: its expiry date (YYYY-MM-DD)."),
    )

    def clean_quantity(self):
        value = self.cleaned_data["quantity"]
        if value == 0:
            raise forms.ValidationError(ADJUSTMENT_ZERO)
        return value


class TransferForm(ActionForm):
    destination = forms.ModelChoiceField(
        label=_("To warehouse"), queryset=Warehouse.objects.filter(is_active=True)
    )
    quantity = positive_quantity_field(_("Units to move per SKU"))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)
