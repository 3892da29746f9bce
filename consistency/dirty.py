"""Marking stale branch-days: every write that changes what a day counts makes it dirty,
and beat's recompute (or, in the demo, one right after the write) brings it up to date."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min

from branches.directory import branch_directory
from branches.models import Branch
from common.queueing import enqueue
from complaints.models import Complaint
from consistency.models import DirtyDay
from feedback.models import FeedbackResponse
from interactions.models import Interaction
from quality.models import Review

RECOMPUTE_TASK = "consistency.dirty_days_recompute"


def days_mark_dirty(pairs: Iterable[tuple[int, date]]) -> None:
    pairs = sorted(set(pairs))
    if not pairs:
        return
    if connection.vendor != "postgresql":
        rows = [DirtyDay(branch_id=branch_id, day=day) for branch_id, day in pairs]
        DirtyDay.objects.bulk_create(rows, ignore_conflicts=True)
        return
    with connection.cursor() as cursor:  # on every write: one statement text, prepared once
        cursor.execute(
            f"INSERT INTO {DirtyDay._meta.db_table} (branch_id, day, marked_at) "  # noqa: S608
            "SELECT branch_id, day, clock_timestamp() "
            "FROM unnest(%s::bigint[], %s::date[]) AS d(branch_id, day) ON CONFLICT DO NOTHING",
            [[branch_id for branch_id, _ in pairs], [day for _, day in pairs]],
        )


def _local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def data_mark_dirty(sender: Any, events: Sequence[tuple[str, Any]], **kwargs: Any) -> None:
    """Receiver of ``common.events.domain_events``: every created, changed or deleted
    interaction, quality review or complaint makes its branch-day stale, and so does the day it was
    moved away from; a branch moved to another time zone makes all its days stale."""
    for kind, branch in events:
        if kind == "branch.timezone_changed":
            _branch_history_mark_dirty(branch)
    changed: list[Interaction | Review] = [
        i for kind, i in events if isinstance(i, Interaction) and kind.startswith("interaction.")
    ]
    # A quality review counts on its interaction's day.
    changed += [r for kind, r in events if isinstance(r, Review) and kind.startswith("review.")]
    # A complaint's type counts on the day it was received, an answer on its handling on
    # the day it was given.
    places = {
        (c.branch_id, c.received_at)
        for kind, c in events
        if isinstance(c, Complaint) and kind.startswith("complaint.")
    } | {
        (r.branch_id, r.received_at)
        for _kind, r in events
        if isinstance(r, FeedbackResponse) and r.handling is not None
    }
    if not changed and not places:
        return
    for interaction in changed:
        places.add((interaction.branch_id, interaction.occurred_at))
        origin = getattr(interaction, "_origin", None)
        if origin and origin[0] and origin[1]:
            places.add(origin)
    zones = branch_directory().timezones
    days_mark_dirty((b, _local_day(t, zones[b])) for b, t in places if b in zones)
    if settings.CONSISTENCY_RECOMPUTE_AFTER_WRITE:
        # The embedded demo has no beat: bring the numbers up to date once the write lands.
        transaction.on_commit(lambda: enqueue(RECOMPUTE_TASK), robust=True)


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
