"""Reading one cell: numbers, yes/no, lookups by a natural key — and a refusal staff can read.

Cells arrive as stripped text (``reading.read_table``). The parsers here turn
them into Python values or raise ``ValueError`` with the sentence the import
report shows at that row and column; they decide only the *type* (a whole
number, an amount…). Whether the value is allowed (a quantity above zero, an
MOQ of at least 1) stays the business of the service the row goes to.

The widgets wrap the parsers for django-import-export resources: a widget's
``ValueError`` is reported by the library under the field, which the
``ResourceImporter`` maps back to the column.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _
from import_export import widgets

NOT_A_WHOLE_NUMBER = _("“%(value)s” is not a whole number.")
NOT_A_NUMBER = _("“%(value)s” is not a number (write it like 1234.50).")
NOT_YES_NO = _("“%(value)s” is not yes or no (write yes/no, true/false or 1/0).")
VALUE_REQUIRED = _("This column needs a value.")

# Amounts beyond this are typing mistakes, and would overflow the database's columns.
MAX_DIGITS_BEFORE_POINT = 12

TRUE_WORDS = {"1", "yes", "y", "true", "t", "x", "是", "是的"}
FALSE_WORDS = {"0", "no", "n", "false", "f", "否", "不"}


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_int(value: Any) -> int | None:
    """A whole number (``"12"``, ``"12.0"``), None for a blank cell; negative numbers pass."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(NOT_A_WHOLE_NUMBER % {"value": value})
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(NOT_A_WHOLE_NUMBER % {"value": text}) from None
    if (
        not number.is_finite()
        or number != number.to_integral_value()
        or number.adjusted() >= MAX_DIGITS_BEFORE_POINT
    ):
        raise ValueError(NOT_A_WHOLE_NUMBER % {"value": text})
    return int(number)


def parse_decimal(value: Any) -> Decimal | None:
    """An amount (``"7.50"``, ``"-3"``), None for a blank cell; no thousands separators."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(NOT_A_NUMBER % {"value": value})
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(NOT_A_NUMBER % {"value": text}) from None
    if not number.is_finite() or (number and number.adjusted() >= MAX_DIGITS_BEFORE_POINT):
        raise ValueError(NOT_A_NUMBER % {"value": text})
    return number


def parse_bool(value: Any) -> bool | None:
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(NOT_YES_NO % {"value": str(value).strip()})


def template_regex(template: Any) -> re.Pattern:
    """A regex matching the sentences ``template % {...}`` produces (in the active language),
    with one named group per ``%(name)s`` placeholder."""
    parts = re.split(r"%\((\w+)\)[sdr]", str(template))
    pattern, names = "", set()
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pattern += re.escape(part.replace("%%", "%"))
        elif part in names:
            pattern += f"(?P={part})"
        else:
            names.add(part)
            pattern += f"(?P<{part}>.+?)"
    return re.compile(f"^{pattern}$", re.DOTALL)


def match_message(template: Any, message: str) -> dict | None:
    """The placeholders' values if ``message`` was made from ``template``, else None."""
    found = template_regex(template).match(message)
    return found.groupdict() if found else None


# --- widgets for django-import-export resources --------------------------------------------


class IntegerCell(widgets.IntegerWidget):
    """A whole number; the refusal says which text was not one. Exported as a plain number."""

    def clean(self, value, row=None, **kwargs):
        return parse_int(value)

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type"):
            return value
        return "" if value is None else str(value)


class DecimalCell(widgets.DecimalWidget):
    def clean(self, value, row=None, **kwargs):
        return parse_decimal(value)

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type"):
            return value
        return "" if value is None else str(value)


class BooleanCell(widgets.BooleanWidget):
    """yes/no, true/false, 1/0 (是/否); anything else is refused, never read as "no"."""

    def clean(self, value, row=None, **kwargs):
        return parse_bool(value)

    def render(self, value, obj=None, **kwargs):
        if kwargs.get("force_native_type"):
            return value
        if value is None:
            return ""
        return "yes" if value else "no"


class LookupCell(widgets.ForeignKeyWidget):
    """A row named by its natural key (a supplier's code, a SKU); unknown keys are refused
    with ``unknown % {"value": …}``. Found rows are kept for the rest of the import."""

    def __init__(self, model, field: str, unknown, *, queryset=None, required: bool = False):
        super().__init__(model, field=field)
        self.unknown = unknown
        self.required = required
        self._queryset = queryset
        self._found: dict[str, Any] = {}

    def get_queryset(self, value, row, *args, **kwargs):
        return self._queryset.all() if self._queryset is not None else self.model.objects.all()

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            if self.required:
                raise ValueError(VALUE_REQUIRED)
            return None
        key = str(value).strip()
        if key not in self._found:
            found = self.get_queryset(key, row).filter(**{self.field: key}).first()
            if found is None:
                raise ValueError(self.unknown % {"value": key})
            self._found[key] = found
        return self._found[key]
