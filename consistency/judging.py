"""Judging cells: every branch's rollups of a period against the standard and against
its peers, turned into flags (one per branch, metric, channel, period and test) that are
created, updated, reopened or cleared as the data changes. Flags are evidence; the
statistics are ``consistency.stats``, the p-values ``consistency.case_rules``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone

from branches.models import Branch
from common.events import emit
from consistency import case_rules, stats
from consistency.models import (
    ALL_CHANNELS,
    COUNT_COLUMNS,
    METRIC_COLUMNS,
    TYPE_METRIC_PREFIX,
    ConsistencyIndex,
    Flag,
    FlagEvent,
    FlagStatus,
    Metric,
    Rollup,
    Severity,
    Target,
    TestKind,
)
from consistency.standard import StandardBook

FLAGGED = {stats.Status.WARNING: Severity.WARNING, stats.Status.ALARM: Severity.ALARM}


@dataclass
class RecomputeResult:
    branches: int = 0
    periods: int = 0
    flags_open: int = 0
    flags_cleared: int = 0
    cases_opened: int = 0
    cases_resolved: int = 0
    case_events: int = 0  # events to announce (openings, escalations, relapses)


@dataclass
class Verdict:
    branch_id: int
    metric: str
    channel: str
    test: str
    severity: str
    x: int
    n: int
    value: float
    centre: float
    limits: tuple[float | None, float | None, float | None, float | None] = (None,) * 4
    z: float | None = None
    cusum: float | None = None
    critical: int = 0  # complaints or low CSAT at critical moments of truth in the cell
    p_value: float | None = None
    signals: int = 0
    peer_group: str = ""

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (self.branch_id, self.metric, self.channel, self.test)


def _numbers(values: np.ndarray) -> list[float | None]:
    """Floats for the database: NaN (no such limit) becomes None."""
    return [None if v != v else v for v in values.tolist()]  # NaN is the one unequal float


def flags_refresh(
    kind: str, periods: Sequence[date], book: StandardBook, result: RecomputeResult
) -> None:
    """Judge every branch's cells of ``periods`` against the standard and against the
    chain's other branches in the same period, and bring those periods' flags (and index)
    up to date. Every cell of a (metric, channel) is judged in one array operation."""
    periods = sorted(periods)
    if not periods:
        return
    rows = list(
        Rollup.objects.filter(kind=kind, period_start__in=periods).values_list(
            "period_start", "branch_id", "channel", *COUNT_COLUMNS
        )
    )
    index = {period: i for i, period in enumerate(periods)}
    period = np.array([index[row[0]] for row in rows], dtype=np.int64)
    branch = np.array([row[1] for row in rows], dtype=np.int64)
    channel = np.array([row[2] for row in rows])
    counts = {
        name: np.array([row[i] for row in rows], dtype=np.int64)
        for i, name in enumerate(COUNT_COLUMNS, start=3)
    }
    group_of = dict(Branch.objects.values_list("pk", "peer_group"))
    group = np.array([group_of.get(pk, "") for pk in branch.tolist()], dtype=object)
    verdicts: dict[int, list[Verdict]] = defaultdict(list)
    inside = np.zeros(len(periods), dtype=np.int64)
    cells = np.zeros(len(periods), dtype=np.int64)
    tests = np.zeros(len(periods), dtype=np.int64)  # the period's family (case_rules)
    for targets, in_force in _periods_by_standard(periods, book):
        for (metric, scope), target in targets.items():
            rows_of = np.flatnonzero(np.isin(period, in_force) & (channel == scope))
            if not len(rows_of):
                continue
            x_col, n_col = METRIC_COLUMNS[metric]
            x, n, p = counts[x_col][rows_of], counts[n_col][rows_of], period[rows_of]
            minus = counts["detractors"][rows_of] if metric == Metric.NPS else None
            critical = counts["critical_failures"][rows_of]
            direction = stats.Direction(target.direction)
            centre = np.full(len(rows_of), target.target)
            everyone = np.arange(len(rows_of))
            judged = [
                (
                    TestKind.STANDARD,
                    everyone,
                    centre,
                    np.zeros(len(rows_of)),
                    stats.judge_many(x, n, centre, direction, target.min_n, 0.0, minus),
                )
            ]
            np.add.at(tests, p, n >= target.min_n)
            pooled, tau2, peers = peers_by_period(x, n, p, group[rows_of], target.min_n, minus)
            has = np.flatnonzero(~np.isnan(pooled))
            if len(has):
                np.add.at(tests, p[has], n[has] >= target.min_n)
                peer = stats.judge_many(
                    x[has],
                    n[has],
                    pooled[has],
                    direction,
                    target.min_n,
                    tau2[has],
                    None if minus is None else minus[has],
                )
                judged.append((TestKind.PEERS, has, pooled[has], tau2[has], peer))
                if scope == ALL_CHANNELS:
                    enough = n[has] >= target.min_n
                    np.add.at(inside, p[has], peer.inside95() & enough)
                    np.add.at(cells, p[has], enough)
            for test, at, centres, spread, j in judged:
                for week, verdict in verdicts_from(
                    metric=metric,
                    scope=scope,
                    test=test,
                    direction=direction,
                    judged=j,
                    at=at,
                    centres=centres,
                    spread=spread,
                    cells=Cells(x, n, p, branch[rows_of], critical, minus),
                    peers=peers if test == TestKind.PEERS else None,
                ):
                    verdicts[week].append(verdict)
    existing = flags_by_period(
        Flag.objects.filter(
            kind=kind, period_start__in=periods, test__in=[TestKind.STANDARD, TestKind.PEERS]
        ).exclude(metric__startswith=TYPE_METRIC_PREFIX)  # judged by type_judging
    )
    for i, start in enumerate(periods):
        flags_apply(kind, start, verdicts.get(i, []), existing.get(start, []), result)
    ConsistencyIndex.objects.bulk_create(
        [
            ConsistencyIndex(
                kind=kind,
                period_start=start,
                inside=int(inside[i]),
                cells=int(cells[i]),
                tests=int(tests[i]),
            )
            for i, start in enumerate(periods)
        ],
        update_conflicts=True,
        unique_fields=["kind", "period_start"],
        update_fields=["inside", "cells", "tests"],
    )


class Cells(NamedTuple):
    """Judged cells side by side: events, sample sizes, period indices, branch ids, failures
    at critical moments and (NPS) detractors."""

    x: np.ndarray
    n: np.ndarray
    period: np.ndarray
    branch: np.ndarray
    critical: np.ndarray
    minus: np.ndarray | None = None


def verdicts_from(
    *,
    metric: str,
    scope: str,
    test: str,
    direction: stats.Direction,
    judged: stats.Judgements,
    at: np.ndarray,
    centres: np.ndarray,
    spread: np.ndarray,
    cells: Cells,
    peers: np.ndarray | None,
) -> list[tuple[int, Verdict]]:
    """The flagged cells of one test as verdicts, with their period index. ``judged`` and
    ``centres``/``spread`` describe the cells ``at`` (indices into ``cells``); ``peers``
    names each cell's peer group (peer test only)."""
    flagged = judged.flagged()
    cell = at[flagged]
    x, n, period = cells.x[cell], cells.n[cell], cells.period[cell]
    bounds = (judged.lower95, judged.upper95, judged.lower998, judged.upper998)
    if cells.minus is None:
        p_values = case_rules.bad_side_p(x, n, centres[flagged], spread[flagged], direction)
    else:
        p_values = case_rules.normal_bad_side_p(judged.z[flagged], direction)
    labels = peers[cell] if peers is not None else np.full(len(cell), "")
    columns = zip(
        period.tolist(),
        cells.branch[cell].tolist(),
        judged.codes[flagged].tolist(),
        x.tolist(),
        n.tolist(),
        cells.critical[cell].tolist(),
        judged.value[flagged].tolist(),
        centres[flagged].tolist(),
        zip(*(_numbers(bound[flagged]) for bound in bounds), strict=True),
        _numbers(judged.z[flagged]),
        p_values.tolist(),
        labels.tolist(),
        strict=True,
    )
    return [
        (
            week,
            Verdict(
                branch_id=pk,
                metric=metric,
                channel=scope,
                test=test,
                severity=FLAGGED[stats.STATUS_CODES[code]],
                x=xs,
                n=ns,
                critical=failures,
                value=value,
                centre=middle,
                limits=limits,
                z=z,
                p_value=pv,
                peer_group=peer_group,
            ),
        )
        for week, pk, code, xs, ns, failures, value, middle, limits, z, pv, peer_group in columns
    ]


def _periods_by_standard(
    periods: Sequence[date], book: StandardBook
) -> list[tuple[dict[tuple[str, str], Target], list[int]]]:
    """The periods (as indices) grouped by the version of the standard in force."""
    groups: dict[int | None, list[int]] = defaultdict(list)
    for i, start in enumerate(periods):
        groups[book.version_on(start)].append(i)
    return [(book.targets.get(version, {}), indices) for version, indices in groups.items()]


MIN_PEER_GROUP = 8  # branches with enough data a peer group needs to be pooled on its own


def peers_by_period(
    x: np.ndarray,
    n: np.ndarray,
    period: np.ndarray,
    group: np.ndarray,
    min_n: int,
    minus: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's peer centre and between-branch variance τ² for its period, and which
    peers gave them: its peer group when the group has MIN_PEER_GROUP branches with enough
    data that period, else the whole chain (""). NaN where there are no peers."""
    pooled = np.full(len(x), np.nan)
    tau2 = np.zeros(len(x))
    label = np.full(len(x), "", dtype=object)
    for p in np.unique(period):
        mine = period == p
        pools = [("", mine)]
        for name in {g for g in group[mine].tolist() if g}:
            members = mine & (group == name)
            if int((n[members] >= max(min_n, 1)).sum()) >= MIN_PEER_GROUP:
                pools.append((name, members))
        for name, members in pools:  # the chain first, then the groups over it
            model = stats.peer_model_many(
                x[members], n[members], min_n, None if minus is None else minus[members]
            )
            if model is not None:
                pooled[members], tau2[members], label[members] = model.pooled, model.tau2, name
    return pooled, tau2, label


class FlagState(NamedTuple):
    """What deciding whether a flag changes takes; flags that do change are then loaded
    whole (most flags of a recompute stay as they are)."""

    pk: int
    period_start: date
    branch_id: int
    metric: str
    channel: str
    test: str
    status: str
    severity: str
    x: int
    n: int
    centre: float
    critical_moments: int
    signals: int
    peer_group: str


FLAG_EVIDENCE = [
    "status", "severity", "x", "n", "value", "centre", "lower95", "upper95", "lower998",
    "upper998", "z", "abs_z", "cusum", "critical_moments", "updated_at", "p_value",
    "signals", "peer_group",
]  # fmt: skip


def flags_by_period(flags: QuerySet[Flag]) -> dict[date, list[FlagState]]:
    by_period: dict[date, list[FlagState]] = defaultdict(list)
    for row in flags.values_list(*FlagState._fields):
        state = FlagState(*row)
        by_period[state.period_start].append(state)
    return by_period


def flags_apply(
    kind: str,
    period_start: date,
    verdicts: Sequence[Verdict],
    existing_rows: Sequence[FlagState],
    result: RecomputeResult,
) -> None:
    """Create, update, reopen or clear the flags of one period so they match ``verdicts``."""
    now = timezone.now()
    existing = {(f.branch_id, f.metric, f.channel, f.test): f for f in existing_rows}
    moves: list[tuple[FlagState | None, Verdict]] = []  # (the flag as it is, its new verdict)
    for verdict in verdicts:
        state = existing.pop(verdict.key, None)
        unchanged = (
            state is not None
            and state.status != FlagStatus.CLEARED
            and state.severity == verdict.severity
            and _same_evidence(state, verdict)
        )
        if not unchanged:
            moves.append((state, verdict))
    gone = [state for state in existing.values() if state.status not in Flag.CLOSED]
    # The rows to change are locked (in id order) and their status read again under the
    # lock: a manager's step taken since they were read is kept, never overwritten.
    locked = (
        Flag.objects.select_for_update(no_key=True)
        .filter(pk__in=[s.pk for s, _ in moves if s is not None] + [s.pk for s in gone])
        .order_by("pk")
    )
    full = {flag.pk: flag for flag in locked}
    gone = [state for state in gone if full[state.pk].status not in Flag.CLOSED]
    created: list[Flag] = []
    changed: list[Flag] = []
    history: list[FlagEvent] = []
    for state in gone:  # no longer diverging
        flag = full[state.pk]
        history.append(
            _moved(flag, "cleared", FlagStatus.CLEARED, "New data removed the evidence.")
        )
        flag.updated_at = now
        changed.append(flag)
        result.flags_cleared += 1
    for state, verdict in moves:
        if state is None:
            flag = Flag(
                branch_id=verdict.branch_id,
                metric=verdict.metric,
                channel=verdict.channel,
                kind=kind,
                period_start=period_start,
                test=verdict.test,
                opened_at=now,
            )
            created.append(flag)
        else:
            flag = full[state.pk]
            if flag.status == FlagStatus.CLEARED:
                history.append(_moved(flag, "reopened", FlagStatus.OPEN, "The divergence is back."))
            changed.append(flag)
        flag.severity = verdict.severity
        flag.x, flag.n, flag.value, flag.centre = (
            verdict.x,
            verdict.n,
            verdict.value,
            verdict.centre,
        )
        flag.lower95, flag.upper95, flag.lower998, flag.upper998 = verdict.limits
        flag.z = verdict.z
        flag.abs_z = abs(verdict.z) if verdict.z is not None and np.isfinite(verdict.z) else 0.0
        flag.cusum = verdict.cusum
        flag.critical_moments = verdict.critical
        flag.p_value = verdict.p_value
        flag.signals = verdict.signals
        flag.peer_group = verdict.peer_group
        flag.updated_at = now
    Flag.objects.bulk_create(created)
    history += [FlagEvent(flag=f, action="opened", to_status=FlagStatus.OPEN) for f in created]
    if changed:
        Flag.objects.bulk_update(changed, FLAG_EVIDENCE)
    FlagEvent.objects.bulk_create(history)
    result.flags_open += len(created)
    emit([*(("flag.opened", f) for f in created), *(("flag.updated", f) for f in changed)])


def _moved(flag: Flag, action: str, to_status: str, note: str) -> FlagEvent:
    """Move a flag on the data's behalf (no actor) and return the history entry."""
    event = FlagEvent(
        flag=flag, action=action, from_status=flag.status, to_status=to_status, note=note
    )
    flag.status = to_status
    return event


def _same_evidence(flag: FlagState, verdict: Verdict) -> bool:
    return (
        flag.x,
        flag.n,
        flag.centre,
        flag.critical_moments,
        flag.signals,
        flag.peer_group,
    ) == (
        verdict.x,
        verdict.n,
        verdict.centre,
        verdict.critical,
        verdict.signals,
        verdict.peer_group,
    )
