"""Drift: each branch's Bernoulli CUSUM per metric over its daily counts (all channels, in
time order), kept as one CUSUM flag per week in which the chart signalled, with how many
times it did."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.db.models import Count

from consistency import stats
from consistency.judging import RecomputeResult, Verdict, flags_apply, flags_by_period
from consistency.models import (
    ALL_CHANNELS,
    COUNT_COLUMNS,
    METRIC_COLUMNS,
    TYPE_METRIC_PREFIX,
    ConsistencyIndex,
    Flag,
    Metric,
    PeriodKind,
    Rollup,
    Severity,
    Target,
    TestKind,
    TypeRollup,
)
from consistency.rollups import week_start
from consistency.standard import StandardBook

CUSUM_METRICS = [m for m in Metric.values if m != Metric.NPS]  # NPS is not a Bernoulli outcome

CUSUM_CHUNK = 100  # branches charted together: memory stays bounded by branches x days


def cusum_refresh(
    branch_ids: Sequence[int], result: RecomputeResult, book: StandardBook | None = None
) -> None:
    """Run each branch's CUSUM per metric over its daily counts (all channels, in time
    order) and keep one flag per week in which a chart signalled."""
    if not branch_ids:
        return
    book = book or StandardBook()
    by_week: dict[date, list[Verdict]] = defaultdict(list)
    ordered = sorted(branch_ids)
    for start in range(0, len(ordered), CUSUM_CHUNK):
        chunk = ordered[start : start + CUSUM_CHUNK]
        rows = Rollup.objects.filter(
            kind=PeriodKind.DAY, channel=ALL_CHANNELS, branch_id__in=chunk
        ).values_list("branch_id", "period_start", *COUNT_COLUMNS)
        for week, verdicts in _cusum_charts(list(rows), book).items():
            by_week[week].extend(verdicts)
    existing = flags_by_period(
        Flag.objects.filter(test=TestKind.CUSUM, branch_id__in=branch_ids).exclude(
            metric__startswith=TYPE_METRIC_PREFIX  # charted by type_judging
        )
    )
    for week in sorted(set(by_week) | set(existing)):
        flags_apply(PeriodKind.WEEK, week, by_week.get(week, []), existing.get(week, []), result)
    charts_count(sorted(set(by_week) | set(existing)))


def charts_count(weeks: Sequence[date]) -> None:
    """Store each week's number of CUSUM charts (branch and charted metric or complaint
    type, with contacts that week) as part of its family for the false-discovery-rate
    control."""
    if not weeks:
        return
    active = (
        Rollup.objects.filter(
            kind=PeriodKind.WEEK, channel=ALL_CHANNELS, period_start__in=weeks, contacts__gt=0
        )
        .values("period_start")
        .annotate(branches=Count("branch_id"))
    )
    types = TypeRollup.objects.values("type_code").distinct().count()
    for row in active:
        ConsistencyIndex.objects.filter(
            kind=PeriodKind.WEEK, period_start=row["period_start"]
        ).update(charts=row["branches"] * (len(CUSUM_METRICS) + types))


def cusum_steps(
    x: np.ndarray, n: np.ndarray, targets: Sequence[Target | None]
) -> tuple[np.ndarray, np.ndarray]:
    """What each day (row) adds to each chart (column) given ``x`` of ``n`` that met the
    metric, and each day's threshold ``h``, from the target in force that day. Failures are
    the contacts that missed (``n - x``), or for "at most" metrics the events counted; a
    day without a usable target adds nothing and never signals."""
    charted = np.array([t is not None and 0 < t.target < 1 for t in targets])
    at_most = np.array([t is not None and t.direction == stats.Direction.AT_MOST for t in targets])
    value = np.array([t.target if t is not None else 0.5 for t in targets])
    p0 = np.where(charted, np.where(at_most, value, 1 - value), 0.5)  # failure rate
    failures = np.where(at_most[:, None], x, n - x)
    increments = np.where(charted[:, None], stats.cusum_increments(failures, n, p0[:, None]), 0.0)
    h = np.array([t.cusum_h if t is not None else np.inf for t in targets])
    return increments, h[:, None]


def _cusum_charts(rows: list[tuple[Any, ...]], book: StandardBook) -> dict[date, list[Verdict]]:
    """Chart every branch in ``rows`` (day rollups) at once, one metric at a time: a
    matrix of days (from a Monday) x branches, empty days adding nothing to a chart.
    Returns the signals by week, one per branch and metric (the week's last)."""
    verdicts: dict[date, list[Verdict]] = defaultdict(list)
    if not rows:
        return verdicts
    branches = sorted({row[0] for row in rows})
    column = {pk: i for i, pk in enumerate(branches)}
    first = week_start(min(row[1] for row in rows))
    days = (max(row[1] for row in rows) - first).days + 1
    days += -days % 7  # whole weeks
    where = (
        np.array([(row[1] - first).days for row in rows]),
        np.array([column[row[0]] for row in rows]),
    )
    counts: dict[str, np.ndarray] = {}
    for offset, name in enumerate(COUNT_COLUMNS, start=2):
        counts[name] = np.zeros((days, len(branches)))
        counts[name][where] = [row[offset] for row in rows]
    standards = [book.on(first + timedelta(days=d)) for d in range(days)]
    for metric in CUSUM_METRICS:
        x_col, n_col = METRIC_COLUMNS[metric]
        x, n = counts[x_col], counts[n_col]
        targets = [standard.get((metric, ALL_CHANNELS)) for standard in standards]
        path, signals = stats.cusum_run(*cusum_steps(x, n, targets))
        centres = [
            (t.target if (t := standards[day].get((metric, ALL_CHANNELS))) else 0.0)
            for day in range(0, days, 7)
        ]
        found = signal_verdicts(
            metric, first, branches, path, signals, (x, n, counts["critical_failures"]), centres
        )
        for week, found_verdicts in found.items():
            verdicts[week].extend(found_verdicts)
    return verdicts


def signal_verdicts(
    metric: str,
    first: date,
    branches: Sequence[int],
    path: np.ndarray,
    signals: np.ndarray,
    daily: tuple[np.ndarray, np.ndarray, np.ndarray],
    centres: Sequence[float],
) -> dict[date, list[Verdict]]:
    """Charts (days from Monday ``first`` x ``branches``) turned into one CUSUM verdict per
    branch and week in which it signalled: the week's last signal speaks for it and counts
    the others. ``daily`` holds the days' events, contacts and critical failures;
    ``centres`` each week's expected value."""
    verdicts: dict[date, list[Verdict]] = defaultdict(list)
    weekly_x, weekly_n, weekly_critical = (
        counts.reshape(-1, 7, len(branches)).sum(axis=1) for counts in daily
    )
    weekly_signals = signals.reshape(-1, 7, len(branches)).sum(axis=1)
    for day, branch in zip(*np.nonzero(signals), strict=True):
        week = first + timedelta(days=int(day) - int(day) % 7)
        if signals[day + 1 : (day // 7 + 1) * 7, branch].any():
            continue
        xs, ns = int(weekly_x[day // 7, branch]), int(weekly_n[day // 7, branch])
        verdicts[week].append(
            Verdict(
                branch_id=branches[branch],
                metric=metric,
                channel=ALL_CHANNELS,
                test=TestKind.CUSUM,
                severity=Severity.SIGNAL,
                x=xs,
                n=ns,
                critical=int(weekly_critical[day // 7, branch]),
                value=xs / ns if ns else 0.0,
                centre=centres[day // 7],
                cusum=float(path[day, branch]),
                signals=int(weekly_signals[day // 7, branch]),
            )
        )
    return verdicts
