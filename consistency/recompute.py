"""The recompute pipeline: rollups from interactions (``rollups``) and complaints by type
(``type_rollups``), flags from rollups (``judging``, ``drift``, ``type_judging``), cases
from flags (``cases``), in one transaction per run."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from branches.models import Branch
from common.queueing import enqueue
from consistency.cases import cases_refresh
from consistency.drift import cusum_refresh
from consistency.judging import RecomputeResult, flags_refresh
from consistency.models import DirtyDay, PeriodKind, Rollup
from consistency.rollups import DayRange, rollups_rebuild, week_start
from consistency.standard import StandardBook
from consistency.type_judging import type_cusum_refresh, type_flags_refresh
from consistency.type_rollups import type_rollups_rebuild

Progress = Callable[[str, int, int], None]
NOTIFY_TASK = "consistency.case_events_notify"


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
    all_ids = list(branches.order_by("pk").values_list("pk", flat=True))
    started = timezone.now()
    result = RecomputeResult(branches=len(all_ids))
    with transaction.atomic():
        # Every branch at once: one pass over interactions, read sequentially.
        span = DayRange(None if branch_ids is None else tuple(all_ids), since, None)
        rollups_rebuild(span)
        type_rollups_rebuild(span)
        progress("rollups", 1, 1)
        weeks = Rollup.objects.filter(kind=PeriodKind.WEEK)
        if since is not None:
            weeks = weeks.filter(period_start__gte=week_start(since))
        book = StandardBook()
        periods = sorted(set(weeks.values_list("period_start", flat=True)))
        _refresh_periods(periods, result, progress, book)
        cusum_refresh(all_ids, result, book)
        type_cusum_refresh(all_ids, result, book)
        progress("cusum", 1, 1)
        cases_refresh(since=periods[0] if periods else None, result=result)
        progress("cases", 1, 1)
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
        claimed = list(DirtyDay.objects.select_for_update(skip_locked=True)[:5000])
        if not claimed:
            return result
        DirtyDay.objects.filter(pk__in=[d.pk for d in claimed]).delete()
        groups: dict[date, set[int]] = defaultdict(set)
        for dirty in claimed:
            groups[week_start(dirty.day)].add(dirty.branch_id)
        for week, ids in sorted(groups.items()):
            span = DayRange(tuple(sorted(ids)), week, week + timedelta(days=7))
            rollups_rebuild(span)
            type_rollups_rebuild(span)
        branch_ids = sorted({d.branch_id for d in claimed})
        result.branches = len(branch_ids)
        book = StandardBook()
        weeks = sorted(groups)
        _refresh_periods(weeks, result, _quiet, book)
        cusum_refresh(branch_ids, result, book)
        type_cusum_refresh(branch_ids, result, book)
        cases_refresh(since=weeks[0], result=result)
    _after_commit(result)
    return result


FLAG_WEEKS_CHUNK = 8  # weeks judged together: memory stays bounded by branches x weeks


def _refresh_periods(
    weeks: Sequence[date], result: RecomputeResult, progress: Progress, book: StandardBook
) -> None:
    for start in range(0, len(weeks), FLAG_WEEKS_CHUNK):
        chunk = weeks[start : start + FLAG_WEEKS_CHUNK]
        flags_refresh(PeriodKind.WEEK, chunk, book, result)
        type_flags_refresh(PeriodKind.WEEK, chunk, book, result)
        progress("flags", start + len(chunk), len(weeks))
    result.periods += len(weeks)


def _after_commit(result: RecomputeResult) -> None:
    if result.case_events:
        # Sent like every other task: with the broker down the events wait (notify_pending)
        # for beat's case-events-notify.
        transaction.on_commit(lambda: enqueue(NOTIFY_TASK), robust=True)
