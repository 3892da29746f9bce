"""Reads of the consistency engine, always limited to the branches the caller may see."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from branches.access import branch_scope
from branches.models import Branch
from consistency import stats
from consistency.models import (
    CHANNEL_SCOPES,
    COUNT_COLUMNS,
    LOW_CSAT,
    METRIC_COLUMNS,
    ConsistencyIndex,
    Flag,
    Metric,
    PeriodKind,
    Rollup,
    Severity,
)
from consistency.rollups import month_start, next_month, week_start
from consistency.services import StandardBook
from interactions.models import Interaction, Moment


def flag_queue(*, actor: Any) -> QuerySet[Flag]:
    """Flags at the caller's branches in priority order: alarms and CUSUM signals before
    warnings, then the larger |z|, the larger sample, the more critical-moment failures."""
    rank = Case(
        When(severity=Severity.WARNING, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return (
        branch_scope(actor)
        .filter(Flag.objects.select_related("branch", "branch__region", "owner"))
        .annotate(rank=rank)
        .order_by("rank", "-abs_z", "-n", "-critical_moments", "-period_start", "id")
    )


@dataclass(frozen=True)
class MetricCell:
    """One branch's metric in one period and channel, judged against the standard and its peers."""

    branch: Branch
    metric: str
    channel: str
    period_start: date
    x: int
    n: int
    detractors: int | None
    value: float | None
    target: float | None
    direction: str | None
    min_n: int | None
    standard: stats.Judgement | None
    peers: stats.Judgement | None
    pooled: float | None


def _period_rows(kind: str, period_start: date) -> list[dict[str, Any]]:
    return list(
        Rollup.objects.filter(kind=kind, period_start=period_start).values(
            "branch_id", "channel", *COUNT_COLUMNS
        )
    )


def metric_cells(
    *,
    actor: Any,
    kind: str,
    period_start: date,
    metrics: list[str] | None = None,
    channels: list[str] | None = None,
    branch_ids: list[int] | None = None,
) -> list[MetricCell]:
    """x, n, value, target, limits, z and status of every (branch, metric, channel) cell
    the caller may see in one period. Peers are the whole chain, seen or not: the pooled
    value is the chain's, whoever asks."""
    visible = branch_scope(actor).branches().select_related("region")
    if branch_ids is not None:
        visible = visible.filter(pk__in=branch_ids)
    branches = {b.pk: b for b in visible}
    targets = StandardBook().on(period_start)
    by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for counts_row in _period_rows(kind, period_start):
        by_channel[counts_row["channel"]].append(counts_row)
    cells: list[MetricCell] = []
    for metric in metrics or Metric.values:
        for channel in channels or [value for value, _ in CHANNEL_SCOPES]:
            target = targets.get((metric, channel))
            chain = by_channel[channel]
            x_col, n_col = METRIC_COLUMNS[metric]
            x = np.array([r[x_col] for r in chain], dtype=np.int64)
            n = np.array([r[n_col] for r in chain], dtype=np.int64)
            minus = (
                np.array([r["detractors"] for r in chain], dtype=np.int64)
                if metric == Metric.NPS
                else None
            )
            peers = stats.peer_model_many(x, n, target.min_n, minus) if target else None
            by_branch = {r["branch_id"]: r for r in chain}
            for branch in sorted(branches.values(), key=lambda b: b.code):
                row = by_branch.get(branch.pk)
                if row is None and target is None:
                    continue
                counts = row or dict.fromkeys(COUNT_COLUMNS, 0)
                cell = stats.Cell(
                    counts[x_col],
                    counts[n_col],
                    counts["detractors"] if minus is not None else None,
                )
                standard = peer = None
                if target is not None:
                    direction = stats.Direction(target.direction)
                    standard = stats.judge(cell, target.target, direction, target.min_n)
                    if peers is not None:
                        peer = stats.judge(cell, peers.pooled, direction, target.min_n, peers.tau2)
                cells.append(
                    MetricCell(
                        branch=branch,
                        metric=metric,
                        channel=channel,
                        period_start=period_start,
                        x=cell.x,
                        n=cell.n,
                        detractors=cell.detractors,
                        value=cell.value if cell.n else None,
                        target=target.target if target else None,
                        direction=target.direction if target else None,
                        min_n=target.min_n if target else None,
                        standard=standard,
                        peers=peer,
                        pooled=peers.pooled if peers else None,
                    )
                )
    return cells


def latest_period(kind: str) -> date:
    """The newest period of ``kind`` with rollups; the current one when there are none."""
    newest = (
        Rollup.objects.filter(kind=kind)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )
    if newest is not None:
        return newest
    today = timezone.localdate()
    if kind == PeriodKind.WEEK:
        return week_start(today)
    return month_start(today) if kind == PeriodKind.MONTH else today


def metric_trend(
    *, branch: Branch, metric: str, channel: str, kind: str, until: date, periods: int = 12
) -> list[dict[str, Any]]:
    """The branch's x, n and value for the ``periods`` periods up to ``until``."""
    x_col, n_col = METRIC_COLUMNS[metric]
    rows = (
        Rollup.objects.filter(branch=branch, kind=kind, channel=channel, period_start__lte=until)
        .order_by("-period_start")
        .values("period_start", x_col, n_col, "detractors")[:periods]
    )
    trend = []
    for row in reversed(list(rows)):
        cell = stats.Cell(
            row[x_col], row[n_col], row["detractors"] if metric == Metric.NPS else None
        )
        trend.append(
            {
                "period_start": row["period_start"],
                "x": cell.x,
                "n": cell.n,
                "value": cell.value if cell.n else None,
            }
        )
    return trend


def period_bounds(branch: Branch, kind: str, period_start: date) -> tuple[datetime, datetime]:
    """A period's start and end as times, in the branch's own time zone."""
    if kind == PeriodKind.DAY:
        end = period_start + timedelta(days=1)
    elif kind == PeriodKind.WEEK:
        end = period_start + timedelta(days=7)
    else:
        end = next_month(period_start)
    zone = ZoneInfo(branch.timezone)
    return datetime.combine(period_start, time(), zone), datetime.combine(end, time(), zone)


def moment_breakdown(*, branch: Branch, kind: str, period_start: date) -> list[dict[str, Any]]:
    """Which moments of truth drive the branch's complaints and low CSAT in the period:
    critical moments first, then by complaints and low scores."""
    start, end = period_bounds(branch, kind, period_start)
    rows = (
        Interaction.objects.alive()
        .filter(branch=branch, occurred_at__gte=start, occurred_at__lt=end, moment__isnull=False)
        .values("moment_id")
        .annotate(
            contacts=Count("id"),
            complaints=Count("id", filter=Q(is_complaint=True)),
            csat_n=Count("id", filter=Q(csat__isnull=False)),
            csat_low=Count("id", filter=Q(csat__lte=LOW_CSAT)),
        )
        .order_by()
    )
    moments = Moment.objects.select_related("cycle").in_bulk([r["moment_id"] for r in rows])
    result = [
        {
            "moment": moments[r["moment_id"]],
            "contacts": r["contacts"],
            "complaints": r["complaints"],
            "complaint_rate": r["complaints"] / r["contacts"],
            "csat_n": r["csat_n"],
            "csat_low": r["csat_low"],
            "csat_low_rate": r["csat_low"] / r["csat_n"] if r["csat_n"] else None,
        }
        for r in rows
    ]
    result.sort(
        key=lambda m: (
            not m["moment"].is_critical,
            -(m["complaints"] + m["csat_low"]),
            m["moment"].position,
        )
    )
    return result


def consistency_index(*, kind: str, since: date | None = None) -> QuerySet[ConsistencyIndex]:
    """The chain's share of (branch, metric) cells inside the peer 95 % limits, by period."""
    rows = ConsistencyIndex.objects.filter(kind=kind).order_by("period_start")
    if since is not None:
        rows = rows.filter(period_start__gte=since)
    return rows
