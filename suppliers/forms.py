"""Forms of the purchasing admin: price-list entries, purchase-order lines and the
intermediate pages of the purchase-order actions (receive, amend, return, cancel, close)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from backoffice.admin_actions import ActionForm
from backoffice.errors import DomainError

from . import services
from .models import GoodsReceiptLine, PurchaseOrderLine, RejectionReason, SupplierPrice
from .selectors import DEFAULT_SCORECARD_DAYS, default_period

QUANTITY_NOT_NEGATIVE = _("A quantity cannot be negative.")
SELECT_ONE_ORDER = _("Select exactly one purchase order for this action.")
PERIOD_REVERSED = _("The period must start on or before its end.")


def count_field(label, *, initial: int = 0, required: bool = True) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        initial=initial,
        min_value=0,
        required=required,
        error_messages={"min_value": QUANTITY_NOT_NEGATIVE},
        widget=forms.NumberInput(attrs={"style": "width: 6em"}),
    )


# --- price list ----------------------------------------------------------------------------


class SupplierPriceForm(forms.ModelForm):
    """The price-list entry; the rules are the service's (``supplier_price_check``)."""

    class Meta:
        model = SupplierPrice
        fields = [
            "supplier",
            "variant",
            "supplier_sku",
            "unit_cost",
            "moq",
            "pack_size",
            "lead_time_days",
            "is_preferred",
        ]

    def clean(self):
        data = super().clean()
        supplier = data.get("supplier") or (
            self.instance.supplier if self.instance.supplier_id else None
        )
        if self.errors or supplier is None:
            return data
        try:
            services.supplier_price_check(
                supplier=supplier,
                unit_cost=data.get("unit_cost"),
                moq=data.get("moq"),
                pack_size=data.get("pack_size"),
                lead_time_days=data.get("lead_time_days"),
                is_preferred=data.get("is_preferred", False),
                breaks=None,
            )
        except DomainError as error:
            raise forms.ValidationError(error.message) from None
        return data

    def _get_validation_exclusions(self):
        # The service moves "preferred" from the SKU's other supplier to this one, so the
        # one-preferred-per-SKU constraint is not for staff to solve by hand on this form.
        return super()._get_validation_exclusions() | {"is_preferred"}


class PriceBreakFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        breaks = [
            services.PriceBreak(row["min_quantity"], row["unit_cost"])
            for row in (getattr(form, "cleaned_data", None) for form in self.forms)
            if row and not row.get("DELETE") and row.get("min_quantity") is not None
        ]
        self.price_breaks = breaks
        supplier = getattr(self.instance, "supplier", None) if self.instance.supplier_id else None
        if supplier is None:
            return
        try:
            services.supplier_price_check(
                supplier=supplier,
                unit_cost=0,
                moq=1,
                pack_size=1,
                lead_time_days=None,
                is_preferred=False,
                breaks=breaks,
            )
        except DomainError as error:
            raise forms.ValidationError(error.message) from None


# --- purchase orders -------------------------------------------------------------------------


class PurchaseOrderLineForm(forms.ModelForm):
    unit_cost = forms.DecimalField(
        label=_("unit cost"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("Empty: the supplier's price-list cost."),
    )

    class Meta:
        model = PurchaseOrderLine
        fields = ["variant", "quantity", "unit_cost"]


class PurchaseOrderLineFormSet(BaseInlineFormSet):
    """Checks the lines as the service will (MOQ, costs, duplicates), so that staff see the
    problem on the form instead of after saving."""

    def requests(self) -> list[services.POLineRequest]:
        return [
            services.POLineRequest(row["variant"], row["quantity"], row.get("unit_cost"))
            for row in (getattr(form, "cleaned_data", None) for form in self.forms)
            if row and not row.get("DELETE") and row.get("variant") is not None
        ]

    def clean(self):
        super().clean()
        if any(self.errors) or not self.instance.supplier_id:
            return
        try:
            services.purchase_order_check_lines(
                supplier=self.instance.supplier, lines=self.requests()
            )
        except DomainError as error:
            raise forms.ValidationError(error.message) from None


class ReasonForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReceiveForm(ActionForm):
    """Per purchase-order line: received, accepted, rejected and why; then the delivery note.

    Lines left at zero are not part of the delivery. The rules (accepted +
    rejected = received, a reason for rejections, over-receipt) are the
    service's, so the admin and any other door say the same.
    """

    delivery_note = forms.CharField(label=_("Delivery note no."), max_length=80, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, lines: list[PurchaseOrderLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            outstanding = line.outstanding
            self.fields[f"received_{line.pk}"] = count_field(_("received"), initial=outstanding)
            self.fields[f"accepted_{line.pk}"] = count_field(_("accepted"), initial=outstanding)
            self.fields[f"rejected_{line.pk}"] = count_field(_("rejected"))
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(
                label=_("rejection reason"),
                choices=[("", "—"), *RejectionReason.choices],
                required=False,
            )
            self.fields[f"rejection_note_{line.pk}"] = forms.CharField(
                label=_("rejection note"), max_length=255, required=False
            )

    def line_rows(self):
        """(line, its bound fields) pairs, for the table on the page."""
        names = ("received", "accepted", "rejected", "reason", "rejection_note")
        return [(line, [self[f"{name}_{line.pk}"] for name in names]) for line in self.lines]

    def header_fields(self):
        return [self["delivery_note"], self["note"]]

    def clean(self):
        data = super().clean()
        if not self.errors:
            data["lines"] = [
                services.ReceiptLineRequest(
                    order_line_id=line.pk,
                    received=data[f"received_{line.pk}"],
                    accepted=data[f"accepted_{line.pk}"],
                    rejected=data[f"rejected_{line.pk}"],
                    reason=data[f"reason_{line.pk}"],
                    note=data[f"rejection_note_{line.pk}"],
                )
                for line in self.lines
                if data[f"received_{line.pk}"]
                or data[f"accepted_{line.pk}"]
                or data[f"rejected_{line.pk}"]
            ]
        return data


class AmendForm(ActionForm):
    """New quantity and unit cost per line of a sent order, and the reason for the change."""

    reason = forms.CharField(
        label=_("Reason for the amendment"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, lines: list[PurchaseOrderLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            title = f"{line.reference} · {line.variant.sku}"
            self.fields[f"quantity_{line.pk}"] = count_field(
                _("%(line)s: quantity") % {"line": title}, initial=line.quantity
            )
            self.fields[f"unit_cost_{line.pk}"] = forms.DecimalField(
                label=_("%(line)s: unit cost") % {"line": title},
                initial=line.unit_cost,
                min_value=0,
                max_digits=12,
                decimal_places=2,
            )
        self.order_fields([name for name in self.fields if name != "reason"] + ["reason"])

    def clean(self):
        data = super().clean()
        if not self.errors:
            data["changes"] = [
                services.LineChange(
                    line_id=line.pk,
                    quantity=data[f"quantity_{line.pk}"],
                    unit_cost=data[f"unit_cost_{line.pk}"],
                )
                for line in self.lines
                if data[f"quantity_{line.pk}"] != line.quantity
                or data[f"unit_cost_{line.pk}"] != line.unit_cost
            ]
        return data


class SupplierReturnForm(ActionForm):
    """Units to send back per receipt line with rejected units not yet returned."""

    carrier_reference = forms.CharField(
        label=_("Carrier / tracking"), max_length=120, required=False
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, lines: list[GoodsReceiptLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            left = line.rejected - line.returned_quantity
            self.fields[f"return_{line.pk}"] = count_field(
                _("%(receipt)s · %(sku)s: %(left)s rejected (%(reason)s)")
                % {
                    "receipt": line.receipt.number,
                    "sku": line.order_line.variant.sku,
                    "left": left,
                    "reason": line.get_rejection_reason_display(),
                },
                initial=left,
            )
        self.order_fields([f"return_{line.pk}" for line in lines])

    def clean(self):
        data = super().clean()
        if not self.errors:
            data["quantities"] = {
                line.pk: data[f"return_{line.pk}"]
                for line in self.lines
                if data[f"return_{line.pk}"]
            }
        return data


# --- scorecards and replenishment -------------------------------------------------------------


class ScorecardPeriodForm(forms.Form):
    sc_from = forms.DateField(label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
    sc_to = forms.DateField(label=_("to"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("sc_from") and data.get("sc_to") and data["sc_from"] > data["sc_to"]:
            raise forms.ValidationError(PERIOD_REVERSED)
        return data

    def period(self) -> tuple[date, date]:
        """The chosen period, or the last ``DEFAULT_SCORECARD_DAYS`` days."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["sc_from"], self.cleaned_data["sc_to"]
        return default_period(days=DEFAULT_SCORECARD_DAYS)


class ReplenishmentFilterForm(forms.Form):
    warehouse = forms.ModelChoiceField(
        label=_("Warehouse"), queryset=None, required=False, empty_label=_("All warehouses")
    )
    supplier = forms.ModelChoiceField(
        label=_("Preferred supplier"), queryset=None, required=False, empty_label=_("All")
    )
    days = forms.IntegerField(
        label=_("Demand over the last (days)"),
        min_value=1,
        max_value=365,
        required=False,
        widget=forms.NumberInput(attrs={"style": "width: 5em"}),
    )

    def __init__(self, *args, **kwargs):
        from inventory.models import Warehouse

        from .models import Supplier

        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = Warehouse.objects.filter(is_active=True)
        self.fields["supplier"].queryset = Supplier.objects.filter(is_active=True)
