"""Rollups: interactions counted per branch, local day and channel by one aggregate query
per time zone, written with INSERT … SELECT (no row passes through Python); weeks,
months and the all-channels rows are then summed from the day rows, also in the database.

Rebuilding a range deletes its rows and inserts them afresh inside one transaction, so
running it twice, or again after a killed run, leaves exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek

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


def _insert_select(kind: str, rows: QuerySet[Any], period: str, channel: str | None) -> None:
    """INSERT the aggregate ``rows`` as rollups of ``kind``: ``period`` names its period
    column, ``channel`` is a fixed channel or None to take the row's own."""
    sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    table = quote(Rollup._meta.db_table)
    targets = ["kind", "branch_id", "period_start", "channel", *COUNT_COLUMNS]
    sources = [
        "%s",
        "agg.branch_id",
        f"agg.{quote(period)}",
        "%s" if channel else "agg.channel",
        *(f"agg.{quote(c)}" for c in COUNT_COLUMNS),
    ]
    fixed = [kind, channel] if channel else [kind]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(quote(c) for c in targets)}) "  # noqa: S608
            f"SELECT {', '.join(sources)} FROM ({sql}) agg",
            [*fixed, *params],
        )


def _day_rows(branch_ids: Iterable[int], first: date | None, last: date | None) -> QuerySet[Any]:
    rows = Rollup.objects.filter(kind=PeriodKind.DAY, branch_id__in=list(branch_ids))
    if first is not None:
        rows = rows.filter(period_start__gte=first)
    if last is not None:
        rows = rows.filter(period_start__lt=last)
    return rows


def _sums() -> dict[str, Sum]:
    return {column: Sum(column) for column in COUNT_COLUMNS}


def _derive(kind: str, branch_ids: tuple[int, ...], first: date | None, last: date | None) -> None:
    """Sum day rows into ``kind`` rows (per channel and all channels) for whole periods."""
    days = _day_rows(branch_ids, first, last).exclude(channel=ALL_CHANNELS)
    if kind == PeriodKind.DAY:
        all_channels = days.values("branch_id", "period_start").annotate(**_sums()).order_by()
        _insert_select(kind, all_channels, "period_start", ALL_CHANNELS)
        return
    trunc = TruncWeek if kind == PeriodKind.WEEK else TruncMonth
    periods = days.annotate(period=trunc("period_start"))
    per_channel = periods.values("branch_id", "channel", "period").annotate(**_sums()).order_by()
    _insert_select(kind, per_channel, "period", None)
    all_channels = periods.values("branch_id", "period").annotate(**_sums()).order_by()
    _insert_select(kind, all_channels, "period", ALL_CHANNELS)


def _delete(kind: str, branch_ids: tuple[int, ...], first: date | None, last: date | None) -> None:
    rows = Rollup.objects.filter(kind=kind, branch_id__in=branch_ids)
    if first is not None:
        rows = rows.filter(period_start__gte=first)
    if last is not None:
        rows = rows.filter(period_start__lt=last)
    rows._raw_delete(rows.db)  # no signals or cascades to honour: skip Django's collector


def rollups_rebuild(span: DayRange) -> None:
    """Rebuild every rollup whose days fall in ``span`` (whole ISO weeks; months are
    re-summed over all their days, which are then up to date)."""
    first = week_start(span.first) if span.first else None
    last = week_start(span.last + timedelta(days=6)) if span.last else None
    whole = DayRange(span.timezone, span.branch_ids, first, last)
    months_from = month_start(first) if first else None
    months_to = next_month(last - timedelta(days=1)) if last else None
    with transaction.atomic():
        _delete(PeriodKind.DAY, whole.branch_ids, first, last)
        _insert_select(PeriodKind.DAY, _day_counts(whole), "local_day", None)
        _derive(PeriodKind.DAY, whole.branch_ids, first, last)
        _delete(PeriodKind.WEEK, whole.branch_ids, first, last)
        _derive(PeriodKind.WEEK, whole.branch_ids, first, last)
        _delete(PeriodKind.MONTH, whole.branch_ids, months_from, months_to)
        _derive(PeriodKind.MONTH, whole.branch_ids, months_from, months_to)
