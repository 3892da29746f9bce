"""Complaint types judged one by one (SPEC §10): a type can diverge while the total
complaint rate does not. Each type's rate (its complaints over the period's contacts) is
tested against the branch's peers with the funnel of the complaint rate (the peer test's
overdispersed limits, exact binomial ones where fewer than 5 complaints are expected; the
standard sets no target per type), and charted with a Bernoulli
CUSUM whose in-control rate is the chain's own rate of that type. The flags and cases that
come of it are the engine's usual ones, under the metric ``complaint_rate:<type code>``.

The minimum sample and the CUSUM threshold are the total complaint rate's (a type's rate
is lower, so a chart at that threshold signals less often in control, not more).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
from django.db.models import F, Sum

from branches.models import Branch
from consistency import stats
from consistency.drift import CUSUM_CHUNK, charts_count, signal_verdicts
from consistency.judging import (
    Cells,
    RecomputeResult,
    Verdict,
    flags_apply,
    flags_by_period,
    peers_by_period,
    verdicts_from,
)
from consistency.models import (
    ALL_CHANNELS,
    TYPE_METRIC_PREFIX,
    ConsistencyIndex,
    Flag,
    Metric,
    PeriodKind,
    Rollup,
    TestKind,
    TypeRollup,
    type_metric,
)
from consistency.rollups import week_start
from consistency.standard import StandardBook

AT_MOST = stats.Direction.AT_MOST
# Fewer complaints of a type than this at a branch in a week are anecdote, not evidence:
# each complaint is handled on its own, and with a type the chain sees a few times a week
# one complaint alone lies beyond the (interpolated) exact limits. Such cells are judged
# (they count in the family of tests) but never flagged; the CUSUM's weeks likewise.
MIN_COMPLAINTS = 3
TOTAL = (Metric.COMPLAINTS.value, ALL_CHANNELS)


def type_flags_refresh(
    kind: str, periods: Sequence[date], book: StandardBook, result: RecomputeResult
) -> None:
    """Judge every type's rate at every branch in ``periods`` against its peers and bring
    the per-type peer flags of those periods up to date; the tests made join the periods'
    families (run right after ``flags_refresh`` of the same periods)."""
    periods = sorted(periods)
    if not periods:
        return
    index = {period: i for i, period in enumerate(periods)}
    contacts = list(
        Rollup.objects.filter(
            kind=kind, period_start__in=periods, channel=ALL_CHANNELS, contacts__gt=0
        ).values_list("period_start", "branch_id", "contacts")
    )
    cell_of = {(row[0], row[1]): i for i, row in enumerate(contacts)}
    period = np.array([index[row[0]] for row in contacts], dtype=np.int64)
    branch = np.array([row[1] for row in contacts], dtype=np.int64)
    n = np.array([row[2] for row in contacts], dtype=np.int64)
    group_of = dict(Branch.objects.values_list("pk", "peer_group"))
    group = np.array([group_of.get(pk, "") for pk in branch.tolist()], dtype=object)
    counts: dict[str, np.ndarray] = {}
    for start, branch_id, code, complaints in TypeRollup.objects.filter(
        kind=kind, period_start__in=periods
    ).values_list("period_start", "branch_id", "type_code", "complaints"):
        if (start, branch_id) in cell_of:
            counts.setdefault(code, np.zeros(len(contacts), dtype=np.int64))
            counts[code][cell_of[(start, branch_id)]] = complaints
    min_n = np.array([_min_n(book, start) for start in periods], dtype=np.int64)[period]
    tests = np.zeros(len(periods), dtype=np.int64)
    verdicts: dict[int, list[Verdict]] = defaultdict(list)
    for code, x in sorted(counts.items()):
        for floor in np.unique(min_n).tolist():
            rows = np.flatnonzero(min_n == floor)
            x_of, n_of, p_of = x[rows], n[rows], period[rows]
            pooled, tau2, peers = peers_by_period(x_of, n_of, p_of, group[rows], floor, None)
            has = np.flatnonzero(~np.isnan(pooled))
            if not len(has):
                continue
            np.add.at(tests, p_of[has], n_of[has] >= floor)
            # A rare type expects under 5 complaints at most branches: exact binomial limits
            # there (as SPEC §4 asks where n·p < 5), not the normal ones widened by τ²,
            # which would flag a single complaint of a type the chain seldom sees.
            spread = np.where(n_of[has] * pooled[has] < 5, 0.0, tau2[has])
            judged = stats.judge_many(x_of[has], n_of[has], pooled[has], AT_MOST, floor, spread)
            found = verdicts_from(
                metric=type_metric(code),
                scope=ALL_CHANNELS,
                test=TestKind.PEERS,
                direction=AT_MOST,
                judged=judged,
                at=has,
                centres=pooled[has],
                spread=spread,
                cells=Cells(x_of, n_of, p_of, branch[rows], np.zeros(len(rows), dtype=np.int64)),
                peers=peers,
            )
            for week, verdict in found:
                if verdict.x >= MIN_COMPLAINTS:
                    verdicts[week].append(verdict)
    existing = flags_by_period(
        Flag.objects.filter(
            kind=kind,
            period_start__in=periods,
            test=TestKind.PEERS,
            metric__startswith=TYPE_METRIC_PREFIX,
        )
    )
    for i, start in enumerate(periods):
        flags_apply(kind, start, verdicts.get(i, []), existing.get(start, []), result)
        if tests[i]:
            ConsistencyIndex.objects.filter(kind=kind, period_start=start).update(
                tests=F("tests") + int(tests[i])
            )


def _min_n(book: StandardBook, day: date) -> int:
    target = book.on(day).get(TOTAL)
    return target.min_n if target is not None else 20


def type_cusum_refresh(
    branch_ids: Sequence[int], result: RecomputeResult, book: StandardBook
) -> None:
    """Chart each branch's complaints of each type day by day (CUSUM, odds ratio 2, the
    chain's rate of the type as the in-control rate) and keep one flag per week in which
    a chart signalled."""
    if not branch_ids:
        return
    chain = _chain_rates()
    by_week: dict[date, list[Verdict]] = defaultdict(list)
    ordered = sorted(branch_ids)
    for start in range(0, len(ordered), CUSUM_CHUNK):
        for week, verdicts in _charts(ordered[start : start + CUSUM_CHUNK], chain, book).items():
            by_week[week].extend(verdicts)
    existing = flags_by_period(
        Flag.objects.filter(
            test=TestKind.CUSUM, branch_id__in=branch_ids, metric__startswith=TYPE_METRIC_PREFIX
        )
    )
    weeks = sorted(set(by_week) | set(existing))
    for week in weeks:
        flags_apply(PeriodKind.WEEK, week, by_week.get(week, []), existing.get(week, []), result)
    charts_count(weeks)


def _chain_rates() -> dict[str, float]:
    """Each type's share of the chain's contacts over every day counted."""
    total = (
        Rollup.objects.filter(kind=PeriodKind.DAY, channel=ALL_CHANNELS).aggregate(
            contacts=Sum("contacts")
        )["contacts"]
        or 0
    )
    if not total:
        return {}
    rows = (
        TypeRollup.objects.filter(kind=PeriodKind.DAY)
        .values("type_code")
        .annotate(complaints=Sum("complaints"))
        .order_by()
    )
    return {row["type_code"]: row["complaints"] / total for row in rows if row["complaints"]}


def _charts(
    branch_ids: Sequence[int], chain: dict[str, float], book: StandardBook
) -> dict[date, list[Verdict]]:
    contacts = list(
        Rollup.objects.filter(
            kind=PeriodKind.DAY, channel=ALL_CHANNELS, branch_id__in=branch_ids
        ).values_list("branch_id", "period_start", "contacts")
    )
    verdicts: dict[date, list[Verdict]] = defaultdict(list)
    if not contacts:
        return verdicts
    branches = sorted({row[0] for row in contacts})
    column = {pk: i for i, pk in enumerate(branches)}
    first = week_start(min(row[1] for row in contacts))
    days = (max(row[1] for row in contacts) - first).days + 1
    days += -days % 7
    n = np.zeros((days, len(branches)))
    n[[(row[1] - first).days for row in contacts], [column[row[0]] for row in contacts]] = [
        row[2] for row in contacts
    ]
    x: dict[str, np.ndarray] = {}
    for branch_id, day, code, complaints in TypeRollup.objects.filter(
        kind=PeriodKind.DAY, branch_id__in=branch_ids, period_start__gte=first
    ).values_list("branch_id", "period_start", "type_code", "complaints"):
        if code in chain and (day - first).days < days:
            x.setdefault(code, np.zeros((days, len(branches))))
            x[code][(day - first).days, column[branch_id]] = complaints
    thresholds = [book.on(first + timedelta(days=d)).get(TOTAL) for d in range(days)]
    h = np.array([t.cusum_h if t is not None else np.inf for t in thresholds])[:, None]
    for code, events in sorted(x.items()):
        p0 = chain[code]
        if not 0 < p0 < 1:
            continue
        path, signals = stats.cusum_run(stats.cusum_increments(events, n, p0), h)
        centres = [p0] * (days // 7)
        found = signal_verdicts(
            type_metric(code), first, branches, path, signals, (events, n, 0 * n), centres
        )
        for week, found_verdicts in found.items():
            verdicts[week].extend(v for v in found_verdicts if v.x >= MIN_COMPLAINTS)
    return verdicts
