"""Forms of the warehouse admin: planning a count, entering and uploading counted quantities,
transfer lines, and the intermediate pages of the count and transfer actions."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.forms.models import BaseInlineFormSet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from backoffice.admin_actions import ActionForm
from backoffice.errors import DomainError
from inventory.models import Zone

from . import services
from .models import DiscrepancyReason, StockCount, StockCountLine, Transfer

COUNTED_NOT_NEGATIVE = _("A counted quantity cannot be negative.")
QUANTITY_NOT_NEGATIVE = _("A quantity cannot be negative.")
SELECT_ONE_COUNT = _("Select exactly one stock count to apply.")
SELECT_ONE_TRANSFER = _("Select exactly one transfer to receive.")
FILE_TOO_LARGE = _("The file is %(size)s; the limit is %(limit)s.")


def count_field(label, *, initial: int | None = 0, required: bool = True) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        initial=initial,
        min_value=0,
        required=required,
        error_messages={"min_value": QUANTITY_NOT_NEGATIVE},
        widget=forms.NumberInput(attrs={"style": "width: 6em"}),
    )


# --- stock counts ----------------------------------------------------------------------------


class StockCountForm(forms.ModelForm):
    """Planning a count; the rules are the service's (``stock_count_plan``)."""

    class Meta:
        model = StockCount
        fields = ["warehouse", "scope", "zone", "abc_class", "planned_for", "note"]

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == StockCount.Scope.ZONE and not data.get("zone"):
            self.add_error("zone", services.COUNT_ZONE_REQUIRED % {"zones": ", ".join(Zone.values)})
        if scope == StockCount.Scope.ABC and not data.get("abc_class"):
            self.add_error("abc_class", services.COUNT_CLASS_REQUIRED)
        return data


class StockCountLineForm(forms.ModelForm):
    counted = forms.IntegerField(
        label=_("counted"),
        required=False,
        min_value=0,
        error_messages={"min_value": COUNTED_NOT_NEGATIVE},
        widget=forms.NumberInput(attrs={"style": "width: 6em"}),
    )

    class Meta:
        model = StockCountLine
        fields = ["counted", "reason"]


class CountUploadForm(forms.Form):
    """A ``sku,counted[,reason]`` csv file of counted quantities."""

    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("Columns sku, counted and optionally reason, with a header row; UTF-8."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                FILE_TOO_LARGE
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        return upload.read()


class ReasonForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ConfirmForm(ActionForm):
    """A confirmation page: only the one-time key (a double submit is refused)."""


# --- transfers -------------------------------------------------------------------------------


class TransferForm(forms.ModelForm):
    class Meta:
        model = Transfer
        fields = ["source", "destination", "carrier_reference", "note"]

    def clean(self):
        data = super().clean()
        source, destination = data.get("source"), data.get("destination")
        if source is not None and source == destination:
            raise forms.ValidationError(services.TRANSFER_SAME_WAREHOUSE)
        return data


class TransferLineFormSet(BaseInlineFormSet):
    """Checks the lines as the service will (quantities, duplicates, lot-tracked SKUs)."""

    def requests(self) -> list[services.TransferLineRequest]:
        return [
            services.TransferLineRequest(row["variant"], row["quantity"])
            for row in (getattr(form, "cleaned_data", None) for form in self.forms)
            if row and not row.get("DELETE") and row.get("variant") is not None
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        try:
            services.transfer_check_lines(self.requests())
        except DomainError as error:
            raise forms.ValidationError(error.message) from None


class ReceiveTransferForm(ActionForm):
    """Per transfer line: units received, and why they differ from what was sent."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"received_{line.pk}"] = count_field(_("received"), initial=line.quantity)
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(
                label=_("discrepancy"),
                choices=[("", "—"), *DiscrepancyReason.choices],
                required=False,
            )
            self.fields[f"note_{line.pk}"] = forms.CharField(
                label=_("note"), max_length=255, required=False
            )

    def line_rows(self):
        """(line, its bound fields) pairs, for the table on the page."""
        names = ("received", "reason", "note")
        return [(line, [self[f"{name}_{line.pk}"] for name in names]) for line in self.lines]

    def clean(self):
        data = super().clean()
        if not self.errors:
            data["received"] = {
                line.pk: services.LineReceipt(
                    received=data[f"received_{line.pk}"],
                    reason=data[f"reason_{line.pk}"],
                    note=data[f"note_{line.pk}"],
                )
                for line in self.lines
            }
        return data
