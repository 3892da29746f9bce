"""Reads of cases, limited to the branches the caller may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from branches.access import branch_scope
from consistency.models import ALL_CHANNELS, Case, CaseEvent, Flag, PeriodKind, metric_type_code
from consistency.selectors import branch_trends
from consistency.type_selectors import type_trend

CASE_ORDER = ("rank", "-abs_z", "-periods", "-n", "-critical_moments", "opened_at", "id")


def case_queue(*, actor: Any) -> QuerySet[Case]:
    """Cases at the caller's branches in priority order: alarm-level evidence first, then
    the strongest (largest |z|), the longest, the largest sample, the most failures at
    critical moments, the oldest."""
    return (
        branch_scope(actor)
        .filter(Case.objects.select_related("branch", "branch__region", "owner"))
        .order_by(*CASE_ORDER)
    )


def case_flags(case: Case) -> QuerySet[Flag]:
    """The case's evidence, newest period first."""
    return case.flags.select_related("branch").order_by("-period_start", "channel", "test")


def case_history(case: Case) -> QuerySet[CaseEvent]:
    return case.events.select_related("actor").order_by("at", "id")


def case_trends(case: Case) -> dict[str, list[dict[str, Any]]]:
    """The case's metric by week for each channel it shows on (all channels first), up to
    its last evidence, each point marked when it was evidence."""
    evidence = set(case.flags.values_list("channel", "period_start"))
    code = metric_type_code(case.metric)
    if code is not None:  # a complaint type: all channels, against the chain's rate
        points = type_trend(
            branch=case.branch, code=code, kind=PeriodKind.WEEK, until=case.last_period
        )
        for point in points:
            point["evidence"] = (ALL_CHANNELS, point["period_start"]) in evidence
        return {ALL_CHANNELS: points}
    trends = {}
    for channel in case.channels or [ALL_CHANNELS]:
        points = branch_trends(
            branch=case.branch,
            channel=channel,
            kind=PeriodKind.WEEK,
            until=case.last_period,
            metrics=[case.metric],
        )[case.metric]
        for point in points:
            point["evidence"] = (channel, point["period_start"]) in evidence
        trends[channel] = points
    return trends
