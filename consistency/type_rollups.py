"""Complaints counted by type (SPEC §10): per branch, period and type code, all channels,
from the complaints of live interactions, in the database (INSERT … SELECT). A type's
rate is its count over the period's contacts in ``Rollup``.

A complaint counts on the local day it was received (its interaction's time, copied when
it was recorded) at its branch. Types are grouped by code, so a type retired and replaced
by one of the same code keeps one line; a complaint not typed yet is counted in the total
complaint rate only.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Count, F

from complaints.models import Complaint
from consistency.models import PeriodKind, TypeRollup
from consistency.rollups import (
    PERIOD_COLUMN,
    DayRange,
    period_sql,
    rebuild_ranges,
    sql_bounds,
    within_span,
)

TYPE_STAGE = "consistency_type_stage"


def type_rollups_rebuild(span: DayRange) -> None:
    """Make the type rollups of every period touching ``span`` equal to the complaints'
    counts: the span's rows are deleted and written afresh (a few per branch-week)."""
    days, periods = rebuild_ranges(span)
    rows = (
        within_span(
            Complaint.objects.filter(type__isnull=False, interaction__deleted_at__isnull=True),
            days,
            at="received_at",
        )
        .values("branch_id", "local_day", code=F("type__code"))
        .annotate(complaints=Count("id"))
        .order_by()
    )
    sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(TypeRollup._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TYPE_STAGE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {TYPE_STAGE} AS SELECT branch_id, local_day, code, "  # noqa: S608
            f"complaints, {period_sql(PeriodKind.WEEK)} AS week, "
            f"{period_sql(PeriodKind.MONTH)} AS month FROM ({sql}) counted",
            params,
        )
        for kind, start, end in periods:
            column = PERIOD_COLUMN[kind]
            mine, mine_params = sql_bounds("period_start", start, end)
            scope, scope_params = f"kind = %s AND {mine}", [kind, *mine_params]
            if span.branch_ids is not None:
                scope += f" AND branch_id IN ({', '.join(['%s'] * len(span.branch_ids))})"
                scope_params += span.branch_ids
            cursor.execute(f"DELETE FROM {table} WHERE {scope}", scope_params)  # noqa: S608
            within, bounds = sql_bounds(column, start, end)
            cursor.execute(
                f"INSERT INTO {table} (kind, branch_id, period_start, type_code, complaints) "  # noqa: S608
                f"SELECT %s, branch_id, {column}, code, SUM(complaints) FROM {TYPE_STAGE} "
                f"WHERE {within} GROUP BY branch_id, {column}, code",
                [kind, *bounds],
            )
        cursor.execute(f"DROP TABLE {TYPE_STAGE}")
