"""Tables as autovacuum leaves them, before a benchmark measures them."""

from __future__ import annotations

from django.db import connection, models


def vacuum(*tables: type[models.Model]) -> None:
    """``VACUUM (ANALYZE)`` the tables of ``tables``, or the whole database (PostgreSQL,
    outside a transaction).

    Earlier runs leave dead rows behind: a benchmark that rolls back 100,000
    inserted rows leaves them in every table and index it wrote, and B2's loops
    update the same rows again and again. Autovacuum would clean them up at a
    moment of its choosing — in the middle of a measurement — or, where it is
    switched off (as on these machines), never, and each run would be slower
    than the last (B4: 33 s instead of 12 s after a day of runs). So every
    benchmark starts from a vacuumed database (``bench.run``). Inside a
    transaction (the tests) this does nothing.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    names = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {names}".strip())
