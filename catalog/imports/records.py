"""What an importer hands to the writer: a product, its variants, the rows they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class VariantIn:
    row: int
    sku: str
    values: dict[str, Any] = field(default_factory=dict)  # of VARIANT_FIELDS, what the sheet gives
    allow_backorder: bool | None = None
    stock: tuple[int, int] | None = None  # (warehouse id, quantity to set)
    notes: list[str] = field(default_factory=list)


@dataclass
class ProductIn:
    row: int
    handle: str
    values: dict[str, Any] = field(default_factory=dict)  # PRODUCT_FIELDS the sheet gives
    category: str | None = None  # a path; "" no category; None: not in the sheet
    tags: list[tuple[str, str]] | None = None  # (kind, name)
    images: list[tuple[str, str | None]] | None = None  # (url, alt text or None: keep)
    status: str | None = None  # wanted when the product is created
    variants: list[VariantIn] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # its rows without a variant
    notes: list[str] = field(default_factory=list)
    bad: bool = False  # a cell was refused: checked further, not written
    refused: set[str] = field(default_factory=set)  # columns (by name) refused already

    @property
    def row_count(self) -> int:
        return len(self.variants) + len(self.rows)
