"""Intermediate pages of the catalog's bulk actions."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.admin_actions import ActionForm
from inventory.models import Warehouse

from .models import Category, DelistReason, Tag
from .services import DELIST_NOTE_REQUIRED, DELIST_REASON_REQUIRED, PRICE_CHANGE_INVALID


class DelistForm(ActionForm):
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", "---------"), *DelistReason.choices],
        error_messages={
            "required": DELIST_REASON_REQUIRED,
            "invalid_choice": DELIST_REASON_REQUIRED,
        },
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == DelistReason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", DELIST_NOTE_REQUIRED)
        return data


class RelistForm(ActionForm):
    pass


QUANTITY_FIELD_ERROR = _("Enter a whole number of units greater than zero.")


def positive_quantity_field(label: str) -> forms.IntegerField:
    message = QUANTITY_FIELD_ERROR
    return forms.IntegerField(
        label=label,
        min_value=1,
        max_value=1_000_000,
        error_messages={"min_value": message, "invalid": message, "required": message},
    )


class RestockForm(ActionForm):
    warehouse = forms.ModelChoiceField(
        label=_("Warehouse"),
        queryset=Warehouse.objects.filter(is_active=True),
        error_messages={"invalid_choice": _("Choose an active warehouse from the list.")},
    )
    quantity = positive_quantity_field(_("Units to receive per variant"))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=200)


class DisposeForm(ActionForm):
    disposition = forms.ChoiceField(
        label=_("Disposition"),
        choices=[
            ("return_to_supplier", _("Return to supplier")),
            ("donate", _("Donate")),
            ("scrap", _("Recycle / scrap")),
            ("keep", _("Keep for relisting")),
        ],
    )
    warehouse = forms.ModelChoiceField(
        label=_("Only in warehouse"), queryset=Warehouse.objects.all(), required=False
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=255)


class SetCategoryForm(ActionForm):
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all())


class TagsForm(ActionForm):
    tags = forms.ModelMultipleChoiceField(label=_("Tags"), queryset=Tag.objects.all())
    mode = forms.ChoiceField(
        label=_("Change"),
        choices=[("add", _("Add these tags")), ("remove", _("Remove these tags"))],
    )


class PriceChangeForm(ActionForm):
    percent = forms.DecimalField(
        label=_("Change by percent"),
        required=False,
        max_digits=6,
        decimal_places=2,
        min_value=Decimal("-99.99"),
        max_value=Decimal("1000"),
        help_text=_("e.g. -10 for 10% off, 5 for 5% more"),
    )
    amount = forms.DecimalField(
        label=_("Change by amount"),
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text=_("e.g. -2.50 or 1.00"),
    )

    def clean(self):
        data = super().clean()
        if (data.get("percent") is None) == (data.get("amount") is None):
            raise forms.ValidationError(PRICE_CHANGE_INVALID)
        return data
