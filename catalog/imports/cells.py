"""Reading catalog cells: prices, handles, category paths, tags, statuses, image lists.

Each parser returns the value or raises ``ValueError`` with the sentence the
import report shows at the row and column (numbers and yes/no come from
``backoffice.spreadsheets.cells``, so every sheet words them alike).
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.validators import slug_unicode_re
from django.utils.translation import gettext_lazy as _

from backoffice.spreadsheets.cells import parse_decimal, parse_int

from ..models import PATH_SEPARATOR, ListingStatus, Tag

NEGATIVE = _("“%(value)s” is below zero: %(column)s cannot be negative.")
TOO_MANY_DECIMALS = _("“%(value)s” has more than two decimals: prices are kept in cents.")
TOO_LONG = _("This value has %(length)s characters; %(column)s holds at most %(limit)s.")
BAD_HANDLE = _(
    "“%(value)s” is not a handle: use letters, digits, hyphens and underscores, without spaces."
)
BAD_CATEGORY = _(
    "“%(value)s” is not a category path: write the names from the top, separated by “ > ” "
    "(e.g. Clothing > Tshirts)."
)
UNKNOWN_STATUS = _("Unknown status “%(value)s”: use draft or on_sale.")
TOO_BIG = _("“%(value)s” is too large for %(column)s.")
BAD_URL = _("“%(value)s” is not a web address (http:// or https://).")
MAX_PRICE = Decimal("9999999999.99")  # max_digits=12, decimal_places=2

_TAG_KINDS = {}
for _kind in Tag.Kind:
    _TAG_KINDS[_kind.value.lower()] = _kind.value
    _TAG_KINDS[str(_kind.label).lower()] = _kind.value
_TAG_KINDS["color"] = Tag.Kind.COLOUR.value  # the American spelling, as Shopify writes it

STATUS_WORDS = {
    "draft": ListingStatus.DRAFT.value,
    "on_sale": ListingStatus.ON_SALE.value,
    "on sale": ListingStatus.ON_SALE.value,
    "active": ListingStatus.ON_SALE.value,
    "sold_out": ListingStatus.SOLD_OUT.value,
    "sold out": ListingStatus.SOLD_OUT.value,
    "delisted": ListingStatus.DELISTED.value,
}


def text(value: str, column: str, limit: int | None) -> str:
    if limit is not None and len(value) > limit:
        raise ValueError(TOO_LONG % {"length": len(value), "column": column, "limit": limit})
    return value


_PLAIN_PRICE = re.compile(r"\d{1,10}(?:\.\d{1,2})?\Z")
_URL = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?\Z", re.IGNORECASE)


def price(value: str, column: str) -> Decimal | None:
    """An amount of money: blank is None; below zero, more than cents or too big is refused."""
    if _PLAIN_PRICE.match(value):  # the usual case, at a sheet's speed: "19.90"
        return Decimal(value)
    amount = parse_decimal(value)
    if amount is None:
        return None
    if amount < 0:
        raise ValueError(NEGATIVE % {"value": value, "column": column})
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(TOO_MANY_DECIMALS % {"value": value})
    if amount > MAX_PRICE:
        raise ValueError(TOO_BIG % {"value": value, "column": column})
    return amount.quantize(Decimal("0.01"))


def price_like(value: str, column: str) -> Decimal | None:
    """A measure with decimals (a weight in pounds): blank is None; below zero is refused."""
    amount = parse_decimal(value)
    if amount is not None and amount < 0:
        raise ValueError(NEGATIVE % {"value": value, "column": column})
    return amount


def whole(value: str, column: str, *, negative: bool = False) -> int | None:
    if value.isascii() and value.isdigit():
        return int(value)
    number = parse_int(value)
    if number is not None and number < 0 and not negative:
        raise ValueError(NEGATIVE % {"value": value, "column": column})
    return number


def handle(value: str) -> str:
    if not slug_unicode_re.match(value):
        raise ValueError(BAD_HANDLE % {"value": value})
    return text(value, "handle", 255)


def category_path(value: str) -> str:
    """ "Clothing>Tshirts", "Clothing > Tshirts" → "Clothing > Tshirts"; blank → ""."""
    if not value:
        return ""
    parts = [part.strip() for part in value.split(PATH_SEPARATOR.strip())]
    if not all(parts):
        raise ValueError(BAD_CATEGORY % {"value": value})
    for part in parts:
        text(part, "category", 120)
    return PATH_SEPARATOR.join(parts)


def split_list(value: str, separator: str = ",") -> list[str]:
    """Comma-separated items; ``\\,`` is a comma inside an item (as WooCommerce writes it)."""
    if not value:
        return []
    items = re.split(r"(?<!\\)" + re.escape(separator), value)
    return [item.replace("\\" + separator, separator).strip() for item in items if item.strip()]


def tags(value: str) -> list[tuple[str, str]]:
    """ "summer, Brand: Acme" → [("label", "summer"), ("brand", "Acme")], in order, once each."""
    found: list[tuple[str, str]] = []
    for item in split_list(value):
        kind, name = Tag.Kind.LABEL.value, item
        prefix, colon, rest = item.partition(":")
        if colon and prefix.strip().lower() in _TAG_KINDS and rest.strip():
            kind, name = _TAG_KINDS[prefix.strip().lower()], rest.strip()
        text(name, "tags", 80)
        if (kind, name) not in found:
            found.append((kind, name))
    return found


def render_tag(kind: str, name: str) -> str:
    """How ``tags`` reads a tag back: labels by name, the other kinds as "Brand: Acme"."""
    if kind == Tag.Kind.LABEL:
        return name.replace(",", "\\,")
    return f"{Tag.Kind(kind).label}: {name}".replace(",", "\\,")


def status(value: str) -> str | None:
    if not value:
        return None
    found = STATUS_WORDS.get(value.strip().lower())
    if found is None:
        raise ValueError(UNKNOWN_STATUS % {"value": value})
    return found


def url(value: str) -> str:
    """An http(s) address with a host name; no spaces."""
    if not _URL.match(value):
        raise ValueError(BAD_URL % {"value": value[:80]})
    return text(value, "image", 1000)


def urls(value: str) -> list[str]:
    found: list[str] = []
    for item in split_list(value.replace("\n", ",")):
        item = url(item)
        if item not in found:
            found.append(item)
    return found
