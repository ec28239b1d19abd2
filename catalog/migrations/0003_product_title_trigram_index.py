"""A trigram index for the admin's title search on PostgreSQL.

Django's ``title__icontains`` is ``UPPER(title::text) LIKE UPPER('%term%')``; the
GIN index on that same expression lets PostgreSQL answer it without scanning
every product (bench/ B1: product search 123 ms of SQL -> 14 ms at 100k SKUs).
pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
SQLite has no such index; the search works there with a scan.
"""

from django.db import migrations

INDEX = "catalog_product_title_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON catalog_product "
        "USING gin ((UPPER(title::text)) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_historicalproductimage")]

    operations = [migrations.RunPython(create_index, drop_index)]
