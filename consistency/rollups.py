"""Rollups: interactions counted per branch, local day and channel by one aggregate query
per time zone, written with INSERT … SELECT (no row passes through Python); weeks,
months and the all-channels rows are then summed from the day rows, also in the database.

Rebuilding a range deletes its rows and inserts them afresh inside one transaction, so
running it twice, or again after a killed run, leaves exactly the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate

from consistency.models import ALL_CHANNELS, COUNT_COLUMNS, PeriodKind, Rollup, Target
from interactions.models import Interaction


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class DayRange:
    """Local days [first, last) of some branches that share a time zone."""

    timezone: str
    branch_ids: tuple[int, ...]
    first: date | None = None  # None: from the beginning
    last: date | None = None  # None: to the end


def _thresholds() -> Case:
    """Each channel's response threshold, by the standard version in force on the day."""
    whens = [
        When(
            Q(local_day__gte=t.standard.effective_from, channel=t.channel),
            then=Value(t.threshold_seconds),
        )
        for t in Target.objects.filter(
            metric="response_within_standard", threshold_seconds__isnull=False
        )
        .exclude(channel=ALL_CHANNELS)
        .select_related("standard")
        .order_by("-standard__effective_from")
    ]
    if not whens:
        return Case(default=Value(None), output_field=IntegerField())
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _day_counts(span: DayRange) -> QuerySet[Any]:
    zone = ZoneInfo(span.timezone)
    rows = Interaction.objects.filter(deleted_at__isnull=True, branch_id__in=span.branch_ids)
    if span.first is not None:  # a day earlier in UTC covers every time zone's midnight
        start = datetime.combine(span.first - timedelta(days=1), time(), tzinfo=zone)
        rows = rows.filter(occurred_at__gte=start)
    if span.last is not None:
        end = datetime.combine(span.last + timedelta(days=1), time(), tzinfo=zone)
        rows = rows.filter(occurred_at__lt=end)
    rows = rows.annotate(local_day=TruncDate("occurred_at", tzinfo=zone))
    if span.first is not None:
        rows = rows.filter(local_day__gte=span.first)
    if span.last is not None:
        rows = rows.filter(local_day__lt=span.last)
    abandoned = Q(outcome="abandoned")
    return (
        rows.annotate(threshold=_thresholds())
        .values("branch_id", "channel", "local_day")
        .annotate(
            contacts=Count("id"),
            not_abandoned=Count("id", filter=~abandoned),
            abandonable=Count("id", filter=~Q(channel="email")),
            abandoned=Count("id", filter=abandoned & ~Q(channel="email")),
            resolved=Count("id", filter=Q(outcome="resolved")),
            complaints=Count("id", filter=Q(is_complaint=True)),
            response_n=Count(
                "id",
                filter=(~abandoned & Q(wait_seconds__isnull=False))
                | (abandoned & Q(wait_seconds__gt=F("threshold"))),
            ),
            response_ok=Count("id", filter=~abandoned & Q(wait_seconds__lte=F("threshold"))),
            csat_n=Count("id", filter=Q(csat__isnull=False)),
            csat_ok=Count("id", filter=Q(csat__gte=4)),
            nps_n=Count("id", filter=Q(nps__isnull=False)),
            promoters=Count("id", filter=Q(nps__gte=9)),
            detractors=Count("id", filter=Q(nps__lte=6)),
        )
        .order_by()
    )


STAGE = "consistency_rollup_stage"
STAGE_WORK_MEM = "64MB"


def _stage(span: DayRange) -> None:
    """Count the span's interactions per branch, local day and channel into a temporary
    table: one pass over interactions (parallel on PostgreSQL), read by every insert below."""
    sql, params = _day_counts(span).query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Enough memory to hash-aggregate a chain's year of branch-days without
            # spilling to disk (set for this transaction only).
            cursor.execute(f"SET LOCAL work_mem = '{STAGE_WORK_MEM}'")
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} AS {sql}", params)


def _period_sql(kind: str) -> str:
    """The SQL for a staged local day's period start, on this database."""
    postgres = connection.vendor == "postgresql"
    if kind == PeriodKind.DAY:
        return "local_day"
    if kind == PeriodKind.WEEK:
        if postgres:
            return "CAST(date_trunc('week', local_day) AS date)"
        return (
            "date(local_day, '-' || ((CAST(strftime('%%w', local_day) AS integer) + 6) %% 7)"
            " || ' days')"
        )
    if postgres:
        return "CAST(date_trunc('month', local_day) AS date)"
    return "date(local_day, 'start of month')"


def _insert_from_stage(kind: str, first: date | None, last: date | None) -> None:
    """Sum the staged counts into ``kind`` rollups, per channel and for all channels, for
    the periods starting in [first, last)."""
    quote = connection.ops.quote_name
    period = _period_sql(kind)
    columns = ", ".join(
        quote(c) for c in ["kind", "branch_id", "period_start", "channel", *COUNT_COLUMNS]
    )
    sums = ", ".join(f"SUM({quote(c)})" for c in COUNT_COLUMNS)
    where, bounds = [], []
    for operator, bound in ((">=", first), ("<", last)):
        if bound is not None:
            where.append(f"period {operator} %s")
            bounds.append(bound if connection.vendor == "postgresql" else bound.isoformat())
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    staged = f"(SELECT {period} AS period, s.* FROM {STAGE} s) staged"  # noqa: S608
    with connection.cursor() as cursor:
        # Days are kept for all channels only (the CUSUM's input); a day per channel is
        # too small a sample to judge, and would triple what a recompute writes.
        groupings = (
            (("%s", ""),) if kind == PeriodKind.DAY else (("channel", ", channel"), ("%s", ""))
        )
        for channel, grouping in groupings:
            fixed = [kind] if grouping else [kind, ALL_CHANNELS]
            cursor.execute(
                f"INSERT INTO {quote(Rollup._meta.db_table)} ({columns}) "  # noqa: S608
                f"SELECT %s, branch_id, period, {channel}, {sums} FROM {staged} {condition} "
                f"GROUP BY branch_id, period{grouping}",
                [*fixed, *bounds],
            )


def _delete(kind: str, branch_ids: tuple[int, ...], first: date | None, last: date | None) -> None:
    rows = Rollup.objects.filter(kind=kind, branch_id__in=branch_ids)
    if first is not None:
        rows = rows.filter(period_start__gte=first)
    if last is not None:
        rows = rows.filter(period_start__lt=last)
    rows._raw_delete(rows.db)  # no signals or cascades to honour: skip Django's collector


def rollups_rebuild(span: DayRange) -> None:
    """Rebuild every rollup whose period touches ``span``: whole ISO weeks and whole
    months, so every period written is complete."""
    weeks_from = week_start(span.first) if span.first else None
    weeks_to = week_start(span.last + timedelta(days=6)) if span.last else None
    months_from = month_start(span.first) if span.first else None
    months_to = next_month(span.last - timedelta(days=1)) if span.last else None
    first = min(weeks_from, months_from) if weeks_from and months_from else None
    last = max(weeks_to, months_to) if weeks_to and months_to else None
    ids = span.branch_ids
    with transaction.atomic():
        _stage(DayRange(span.timezone, ids, first, last))
        for kind, start, end in (
            (PeriodKind.DAY, first, last),
            (PeriodKind.WEEK, weeks_from, weeks_to),
            (PeriodKind.MONTH, months_from, months_to),
        ):
            _delete(kind, ids, start, end)
            _insert_from_stage(kind, start, end)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {STAGE}")
