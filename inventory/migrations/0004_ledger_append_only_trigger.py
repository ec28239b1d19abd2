"""The stock ledger is append-only in the database itself (PostgreSQL).

The ORM guard (Movement.save/delete and the queryset's update/delete raise)
stops the usual Python paths; this trigger stops everything else: raw SQL,
psql, a script with its own connection. TRUNCATE is not a row operation and
stays possible for the database owner (test databases are emptied that way).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION inventory_movement_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the stock ledger is append-only: % on inventory_movement refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS inventory_movement_append_only ON inventory_movement;
CREATE TRIGGER inventory_movement_append_only
    BEFORE UPDATE OR DELETE ON inventory_movement
    FOR EACH ROW EXECUTE FUNCTION inventory_movement_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS inventory_movement_append_only ON inventory_movement;
DROP FUNCTION IF EXISTS inventory_movement_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0003_stockauditrun_stockauditfinding_stockalert")]

    operations = [migrations.RunPython(forwards, backwards)]
