"""The ledger cannot be changed behind the services, and survives a backup and restore."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from inventory import services as inventory
from inventory.models import Movement

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE inventory_movement SET quantity = quantity + 1",
        "DELETE FROM inventory_movement",
    ],
)
def test_the_database_refuses_raw_updates_and_deletes_of_movements(stocked_variant, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert Movement.objects.get().quantity == 10


def test_the_admin_cannot_change_or_delete_a_movement(admin_client, stocked_variant):
    movement = Movement.objects.get()
    change = reverse("admin:inventory_movement_change", args=[movement.pk])
    response = admin_client.post(change, {"quantity": 99, "reason": "x"})
    assert response.status_code == 403
    delete = reverse("admin:inventory_movement_delete", args=[movement.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    movement.refresh_from_db()
    assert movement.quantity == 10


def _pg(program: str) -> str:
    path = shutil.which(program)
    if not path:
        message = f"needs {program} (PostgreSQL client)"
        if os.environ.get("STOCKROOM_REQUIRE_SERVICES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_restore_drill_dump_restore_and_the_audit_passes_on_the_copy(warehouse, variant, tmp_path):
    for quantity in (10, 5, 7):
        inventory.receive(variant=variant, warehouse=warehouse, quantity=quantity, actor=None)
    inventory.adjust(variant=variant, warehouse=warehouse, quantity=-2, reason="lost", actor=None)
    db = connection.settings_dict
    common = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]
    dump = tmp_path / "stockroom.dump"
    restored = f"restore_drill_{uuid.uuid4().hex[:8]}"
    subprocess.run([_pg("pg_dump"), *common, "-Fc", "-f", str(dump), db["NAME"]], check=True)
    subprocess.run([_pg("createdb"), *common, restored], check=True)
    try:
        subprocess.run(
            [_pg("pg_restore"), *common, "--no-owner", "-d", restored, str(dump)], check=True
        )
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{common[1]}:{common[3]}/{restored}",
        }
        env.pop("CELERY_BROKER_URL", None)
        result = subprocess.run(
            [sys.executable, "manage.py", "stock_audit"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 stock rows, 4 movements, 0 findings" in result.stdout
        # The restored copy keeps the append-only trigger.
        tampered = subprocess.run(
            ["psql", *common, "-d", restored, "-c", "DELETE FROM inventory_movement"],
            capture_output=True,
            text=True,
        )
        assert tampered.returncode != 0 and "append-only" in tampered.stderr
    finally:
        subprocess.run([_pg("dropdb"), *common, "--if-exists", restored], check=True)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_audit_command_exits_non_zero_on_a_discrepancy(stocked_variant):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_stock SET on_hand = on_hand + 1")
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="1 finding"):
        call_command("stock_audit")
