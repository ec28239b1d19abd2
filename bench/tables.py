"""The database as autovacuum leaves it, before a benchmark measures it."""

from __future__ import annotations

from django.db import connection


def vacuum() -> None:
    """``VACUUM (ANALYZE)`` the whole database (PostgreSQL, outside a transaction).

    Earlier runs leave dead rows behind: a benchmark that rolls back 100,000
    inserted rows leaves them in every table and index it wrote, and B2's loops
    update the same rows again and again. Autovacuum would clean them up at a
    moment of its choosing — in the middle of a measurement — or, where it is
    switched off (as on these machines), never, and each run would be slower
    than the last (B4 took 33 s on a database after a day of such runs, 10–12 s
    on a vacuumed one). So every benchmark starts from a vacuumed database
    (``bench.run``). Inside a transaction (the tests) this does nothing.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
