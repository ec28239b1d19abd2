from django import forms
from django.utils.translation import gettext_lazy as _

from backoffice.admin_actions import ActionForm
from inventory.models import Warehouse


class AllocateForm(ActionForm):
    warehouse = forms.ModelChoiceField(
        label=_("Ship from warehouse"), queryset=Warehouse.objects.filter(is_active=True)
    )
