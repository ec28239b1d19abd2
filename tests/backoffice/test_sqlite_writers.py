"""The embedded SQLite default: several staff saving at once never see "database is locked".

Real processes against a real SQLite file, configured as the settings configure it
(WAL, BEGIN IMMEDIATE, busy timeout): each runs a stream of stock operations through
the inventory service while the others do the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SETUP = textwrap.dedent(
    """
    import django
    django.setup()
    from catalog.models import Product, Variant
    from inventory.models import Warehouse
    product = Product.objects.create(title="Mug", handle="mug", status="on_sale")
    Variant.objects.create(product=product, sku="MUG-1", price="9.90")
    Warehouse.objects.create(code="MAIN", name="Main")
    """
)

WRITER = textwrap.dedent(
    """
    import sys
    import django
    django.setup()
    from catalog.models import Variant
    from inventory import services
    from inventory.models import Warehouse
    variant = Variant.objects.select_related("product").get(sku="MUG-1")
    warehouse = Warehouse.objects.get(code="MAIN")
    worker = sys.argv[1]
    for i in range(30):
        services.receive(variant=variant, warehouse=warehouse, quantity=2, actor=None)
        services.adjust(
            variant=variant, warehouse=warehouse, quantity=-1, reason=f"w{worker}", actor=None
        )
    """
)


def run_python(code: str, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_writers_on_the_sqlite_default_are_serialised_not_refused(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'stockroom.sqlite3'}",
        "CELERY_BROKER_URL": "",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    setup = run_python(SETUP, env)
    assert setup.wait(60) == 0, setup.stderr.read()

    writers = [run_python(WRITER, env, str(n)) for n in range(4)]
    for writer in writers:
        code = writer.wait(180)
        stderr = writer.stderr.read()
        assert "database is locked" not in stderr
        assert code == 0, stderr

    check = run_python(
        textwrap.dedent(
            """
            import django
            django.setup()
            from django.db.models import Sum
            from inventory.models import Movement, Stock
            stock = Stock.objects.get()
            total = Movement.objects.aggregate(s=Sum("quantity"))["s"]
            print(stock.on_hand, total, Movement.objects.count())
            """
        ),
        env,
    )
    out, err = check.communicate(timeout=60)
    assert check.returncode == 0, err
    assert out.split() == ["120", "120", "240"]
