"""Sampling interactions for review (SPEC §8): every week each active rule draws
``per_agent`` interactions of each agent (per channel), reproducibly, and assigns them
across its reviewers, never to the agent themselves.

The draw is the interactions with the smallest ``stats.sample_key(rule, interaction)``:
the same rule and week always give the same sample, whoever runs it and however often,
and a rule's sample cannot be steered by the order rows come back in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count

from branches.access import branch_scope
from branches.directory import branch_directory
from interactions.models import Interaction
from quality import stats
from quality.models import Assignment, SamplingRule, Scorecard

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Drawn:
    rule: str
    week: date
    candidates: int
    assigned: int
    unassigned: int  # drawn, but no reviewer who sees the branch and is not the agent


def _channels(rule: SamplingRule) -> list[str]:
    """The channels a rule samples: its own, else its scorecard's, else every one."""
    if rule.channel:
        return [rule.channel]
    card = Scorecard.objects.filter(code=rule.scorecard_code).order_by("-effective_from").first()
    return [card.channel] if card is not None and card.channel else []


def _candidates(rule: SamplingRule, week: date) -> list[tuple[int, int, int, str]]:
    """(interaction, agent, branch, channel) of the live interactions with a staff member in
    the rule's branches and channels on the local days of ``week`` (each branch's own
    calendar)."""
    zones = branch_directory().timezones
    # A day either side in UTC covers every time zone's week.
    start = datetime.combine(week - timedelta(days=1), time(), tzinfo=UTC)
    rows = Interaction.objects.alive().filter(
        staff__isnull=False, occurred_at__gte=start, occurred_at__lt=start + timedelta(days=9)
    )
    branch_ids = list(rule.branches.values_list("pk", flat=True))
    if branch_ids:
        rows = rows.filter(branch_id__in=branch_ids)
    if channels := _channels(rule):
        rows = rows.filter(channel__in=channels)
    found = []
    for pk, agent, branch, channel, at in rows.values_list(
        "pk", "staff_id", "branch_id", "channel", "occurred_at"
    ).order_by():
        zone = zones.get(branch)
        if zone is not None and week <= at.astimezone(ZoneInfo(zone)).date() < week + WEEK:
            found.append((pk, agent, branch, channel))
    return found


@transaction.atomic
def assignments_draw(rule: SamplingRule, week: date, *, now: datetime | None = None) -> Drawn:
    """Draw and assign ``rule``'s sample of the ISO week starting ``week`` (a Monday).
    Running it again adds nothing: an interaction is drawn once per rule."""
    if week.weekday() != 0:
        raise ValueError("A sampling week starts on a Monday.")
    rule = SamplingRule.objects.select_for_update().get(pk=rule.pk)
    candidates = _candidates(rule, week)
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    where = {}
    for pk, agent, branch, channel in candidates:
        groups[(agent, channel)].append(pk)
        where[pk] = (agent, branch)
    drawn = [pk for ids in groups.values() for pk in stats.draw(ids, rule.pk, rule.per_agent)]
    taken = set(
        Assignment.objects.filter(rule=rule, interaction_id__in=drawn).values_list(
            "interaction_id", flat=True
        )
    )
    drawn = [pk for pk in drawn if pk not in taken]
    reviewers = list(rule.reviewers.filter(is_active=True).order_by("pk"))
    load = dict(
        Assignment.objects.filter(reviewer__in=reviewers, review__isnull=True)
        .values_list("reviewer")
        .annotate(open=Count("pk"))
        .order_by()
    )
    scopes = {r.pk: branch_scope(r) for r in reviewers}
    chosen: dict[int, int] = {}
    # Per branch: only the reviewers who see it (and, per item, not its agent).
    by_branch: dict[int, list[int]] = defaultdict(list)
    for pk in drawn:
        by_branch[where[pk][1]].append(pk)
    for branch, ids in sorted(by_branch.items()):
        able = [r.pk for r in reviewers if scopes[r.pk].allows(branch)]
        items = sorted((pk, where[pk][0]) for pk in ids)
        picked = stats.assign_round_robin(items, able, load)
        for reviewer in picked.values():
            load[reviewer] = load.get(reviewer, 0) + 1
        chosen.update(picked)
    due = datetime.combine(week + WEEK, time(), tzinfo=UTC) + timedelta(days=rule.due_days)
    Assignment.objects.bulk_create(
        Assignment(
            rule=rule,
            interaction_id=pk,
            reviewer_id=reviewer,
            agent_id=where[pk][0],
            branch_id=where[pk][1],
            week=week,
            due_at=due,
            created_at=now or datetime.now(UTC),
        )
        for pk, reviewer in sorted(chosen.items())
    )
    return Drawn(rule.name, week, len(candidates), len(chosen), len(drawn) - len(chosen))


def assignments_draw_all(week: date) -> list[Drawn]:
    """Every active rule's draw for ``week``."""
    return [
        assignments_draw(rule, week)
        for rule in SamplingRule.objects.filter(is_active=True).order_by("pk")
    ]
