"""Writes of the consistency engine: marking stale days, recomputing rollups and flags,
and the flag lifecycle. The statistics themselves live in ``consistency.stats``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from branches.access import IntegrationPrincipal, branch_scope, is_manager
from branches.models import Branch
from common.audit import current_audit
from common.events import emit
from common.queueing import enqueue
from consistency import stats
from consistency.models import (
    ALL_CHANNELS,
    COUNT_COLUMNS,
    METRIC_COLUMNS,
    ConsistencyIndex,
    DirtyDay,
    Flag,
    FlagEvent,
    FlagStatus,
    Metric,
    PeriodKind,
    Rollup,
    Severity,
    Standard,
    Target,
    TestKind,
)
from consistency.notifications import RECENT_DAYS
from consistency.rollups import DayRange, rollups_rebuild, week_start
from interactions.models import Interaction

Progress = Callable[[str, int, int], None]
FLAGGED = {stats.Status.WARNING: Severity.WARNING, stats.Status.ALARM: Severity.ALARM}
CUSUM_METRICS = [m for m in Metric.values if m != Metric.NPS]  # NPS is not a Bernoulli outcome


# --- the standard ---------------------------------------------------------------------------


class StandardBook:
    """The standard's versions, loaded once per recompute: which targets apply on a day."""

    def __init__(self) -> None:
        self.versions = list(Standard.objects.order_by("-effective_from"))
        targets: dict[int | None, dict[tuple[str, str], Target]] = defaultdict(dict)
        for target in Target.objects.all():
            targets[target.standard_id][(target.metric, target.channel)] = target
        self.targets: dict[int | None, dict[tuple[str, str], Target]] = dict(targets)

    def version_on(self, day: date) -> int | None:
        """The id of the version in force on ``day`` (None before the first)."""
        return next((v.pk for v in self.versions if v.effective_from <= day), None)

    def on(self, day: date) -> dict[tuple[str, str], Target]:
        return self.targets.get(self.version_on(day), {})


# --- marking stale days ---------------------------------------------------------------------


def days_mark_dirty(pairs: Iterable[tuple[int, date]]) -> None:
    rows = [DirtyDay(branch_id=branch_id, day=day) for branch_id, day in set(pairs)]
    DirtyDay.objects.bulk_create(rows, ignore_conflicts=True)


def _local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def data_mark_dirty(sender: Any, events: Sequence[tuple[str, Any]], **kwargs: Any) -> None:
    """Receiver of ``common.events.domain_events``: every created, changed or deleted
    interaction makes its branch-day stale, and so does the day it was moved away from;
    a branch moved to another time zone makes all its days stale."""
    for kind, branch in events:
        if kind == "branch.timezone_changed":
            _branch_history_mark_dirty(branch)
    changed = [
        i for kind, i in events if isinstance(i, Interaction) and kind.startswith("interaction.")
    ]
    if not changed:
        return
    places = set()
    for interaction in changed:
        places.add((interaction.branch_id, interaction.occurred_at))
        origin = getattr(interaction, "_origin", None)
        if origin and origin[0] and origin[1]:
            places.add(origin)
    zones = dict(Branch.objects.filter(pk__in={b for b, _ in places}).values_list("pk", "timezone"))
    days_mark_dirty((b, _local_day(t, zones[b])) for b, t in places if b in zones)
    if settings.CONSISTENCY_RECOMPUTE_AFTER_WRITE:
        # The embedded demo has no beat: bring the numbers up to date once the write lands.
        from consistency.tasks import dirty_days_recompute as recompute_task

        transaction.on_commit(lambda: enqueue(recompute_task), robust=True)


def _branch_history_mark_dirty(branch: Branch) -> None:
    """Every local day from the branch's first interaction to its last (a day's margin
    each side, for days that were local under the old zone)."""
    span = Interaction.objects.filter(branch=branch).aggregate(
        first=Min("occurred_at"), last=Max("occurred_at")
    )
    if span["first"] is None:
        return
    first = _local_day(span["first"], branch.timezone) - timedelta(days=1)
    last = _local_day(span["last"], branch.timezone) + timedelta(days=1)
    days_mark_dirty((branch.pk, first + timedelta(days=d)) for d in range((last - first).days + 1))


# --- recomputing ----------------------------------------------------------------------------


@dataclass
class RecomputeResult:
    branches: int = 0
    periods: int = 0
    flags_open: int = 0
    flags_cleared: int = 0
    alarms: list[int] = field(default_factory=list)  # ids of flags that newly became alarms


def _quiet(label: str, done: int, total: int) -> None:
    return None


def consistency_recompute(
    *,
    since: date | None = None,
    branch_ids: Sequence[int] | None = None,
    progress: Progress = _quiet,
) -> RecomputeResult:
    """Rebuild rollups (from ``since``, for some or all branches), then the flags of every
    week they touch, the CUSUM charts and the consistency index. Idempotent."""
    branches = Branch.objects.all()
    if branch_ids is not None:
        branches = branches.filter(pk__in=branch_ids)
    by_zone: dict[str, list[int]] = defaultdict(list)
    for pk, zone in branches.values_list("pk", "timezone"):
        by_zone[zone].append(pk)
    started = timezone.now()
    result = RecomputeResult(branches=sum(len(ids) for ids in by_zone.values()))
    with transaction.atomic():
        for done, (zone, ids) in enumerate(sorted(by_zone.items()), start=1):
            rollups_rebuild(DayRange(zone, tuple(ids), since, None))
            progress("rollups", done, len(by_zone))
        weeks = Rollup.objects.filter(kind=PeriodKind.WEEK)
        if since is not None:
            weeks = weeks.filter(period_start__gte=week_start(since))
        book = StandardBook()
        periods = sorted(set(weeks.values_list("period_start", flat=True)))
        _refresh_periods(periods, result, progress, book)
        all_ids = [pk for ids in by_zone.values() for pk in ids]
        cusum_refresh(all_ids, result, book)
        progress("cusum", 1, 1)
        stale = DirtyDay.objects.filter(branch_id__in=all_ids, marked_at__lt=started)
        if since is not None:
            stale = stale.filter(day__gte=since)
        stale.delete()
    _after_commit(result)
    return result


def dirty_days_recompute() -> RecomputeResult:
    """Recompute what writes made stale since the last run (the Celery beat task). Rows are
    claimed with SKIP LOCKED, so two workers never do the same day twice; a crash rolls the
    claim back with the work."""
    result = RecomputeResult()
    with transaction.atomic():
        claimed = list(
            DirtyDay.objects.select_for_update(skip_locked=True).select_related("branch")[:5000]
        )
        if not claimed:
            return result
        DirtyDay.objects.filter(pk__in=[d.pk for d in claimed]).delete()
        groups: dict[tuple[str, date], set[int]] = defaultdict(set)
        for dirty in claimed:
            groups[(dirty.branch.timezone, week_start(dirty.day))].add(dirty.branch_id)
        for (zone, week), ids in groups.items():
            rollups_rebuild(DayRange(zone, tuple(sorted(ids)), week, week + timedelta(days=7)))
        branch_ids = sorted({d.branch_id for d in claimed})
        result.branches = len(branch_ids)
        book = StandardBook()
        _refresh_periods(sorted({week for _, week in groups}), result, _quiet, book)
        cusum_refresh(branch_ids, result, book)
    _after_commit(result)
    return result


FLAG_WEEKS_CHUNK = 8  # weeks judged together: memory stays bounded by branches x weeks


def _refresh_periods(
    weeks: Sequence[date], result: RecomputeResult, progress: Progress, book: StandardBook
) -> None:
    for start in range(0, len(weeks), FLAG_WEEKS_CHUNK):
        chunk = weeks[start : start + FLAG_WEEKS_CHUNK]
        flags_refresh(PeriodKind.WEEK, chunk, book, result)
        progress("flags", start + len(chunk), len(weeks))
    result.periods += len(weeks)


def _after_commit(result: RecomputeResult) -> None:
    if result.alarms:
        from consistency.tasks import flag_alarms_notify

        alarms = list(result.alarms)
        # Sent like every other task: with the broker down the alarms wait (notify_pending)
        # for beat's flag-alarms-notify.
        transaction.on_commit(lambda: enqueue(flag_alarms_notify, alarms), robust=True)


@dataclass
class _Verdict:
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
    verdicts: dict[int, list[_Verdict]] = defaultdict(list)
    inside = np.zeros(len(periods), dtype=np.int64)
    cells = np.zeros(len(periods), dtype=np.int64)
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
            judged = [
                (
                    TestKind.STANDARD,
                    np.arange(len(rows_of)),
                    centre,
                    stats.judge_many(x, n, centre, direction, target.min_n, 0.0, minus),
                )
            ]
            pooled, tau2 = _peers_by_period(x, n, p, target.min_n, minus)
            has = np.flatnonzero(~np.isnan(pooled))
            if len(has):
                peer = stats.judge_many(
                    x[has],
                    n[has],
                    pooled[has],
                    direction,
                    target.min_n,
                    tau2[has],
                    None if minus is None else minus[has],
                )
                judged.append((TestKind.PEERS, has, pooled[has], peer))
                if scope == ALL_CHANNELS:
                    enough = n[has] >= target.min_n
                    np.add.at(inside, p[has], peer.inside95() & enough)
                    np.add.at(cells, p[has], enough)
            for test, at, centres, j in judged:
                flagged = j.flagged()
                cell = at[flagged]
                bounds = (j.lower95, j.upper95, j.lower998, j.upper998)
                columns = zip(
                    p[cell].tolist(),
                    branch[rows_of[cell]].tolist(),
                    j.codes[flagged].tolist(),
                    x[cell].tolist(),
                    n[cell].tolist(),
                    critical[cell].tolist(),
                    j.value[flagged].tolist(),
                    centres[flagged].tolist(),
                    zip(*(_numbers(bound[flagged]) for bound in bounds), strict=True),
                    _numbers(j.z[flagged]),
                    strict=True,
                )
                for week, pk, code, xs, ns, failures, value, middle, limits, z in columns:
                    verdicts[week].append(
                        _Verdict(
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
                        )
                    )
    existing = _flags_by_period(
        Flag.objects.filter(
            kind=kind, period_start__in=periods, test__in=[TestKind.STANDARD, TestKind.PEERS]
        )
    )
    for i, start in enumerate(periods):
        _flags_apply(kind, start, verdicts.get(i, []), existing.get(start, []), result)
    ConsistencyIndex.objects.bulk_create(
        [
            ConsistencyIndex(
                kind=kind, period_start=start, inside=int(inside[i]), cells=int(cells[i])
            )
            for i, start in enumerate(periods)
        ],
        update_conflicts=True,
        unique_fields=["kind", "period_start"],
        update_fields=["inside", "cells"],
    )


def _periods_by_standard(
    periods: Sequence[date], book: StandardBook
) -> list[tuple[dict[tuple[str, str], Target], list[int]]]:
    """The periods (as indices) grouped by the version of the standard in force."""
    groups: dict[int | None, list[int]] = defaultdict(list)
    for i, start in enumerate(periods):
        groups[book.version_on(start)].append(i)
    return [(book.targets.get(version, {}), indices) for version, indices in groups.items()]


def _peers_by_period(
    x: np.ndarray, n: np.ndarray, period: np.ndarray, min_n: int, minus: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's peer centre (its period's pooled value; NaN where the period has too
    little data for peers) and the period's between-branch variance τ²."""
    pooled = np.full(len(x), np.nan)
    tau2 = np.zeros(len(x))
    for p in np.unique(period):
        mine = period == p
        model = stats.peer_model_many(
            x[mine], n[mine], min_n, None if minus is None else minus[mine]
        )
        if model is not None:
            pooled[mine], tau2[mine] = model.pooled, model.tau2
    return pooled, tau2


CUSUM_CHUNK = 100  # branches charted together: memory stays bounded by branches x days


def cusum_refresh(
    branch_ids: Sequence[int], result: RecomputeResult, book: StandardBook | None = None
) -> None:
    """Run each branch's CUSUM per metric over its daily counts (all channels, in time
    order) and keep one flag per week in which a chart signalled."""
    if not branch_ids:
        return
    book = book or StandardBook()
    by_week: dict[date, list[_Verdict]] = defaultdict(list)
    ordered = sorted(branch_ids)
    for start in range(0, len(ordered), CUSUM_CHUNK):
        chunk = ordered[start : start + CUSUM_CHUNK]
        rows = Rollup.objects.filter(
            kind=PeriodKind.DAY, channel=ALL_CHANNELS, branch_id__in=chunk
        ).values_list("branch_id", "period_start", *COUNT_COLUMNS)
        for week, verdicts in _cusum_charts(list(rows), book).items():
            by_week[week].extend(verdicts)
    existing = _flags_by_period(Flag.objects.filter(test=TestKind.CUSUM, branch_id__in=branch_ids))
    for week in sorted(set(by_week) | set(existing)):
        _flags_apply(PeriodKind.WEEK, week, by_week.get(week, []), existing.get(week, []), result)


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


def _cusum_charts(rows: list[tuple[Any, ...]], book: StandardBook) -> dict[date, list[_Verdict]]:
    """Chart every branch in ``rows`` (day rollups) at once, one metric at a time: a
    matrix of days (from a Monday) x branches, empty days adding nothing to a chart.
    Returns the signals by week, one per branch and metric (the week's last)."""
    verdicts: dict[date, list[_Verdict]] = defaultdict(list)
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
        weekly_x, weekly_n, weekly_critical = (
            daily.reshape(-1, 7, len(branches)).sum(axis=1)
            for daily in (x, n, counts["critical_failures"])
        )
        for day, branch in zip(*np.nonzero(signals), strict=True):
            week = first + timedelta(days=int(day) - int(day) % 7)
            later = signals[day + 1 : (day // 7 + 1) * 7, branch]
            if later.any():
                continue  # the week's last signal speaks for it
            xs, ns = int(weekly_x[day // 7, branch]), int(weekly_n[day // 7, branch])
            target = standards[(day // 7) * 7].get((metric, ALL_CHANNELS))
            verdicts[week].append(
                _Verdict(
                    branch_id=branches[branch],
                    metric=metric,
                    channel=ALL_CHANNELS,
                    test=TestKind.CUSUM,
                    severity=Severity.SIGNAL,
                    x=xs,
                    n=ns,
                    critical=int(weekly_critical[day // 7, branch]),
                    value=xs / ns if ns else 0.0,
                    centre=target.target if target else 0.0,
                    cusum=float(path[day, branch]),
                )
            )
    return verdicts


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


FLAG_EVIDENCE = [
    "status", "severity", "x", "n", "value", "centre", "lower95", "upper95", "lower998",
    "upper998", "z", "abs_z", "cusum", "critical_moments", "updated_at", "notify_pending",
]  # fmt: skip


def _flags_by_period(flags: QuerySet[Flag]) -> dict[date, list[FlagState]]:
    by_period: dict[date, list[FlagState]] = defaultdict(list)
    for row in flags.values_list(*FlagState._fields):
        state = FlagState(*row)
        by_period[state.period_start].append(state)
    return by_period


def _flags_apply(
    kind: str,
    period_start: date,
    verdicts: Sequence[_Verdict],
    existing_rows: Sequence[FlagState],
    result: RecomputeResult,
) -> None:
    """Create, update, reopen or clear the flags of one period so they match ``verdicts``."""
    now = timezone.now()
    # Alarms about older weeks (a full recompute, very late data) go to the queue only.
    recent = period_start >= timezone.localdate() - timedelta(days=RECENT_DAYS)
    existing = {(f.branch_id, f.metric, f.channel, f.test): f for f in existing_rows}
    moves: list[tuple[FlagState | None, _Verdict]] = []  # (the flag as it is, its new verdict)
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
    notify: list[Flag] = []
    for state in gone:  # no longer diverging
        flag = full[state.pk]
        history.append(
            _moved(flag, "cleared", FlagStatus.CLEARED, "New data removed the evidence.")
        )
        flag.updated_at = now
        changed.append(flag)
        result.flags_cleared += 1
    for state, verdict in moves:
        was_alarm = (
            state is not None
            and state.status != FlagStatus.CLEARED
            and state.severity != Severity.WARNING
        )
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
        flag.updated_at = now
        if verdict.severity != Severity.WARNING and not was_alarm and recent:
            flag.notify_pending = True
            notify.append(flag)
    Flag.objects.bulk_create(created)
    history += [FlagEvent(flag=f, action="opened", to_status=FlagStatus.OPEN) for f in created]
    result.alarms.extend(flag.pk for flag in notify)
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


def _same_evidence(flag: FlagState, verdict: _Verdict) -> bool:
    return (flag.x, flag.n, flag.centre, flag.critical_moments) == (
        verdict.x,
        verdict.n,
        verdict.centre,
        verdict.critical,
    )


# --- the lifecycle --------------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[set[str], str]] = {
    "acknowledge": ({FlagStatus.OPEN}, FlagStatus.ACKNOWLEDGED),
    "plan": (
        {FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED, FlagStatus.ACTION_PLANNED},
        FlagStatus.ACTION_PLANNED,
    ),
    "resolve": (
        {FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED, FlagStatus.ACTION_PLANNED},
        FlagStatus.RESOLVED,
    ),
    "note": (set(FlagStatus.values), ""),
}


def flag_transition(
    *,
    actor: Any,
    flag: Flag,
    action: str,
    note: str = "",
    owner: Any = None,
    due_date: date | None = None,
    plan: str = "",
) -> Flag:
    """Move a flag along open → acknowledged → action_planned → resolved, or add a note.
    Managers who may write at the flag's branch may do it; every step is recorded."""
    if not is_manager(actor) or isinstance(actor, IntegrationPrincipal):
        raise PermissionDenied("Only managers work the flag queue.")
    if not branch_scope(actor, for_write=True).allows(flag.branch_id):
        raise PermissionDenied("This flag is outside your branches.")
    if action not in TRANSITIONS:
        raise ValidationError({"action": [f"Unknown action '{action}'."]})
    allowed_from, to_status = TRANSITIONS[action]
    errors: dict[str, list[str]] = {}
    if action == "plan":
        if not plan.strip():
            errors["plan"] = ["Describe the action plan."]
        if owner is None:
            errors["owner"] = ["Name who owns the plan."]
        elif not branch_scope(owner).allows(flag.branch_id):
            errors["owner"] = ["The owner must be able to see this branch."]
        if due_date is None:
            errors["due_date"] = ["Give a due date."]
        elif due_date < timezone.localdate():
            errors["due_date"] = ["The due date is in the past."]
    if action in {"resolve", "note"} and not note.strip():
        errors["note"] = ["Say what was done." if action == "resolve" else "Write the note."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Lock, then check: the engine (or another manager) may have just moved the flag.
        flag = Flag.objects.select_for_update(no_key=True).get(pk=flag.pk)
        if flag.status not in allowed_from:
            raise ValidationError(
                {"status": [f"A flag that is {flag.status} cannot be sent to '{action}'."]}
            )
        previous = flag.status
        if action == "plan":
            flag.owner, flag.due_date, flag.plan = owner, due_date, plan.strip()
        if to_status:
            flag.status = to_status
        flag.updated_at = timezone.now()
        flag.save()
        FlagEvent.objects.create(
            flag=flag,
            actor=actor,
            action=action,
            from_status=previous,
            to_status=flag.status,
            note=note.strip() or (plan.strip() if action == "plan" else ""),
            **current_audit().stamp(),
        )
        emit([("flag.updated", flag)], actor=actor)
    return flag
