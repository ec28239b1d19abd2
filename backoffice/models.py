from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SubmissionKey(models.Model):
    """A one-time key carried by an intermediate admin form.

    The service that does the work claims the key in its own transaction; a
    second submission of the same form finds the key taken and changes nothing.
    """

    key = models.CharField(_("key"), max_length=64, unique=True)
    operation = models.CharField(_("operation"), max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return f"{self.operation} {self.key}"
