"""Spreadsheet imports shared by every app: reading, the importer contract, the runner.

An app's ``resources.py`` defines its django-import-export resources (used for
export, and as the engine of its small imports) and registers its importers
with ``backoffice.spreadsheets.base.register``.
"""
