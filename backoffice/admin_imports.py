"""Spreadsheet imports in the admin: the upload is refused above a size limit.

Every ImportMixin admin sets ``import_form_class = LimitedImportForm``; the
limit is ``IMPORT_MAX_UPLOAD_BYTES`` (the web server should cap bodies at the
same size or a little more).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from import_export.forms import ImportForm


class LimitedImportForm(ImportForm):
    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s; files up to %(limit)s can be imported.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        return upload
