"""A paginator for big tables: never a full ``COUNT(*)`` over millions of rows.

- Unfiltered list on PostgreSQL: the planner's row estimate (``pg_class.reltuples``),
  kept fresh by autovacuum/ANALYZE, when the table is big enough for it to matter.
- Filtered or searched list: counting stops at ``COUNT_CAP`` rows
  (``SELECT COUNT(*) FROM (… LIMIT cap)``), so a broad filter costs a bounded scan;
  beyond the cap the admin pages through the first ``COUNT_CAP`` rows.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

COUNT_CAP = 10_000
ESTIMATE_ABOVE = 50_000


def _estimated_rows(queryset) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or queryset.query.where:
        return None
    if queryset.query.distinct or queryset.query.combinator:
        return None
    table = queryset.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table]
        )
        row = cursor.fetchone()
    if not row or row[0] is None or row[0] < ESTIMATE_ABOVE:
        return None
    return int(row[0])


class EstimatedCountPaginator(Paginator):
    """Admin paginator: estimated count unfiltered, capped count filtered."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        estimate = _estimated_rows(queryset)
        if estimate is not None:
            return estimate
        # Count primary keys only: the list's display annotations are not worth
        # computing for up to COUNT_CAP rows.
        return queryset.order_by().values("pk")[:COUNT_CAP].count()
