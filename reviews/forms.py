"""Intermediate pages of the review moderation actions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.admin_actions import ActionForm

from .services import REJECTION_REASON_REQUIRED


class RejectForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept on each review, for staff: e.g. spam, offensive, not about the product."),
        error_messages={"required": REJECTION_REASON_REQUIRED},
    )
