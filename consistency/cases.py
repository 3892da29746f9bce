"""From flags to cases (SPEC §4a), run at the end of every recompute.

1. For each period, ``consistency.discoveries`` marks which flags survive the
   false-discovery-rate control (a discovery).
2. A (branch, metric) with a discovery opens a case, or feeds its open one; evidence after
   a case was resolved or withdrawn reopens it within RELAPSE_WEEKS (same case, history
   kept). Every flag of the unit from two periods before the case began joins it.
3. The engine resolves a case that has been back within the limits for
   CONSISTENCY_CASE_QUIET_PERIODS complete periods, and withdraws one whose discoveries
   late data took away. Openings, escalations and relapses are announced once.

Only this module and ``consistency.lifecycle`` (the managers' steps) write cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation

from common.events import emit
from consistency import case_rules
from consistency.case_words import case_summary, channel_order, priority_score, summary_facts
from consistency.discoveries import FIELDS, FlagRow, discoveries_mark
from consistency.judging import RecomputeResult
from consistency.models import (
    ALL_CHANNELS,
    METRIC_COLUMNS,
    Case,
    CaseEvent,
    CaseStatus,
    Flag,
    FlagStatus,
    PeriodKind,
    Rollup,
    Severity,
    TestKind,
    base_metric,
)
from consistency.rollups import week_start
from consistency.standard import StandardBook

RELAPSE_WEEKS = 8
RECENT_WEEKS = 1  # openings about the last complete week or the one before are e-mailed
LEAD_WEEKS = 2  # flags this long before a case's first discovery join it (persistence)
WEEK = timedelta(days=7)
STRONG = {Severity.ALARM, Severity.SIGNAL}


def last_complete_week(today: date | None = None) -> date:
    """The Monday of the newest ISO week that has ended."""
    return week_start(today or timezone.localdate()) - WEEK


def cases_refresh(*, since: date | None, result: RecomputeResult) -> None:
    """Bring discoveries and cases up to date from week ``since`` (None: every week)."""
    first = None if since is None else week_start(since)
    flags = Flag.objects.filter(kind=PeriodKind.WEEK).exclude(status=FlagStatus.CLEARED)
    if first is not None:
        flags = flags.filter(period_start__gte=first - (case_rules.CUSUM_WINDOW - 1) * WEEK)
    rows = [FlagRow(*values) for values in flags.values_list(*FIELDS)]
    discoveries_mark(rows, first)
    units = {row.unit for row in rows if row.discovery or row.case_id}
    # A unit whose evidence went away entirely still has its case to withdraw.
    open_cases = Case.objects.filter(status__in=Case.OPEN_STATUSES)
    if first is not None:
        open_cases = open_cases.filter(last_period__gte=first - LEAD_WEEKS * WEEK)
    units |= set(open_cases.values_list("branch_id", "metric"))
    if first is not None and units:
        # Persistence and joining look back: the units' earlier flags too.
        unit_filter = Q()
        for branch_id, metric in units:
            unit_filter |= Q(branch_id=branch_id, metric=metric)
        older = (
            Flag.objects.filter(
                kind=PeriodKind.WEEK, period_start__lt=min(r.period_start for r in rows)
            )
            .exclude(status=FlagStatus.CLEARED)
            .filter(unit_filter)
            if rows
            else Flag.objects.none()
        )
        rows += [FlagRow(*values) for values in older.values_list(*FIELDS)]
    by_unit: dict[tuple[int, str], list[FlagRow]] = defaultdict(list)
    for row in rows:
        if row.unit in units:
            by_unit[row.unit].append(row)
    cases = _latest_cases(units)
    book = StandardBook()
    for unit in sorted(units):
        rows_of = sorted(by_unit.get(unit, []), key=_order)
        _unit_refresh(unit, rows_of, cases.get(unit), result, book)
    _quiet_resolve(
        list(
            Case.objects.select_for_update(of=("self",), no_key=True)
            .filter(status__in=Case.OPEN_STATUSES)
            .select_related("branch")
            .order_by("id")
        ),
        result,
        book,
    )


def _order(row: FlagRow) -> tuple[date, int]:
    return (row.period_start, row.pk)


# --- 2. cases -------------------------------------------------------------------------------


def _latest_cases(units: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Case]:
    """Each unit's newest case (the only one that may still change)."""
    units = list(units)
    if not units:
        return {}
    condition = Q()
    for branch_id, metric in units:
        condition |= Q(branch_id=branch_id, metric=metric)
    latest: dict[tuple[int, str], Case] = {}
    # Locked (in id order) and read under the lock: a manager's step taken meanwhile is
    # the status the engine continues from, never one it overwrites.
    rows = (
        Case.objects.select_for_update(of=("self",), no_key=True)
        .filter(condition)
        .select_related("branch")
        .order_by("id")
    )
    for case in sorted(rows, key=lambda c: (c.opened_at, c.pk)):
        latest[(case.branch_id, case.metric)] = case
    return latest


def _event(case: Case, action: str, to_status: str, note: str, *, notify: bool) -> CaseEvent:
    event = CaseEvent(
        case=case,
        action=action,
        from_status=case.status,
        to_status=to_status,
        note=note,
        notify_pending=notify,
    )
    case.status = to_status
    return event


def _unit_refresh(
    unit: tuple[int, str],
    rows: list[FlagRow],
    case: Case | None,
    result: RecomputeResult,
    book: StandardBook,
) -> Case | None:
    """Open, feed, reopen or withdraw the unit's case so it matches its flags. Flags that
    belong to an older case of the unit stay with it."""
    now = timezone.now()
    events: list[CaseEvent] = []
    announce: list[str] = []
    own = case.pk if case is not None else None
    rows = [r for r in rows if r.case_id in (None, own)]
    discoveries = [r for r in rows if r.discovery]
    if case is not None and case.is_open and not discoveries:
        events.append(_event(case, "withdrawn", CaseStatus.WITHDRAWN, WITHDRAWN, notify=False))
        case.resolved_at = case.updated_at = now
        case.save()
        CaseEvent.objects.bulk_create(events)
        emit([("case.updated", case)])
        return case
    if not discoveries:
        return case
    if case is not None and not case.is_open:
        after = [r for r in discoveries if r.period_start > case.last_period]
        if not after:
            return case  # its old evidence, as it was when it closed
        closed = case.resolved_at or now
        closed_week = week_start(timezone.localtime(closed).date())
        if after[0].period_start - closed_week > RELAPSE_WEEKS * WEEK:
            case = None  # a new episode
            rows = [
                r
                for r in rows
                if r.case_id is None and r.period_start >= after[0].period_start - LEAD_WEEKS * WEEK
            ]
            discoveries = after
        else:
            events.append(_event(case, "reopened", CaseStatus.OPEN, RELAPSED, notify=True))
            case.resolved_at = None
            case.quiet_periods = 0
            announce.append("case.reopened")
    if case is None:
        case = _case_new(unit, discoveries[0], now)
        events.append(
            CaseEvent(case=case, action="opened", to_status=CaseStatus.OPEN, notify_pending=True)
        )
        announce.append("case.opened")
        result.cases_opened += 1
        anchor = discoveries[0].period_start
    else:
        anchor = min(case.first_period, discoveries[0].period_start)
    evidence = [r for r in rows if r.period_start >= anchor - LEAD_WEEKS * WEEK]
    previous_rank = case.rank if case.pk else None
    before = _snapshot(case)
    _evidence_apply(case, evidence, book)
    joining = [r.pk for r in evidence if case.pk is None or r.case_id != case.pk]
    if case.pk and not events and not joining and _snapshot(case) == before:
        return case  # nothing new: no write, no webhook
    if previous_rank == 1 and case.rank == 0 and case.is_open and not announce:
        events.append(
            CaseEvent(
                case=case,
                action="escalated",
                from_status=case.status,
                to_status=case.status,
                note=_escalated_note(case),
                notify_pending=True,
            )
        )
        announce.append("case.updated")
    case.updated_at = now
    case.save()
    # Cases about weeks long past (a full recompute, very late data) go to the queue only.
    recent = case.last_period >= last_complete_week() - RECENT_WEEKS * WEEK
    for event in events:
        event.case = case
        event.notify_pending = event.notify_pending and recent
    CaseEvent.objects.bulk_create(events)
    result.case_events += sum(1 for e in events if e.notify_pending)
    if joining:
        Flag.objects.filter(pk__in=joining).update(case=case)
    emit([(kind, case) for kind in announce] or [("case.updated", case)])
    return case


def _escalated_note(case: Case) -> str:
    """Stored in the site's language; the history reads it out in the reader's."""
    with translation.override(settings.LANGUAGE_CODE):
        return f"The evidence is now {case.get_severity_display().lower()}."


def _snapshot(case: Case) -> tuple[Any, ...]:
    return tuple(getattr(case, name) for name in SNAPSHOT)


SNAPSHOT = [
    "status", "severity", "channels", "tests", "first_period", "last_period", "periods",
    "alarm_periods", "abs_z", "x", "n", "value", "target", "peer_value", "peer_group",
    "cusum", "critical_moments", "rank", "summary", "wording",
]  # fmt: skip
WITHDRAWN = "Late data removed every discovery this case rested on."
RELAPSED = "The divergence is back within eight weeks of the case closing."


def _case_new(unit: tuple[int, str], first: FlagRow, now: Any) -> Case:
    branch_id, metric = unit
    return Case(
        branch_id=branch_id,
        metric=metric,
        severity=first.severity,
        first_period=first.period_start,
        last_period=first.period_start,
        opened_at=now,
    )


def _evidence_apply(case: Case, rows: list[FlagRow], book: StandardBook) -> None:
    """What the case's flags show: where, which tests, since when, how strong, in words."""
    if not rows:
        return
    weeks = sorted({r.period_start for r in rows})
    case.first_period, case.last_period, case.periods = weeks[0], weeks[-1], len(weeks)
    case.channels = sorted({r.channel for r in rows}, key=channel_order)
    case.tests = sorted({r.test for r in rows})
    strong = [r for r in rows if r.severity in STRONG]
    case.alarm_periods = len({r.period_start for r in strong})
    worst = max(rows, key=lambda r: (r.severity in STRONG, r.severity == Severity.ALARM))
    case.severity = worst.severity
    case.rank = 0 if strong else 1
    case.abs_z = max(
        (abs(r.z) for r in rows if r.z is not None and abs(r.z) != float("inf")), default=0.0
    )
    case.critical_moments = sum(
        r.critical_moments for r in rows if r.channel == ALL_CHANNELS and r.test != TestKind.CUSUM
    ) or sum(r.critical_moments for r in rows if r.test != TestKind.CUSUM)
    latest = [r for r in rows if r.period_start == weeks[-1]]
    cusums = [r for r in rows if r.test == TestKind.CUSUM]
    case.cusum = cusums[-1].cusum if cusums else None
    cell = next(
        (r for r in latest if r.channel == ALL_CHANNELS and r.test != TestKind.CUSUM),
        next((r for r in latest if r.test != TestKind.CUSUM), latest[0]),
    )
    case.x, case.n, case.value = cell.x, cell.n, cell.value
    standard = [r for r in rows if r.test == TestKind.STANDARD]
    peers = [r for r in rows if r.test == TestKind.PEERS]
    if standard:
        case.target = standard[-1].centre
    elif (target := book.on(weeks[-1]).get((case.metric, ALL_CHANNELS))) is not None:
        case.target = target.target  # not flagged against it, but the reader wants it
    if peers:
        case.peer_value, case.peer_group = peers[-1].centre, peers[-1].peer_group
    case.priority = priority_score(case)
    case.wording = summary_facts(case, weeks)
    with translation.override(settings.LANGUAGE_CODE):  # the API's and the CSV's words
        case.summary = case_summary(case, case.wording)


# --- 3. resolving by itself -----------------------------------------------------------------


def _quiet_resolve(cases: Sequence[Case], result: RecomputeResult, book: StandardBook) -> None:
    """Resolve the open cases back within the limits for enough complete periods: weeks
    after their last evidence with enough data and no flag."""
    if not cases:
        return
    needed = settings.CONSISTENCY_CASE_QUIET_PERIODS
    last = last_complete_week()
    now = timezone.now()
    weeks_after = {
        c.pk: [c.last_period + k * WEEK for k in range(1, 60) if c.last_period + k * WEEK <= last]
        for c in cases
    }
    condition = Q()
    for c in cases:
        if weeks_after[c.pk]:
            condition |= Q(branch_id=c.branch_id, period_start__gt=c.last_period)
    counts: dict[tuple[int, date], dict[str, Any]] = {}
    flagged: set[tuple[int, str, date]] = set()
    if condition:
        rollup_rows = Rollup.objects.filter(condition, kind=PeriodKind.WEEK, channel=ALL_CHANNELS)
        for values in rollup_rows.values():
            counts[(values["branch_id"], values["period_start"])] = dict(values)
        flag_rows = (
            Flag.objects.filter(condition, kind=PeriodKind.WEEK)
            .exclude(status=FlagStatus.CLEARED)
            .values_list("branch_id", "metric", "period_start")
        )
        flagged = set(flag_rows)
    for case in cases:
        quiet = 0
        for week in weeks_after[case.pk]:
            week_counts = counts.get((case.branch_id, week), {})
            target = book.on(week).get((base_metric(case.metric), ALL_CHANNELS))
            n_column = METRIC_COLUMNS[base_metric(case.metric)][1]
            enough = target is not None and week_counts.get(n_column, 0) >= target.min_n
            if not enough or (case.branch_id, case.metric, week) in flagged:
                break
            quiet += 1
        changed = quiet != case.quiet_periods
        case.quiet_periods = quiet
        if quiet >= needed:
            CaseEvent.objects.create(
                case=case,
                action="resolved",
                from_status=case.status,
                to_status=CaseStatus.RESOLVED,
                note=f"Back within the limits for {quiet} complete weeks in a row.",
            )
            case.status, case.resolved_at = CaseStatus.RESOLVED, now
            result.cases_resolved += 1
            case.updated_at = now
            case.save()
            emit([("case.resolved", case)])
        elif changed:
            Case.objects.filter(pk=case.pk).update(quiet_periods=quiet)
