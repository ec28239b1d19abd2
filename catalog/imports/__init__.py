"""Catalog spreadsheets: products with variants from Stockroom's own sheet, WooCommerce and
Shopify exports.

Each format's importer (``products``, ``woocommerce``, ``shopify``) only reads its
sheet into ``ProductIn``/``VariantIn`` records and reports what it cannot read;
``engine.CatalogWriter`` checks the records against the database and writes them
set-based, a chunk of a few thousand rows at a time, with history rows and —
for stock cells — ``inventory.services.stock_import``. The importers are
registered by ``catalog.resources``.
"""
