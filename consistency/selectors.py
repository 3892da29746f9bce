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
from common.audit import history_entries
from consistency import stats
from consistency.drift import CUSUM_METRICS, cusum_steps
from consistency.judging import peers_by_period
from consistency.models import (
    ALL_CHANNELS,
    CHANNEL_SCOPES,
    COUNT_COLUMNS,
    LOW_CSAT,
    METRIC_COLUMNS,
    QA_METRICS,
    ConsistencyIndex,
    Flag,
    Metric,
    PeriodKind,
    Rollup,
    Severity,
    Standard,
    Target,
)
from consistency.rollups import month_start, next_month, week_start
from consistency.standard import StandardBook
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
    tau2: float | None = None  # the peers' between-branch variance in this period
    peer_group: str = ""  # which peers: the branch's group, or "" for the whole chain
    disputed: int | None = None  # QA metrics: reviews counted with a dispute still open


def _period_rows(kind: str, period_start: date, channels: list[str] | None) -> list[dict[str, Any]]:
    rows = Rollup.objects.filter(kind=kind, period_start=period_start)
    if channels is not None:
        rows = rows.filter(channel__in=channels)
    return list(rows.values("branch_id", "channel", *COUNT_COLUMNS))


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
    the caller may see in one period. Peers are the branch's peer group when it has enough
    branches with data, else the whole chain, seen or not: the pooled value is the same
    whoever asks. Each (metric, channel) is judged for all branches
    in one array operation."""
    visible = branch_scope(actor).branches().select_related("region")
    if branch_ids is not None:
        visible = visible.filter(pk__in=branch_ids)
    branches = sorted(visible, key=lambda b: b.code)
    targets = StandardBook().on(period_start)
    group_of = dict(Branch.objects.values_list("pk", "peer_group"))
    by_channel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for counts_row in _period_rows(kind, period_start, channels):
        by_channel[counts_row["channel"]].append(counts_row)
    empty = dict.fromkeys(COUNT_COLUMNS, 0)
    cells: list[MetricCell] = []
    for metric in metrics or Metric.values:
        x_col, n_col = METRIC_COLUMNS[metric]
        nps = metric == Metric.NPS
        for channel in channels or [value for value, _ in CHANNEL_SCOPES]:
            target = targets.get((metric, channel))
            chain = by_channel[channel]
            by_branch = {r["branch_id"]: r for r in chain}
            shown = branches if target else [b for b in branches if b.pk in by_branch]
            rows = [by_branch.get(b.pk, empty) for b in shown]
            x = np.array([r[x_col] for r in rows], dtype=np.int64)
            n = np.array([r[n_col] for r in rows], dtype=np.int64)
            minus = np.array([r["detractors"] for r in rows], dtype=np.int64) if nps else None
            disputed = [r["qa_disputed"] for r in rows] if metric in QA_METRICS else None
            standard = peer_verdicts = None
            pooled = tau2 = None
            groups = np.full(len(shown), "", dtype=object)
            if target is not None:
                direction = stats.Direction(target.direction)
                standard = stats.judge_many(
                    x, n, target.target, direction, target.min_n, detractors=minus
                )
                # Peers as the engine judges them: the branch's peer group when it is big
                # enough that period, else the whole chain (seen or not by the caller).
                chain_x = np.array([r[x_col] for r in chain], dtype=np.int64)
                chain_n = np.array([r[n_col] for r in chain], dtype=np.int64)
                chain_minus = (
                    np.array([r["detractors"] for r in chain], dtype=np.int64) if nps else None
                )
                chain_groups = np.array(
                    [group_of.get(r["branch_id"], "") for r in chain], dtype=object
                )
                centre, spread, label = peers_by_period(
                    chain_x, chain_n, np.zeros(len(chain), dtype=np.int64), chain_groups,
                    target.min_n, chain_minus,
                )  # fmt: skip
                row_of = {r["branch_id"]: i for i, r in enumerate(chain)}
                pooled = np.array(
                    [centre[row_of[b.pk]] if b.pk in row_of else np.nan for b in shown]
                )
                tau2 = np.array([spread[row_of[b.pk]] if b.pk in row_of else 0.0 for b in shown])
                groups = np.array(
                    [label[row_of[b.pk]] if b.pk in row_of else "" for b in shown], dtype=object
                )
                # A branch without a row this period is set against the chain's own value.
                chain_value = centre[(label == "") & ~np.isnan(centre)]
                pooled[np.isnan(pooled)] = chain_value[0] if len(chain_value) else np.nan
                if not np.all(np.isnan(pooled)):
                    peer_verdicts = stats.judge_many(
                        x, n, pooled, direction, target.min_n, tau2, minus
                    )
            for i, branch in enumerate(shown):
                cell = stats.Cell(int(x[i]), int(n[i]), int(minus[i]) if nps else None)  # type: ignore[index]
                has_peers = peer_verdicts is not None and pooled is not None
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
                        standard=standard.at(i, target.target) if standard and target else None,
                        peers=peer_verdicts.at(i, float(pooled[i]))  # type: ignore[index,union-attr]
                        if has_peers
                        else None,
                        pooled=float(pooled[i]) if has_peers else None,  # type: ignore[index]
                        tau2=float(tau2[i]) if has_peers else None,  # type: ignore[index]
                        peer_group=str(groups[i]),
                        disputed=disputed[i] if disputed is not None else None,
                    )
                )
    return cells


def last_complete_start(kind: str, today: date | None = None) -> date:
    """The first day of the newest period of ``kind`` that has ended by ``today``."""
    today = today or timezone.localdate()
    if kind == PeriodKind.WEEK:
        return week_start(today) - timedelta(days=7)
    if kind == PeriodKind.MONTH:
        return month_start(month_start(today) - timedelta(days=1))
    return today - timedelta(days=1)


def latest_period(kind: str) -> date:
    """What pages open on: the newest *complete* period of ``kind`` with rollups (never the
    one that has just begun, whose cells would all read "insufficient data"); the last
    complete one when there are none."""
    complete = last_complete_start(kind)
    newest = (
        Rollup.objects.filter(kind=kind, period_start__lte=complete)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )
    return newest if newest is not None else complete


def flag_trend(flag: Flag) -> list[dict[str, Any]]:
    """The flagged cell's branch, metric and channel over the periods up to the flag's."""
    return branch_trends(
        branch=flag.branch,
        channel=flag.channel,
        kind=flag.kind,
        until=flag.period_start,
        metrics=[flag.metric],
    )[flag.metric]


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


# --- the pages of the web UI -------------------------------------------------------------


@dataclass(frozen=True)
class ComparisonRow:
    branch: Branch
    cells: dict[str, MetricCell]  # by metric

    @property
    def ordered(self) -> list[MetricCell | None]:
        """The cells in the order of the metrics' list (None where there is no cell)."""
        return [self.cells.get(metric) for metric in Metric.values]


def comparison_rows(
    *, actor: Any, kind: str, period_start: date, channel: str, region_id: int | None
) -> list[ComparisonRow]:
    """Branches by metrics for one period and channel, branches in code order, each cell
    judged against the standard and the chain's peers."""
    branch_ids = None
    if region_id is not None:
        branch_ids = list(Branch.objects.filter(region_id=region_id).values_list("pk", flat=True))
    rows: dict[int, ComparisonRow] = {}
    for cell in metric_cells(
        actor=actor, kind=kind, period_start=period_start, channels=[channel], branch_ids=branch_ids
    ):
        rows.setdefault(cell.branch.pk, ComparisonRow(cell.branch, {})).cells[cell.metric] = cell
    return sorted(rows.values(), key=lambda row: row.branch.code)


def comparison_sort(rows: list[ComparisonRow], metric: str, descending: bool) -> None:
    """Order by one metric's value, cells without data last whichever way."""
    with_value = [r for r in rows if metric in r.cells and r.cells[metric].value is not None]
    without = [r for r in rows if r not in with_value]
    with_value.sort(key=lambda r: r.cells[metric].value or 0.0, reverse=descending)
    rows[:] = with_value + without


@dataclass(frozen=True)
class FunnelCurves:
    """Limits along a grid of sample sizes: around the target and around the peers."""

    n: list[int]
    target: float | None
    pooled: float | None
    standard: dict[str, list[float]]  # lower95, upper95, lower998, upper998
    peers: dict[str, list[float]]


def _curves(judged: stats.Judgements) -> dict[str, list[float]]:
    return {
        name: [float(v) for v in getattr(judged, name)]
        for name in ("lower95", "upper95", "lower998", "upper998")
    }


def funnel_curves(cells: list[MetricCell], kind: str, period_start: date) -> FunnelCurves | None:
    """The funnel's limit lines for the cells of one metric and channel, from the smallest
    judged sample to a little beyond the largest."""
    judged = [c for c in cells if c.target is not None and c.min_n is not None]
    if not judged:
        return None
    first = judged[0]
    assert first.target is not None  # noqa: S101 - judged cells have a target
    assert first.min_n is not None  # noqa: S101
    assert first.direction is not None  # noqa: S101
    biggest = max([c.n for c in judged] + [first.min_n * 2])
    grid = np.unique(np.geomspace(max(first.min_n, 1), biggest * 1.15, 80).round().astype(int))
    direction = stats.Direction(first.direction)
    detractors: Any = None
    shares = np.full(grid.shape, first.target)
    if first.metric == Metric.NPS:
        # The trinomial variance needs promoter and detractor shares: the chain's.
        rows = Rollup.objects.filter(
            kind=kind, period_start=period_start, channel=first.channel
        ).values_list("promoters", "detractors", "nps_n")
        columns = list(zip(*rows, strict=True)) or [(0,), (0,), (0,)]
        plus, minus, total = (sum(column) for column in columns)
        plus_share, minus_share = (plus / total, minus / total) if total else (0.5, 0.2)
        shares, detractors = np.full(grid.shape, plus_share), grid * minus_share
    standard = stats.judge_many(
        shares * grid, grid, first.target, direction, 1, detractors=detractors
    )
    peer_cells = [c for c in judged if c.peers is not None]
    peers: dict[str, list[float]] = {}
    pooled = first.pooled
    if peer_cells and pooled is not None:
        tau2 = peer_cells[0].tau2 or 0.0
        peer_shares = shares if first.metric == Metric.NPS else np.full(grid.shape, pooled)
        peers = _curves(
            stats.judge_many(peer_shares * grid, grid, pooled, direction, 1, tau2, detractors)
        )
    return FunnelCurves(
        n=grid.tolist(), target=first.target, pooled=pooled, standard=_curves(standard), peers=peers
    )


def branch_trends(
    *,
    branch: Branch,
    channel: str,
    kind: str,
    until: date,
    periods: int = 12,
    metrics: list[str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Each metric's (or each of ``metrics``') x, n and value per period up to ``until``,
    with its status and limits around the target in force then (one query for all)."""
    rows = list(
        Rollup.objects.filter(branch=branch, kind=kind, channel=channel, period_start__lte=until)
        .order_by("-period_start")
        .values("period_start", *COUNT_COLUMNS)[:periods]
    )[::-1]
    book = StandardBook()
    trends: dict[str, list[dict[str, Any]]] = {}
    for metric in metrics or Metric.values:
        x_col, n_col = METRIC_COLUMNS[metric]
        points: list[dict[str, Any]] = []
        for row in rows:
            target = book.on(row["period_start"]).get((metric, channel))
            cell = stats.Cell(
                row[x_col], row[n_col], row["detractors"] if metric == Metric.NPS else None
            )
            judged = (
                stats.judge(cell, target.target, stats.Direction(target.direction), target.min_n)
                if target
                else None
            )
            points.append(
                {
                    "period_start": row["period_start"],
                    "x": cell.x,
                    "n": cell.n,
                    "value": cell.value if cell.n else None,
                    "target": target.target if target else None,
                    "status": judged.status if judged else stats.Status.INSUFFICIENT,
                    "limits95": judged.limits95 if judged else None,
                    "limits998": judged.limits998 if judged else None,
                }
            )
        trends[metric] = points
    return trends


def branch_cusum(*, branch: Branch, until: date, weeks: int = 12) -> dict[str, dict[str, Any]]:
    """The branch's CUSUM chart per metric over the ``weeks`` weeks up to ``until``'s
    week, day by day from the daily rollups: value, threshold and the days it signalled."""
    last = week_start(until) + timedelta(days=6)
    first = last - timedelta(days=weeks * 7 - 1)
    days = [first + timedelta(days=d) for d in range(weeks * 7)]
    counts = {
        row["period_start"]: row
        for row in Rollup.objects.filter(
            branch=branch,
            kind=PeriodKind.DAY,
            channel=ALL_CHANNELS,
            period_start__range=(first, last),
        ).values("period_start", *COUNT_COLUMNS)
    }
    book = StandardBook()
    standards = [book.on(day) for day in days]
    charts: dict[str, dict[str, Any]] = {}
    for metric in CUSUM_METRICS:
        x_col, n_col = METRIC_COLUMNS[metric]
        x = np.array([[counts.get(day, {}).get(x_col, 0)] for day in days], dtype=float)
        n = np.array([[counts.get(day, {}).get(n_col, 0)] for day in days], dtype=float)
        targets = [standard.get((metric, ALL_CHANNELS)) for standard in standards]
        increments, h = cusum_steps(x, n, targets)
        path, signals = stats.cusum_run(increments, h)
        charts[metric] = {
            "days": days,
            "value": path[:, 0].tolist(),
            "h": [float(v) if np.isfinite(v) else None for v in h[:, 0]],
            "signals": [days[i] for i in np.flatnonzero(signals[:, 0])],
        }
    return charts


def flag_history(flag: Flag) -> list[dict[str, Any]]:
    """The flag's events as audit entries, newest first."""
    return lifecycle_entries(flag.events.all())


def lifecycle_entries(events: QuerySet[Any]) -> list[dict[str, Any]]:
    """Lifecycle events (of a flag or a case) as audit entries (the shape of
    common.audit.history_entries), newest first."""
    events = events.select_related("actor").order_by("-at", "-id")
    return [
        {
            "at": e.at,
            "action": e.action,
            "user": e.actor.get_username() if e.actor else None,
            "via": e.changed_via,
            "integration": e.changed_by_integration,
            "address": e.changed_from,
            "source": e.source_label,
            "changes": {"status": [e.from_status, e.to_status]}
            if e.from_status != e.to_status
            else {},
            "note": e.note,
        }
        for e in events
    ]


def standard_history(standard: Standard) -> list[dict[str, Any]]:
    """Changes to a version of the standard and to each of its targets (removed ones
    too), newest first; a target's entries are labelled with its metric and channel."""
    entries = history_entries(standard.history.all())
    target_rows = Target.history.filter(standard_id=standard.pk)
    # order_by(): the history default ordering would make DISTINCT one per history row.
    for target_id in target_rows.order_by().values_list("id", flat=True).distinct():
        rows = Target.history.filter(id=target_id)
        latest = rows.order_by("-history_date").first()
        for entry in history_entries(rows):
            entry["action"] = f"target {latest.metric}/{latest.channel} {entry['action']}"
            entries.append(entry)
    return sorted(entries, key=lambda e: e["at"], reverse=True)
