"""complaint_handling_satisfied: the customers' answers on how their complaint was handled,
counted on the day they answered, judged like any metric (minimum 10 answers)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from common.events import emit
from consistency.models import Flag, PeriodKind, Rollup, Target
from consistency.recompute import consistency_recompute, dirty_days_recompute
from feedback.models import FeedbackResponse
from interactions.models import Interaction
from tests.factories import BranchFactory, InteractionFactory, RegionFactory

pytestmark = pytest.mark.django_db
MONDAY = date(2026, 3, 2)
HANDLING = "complaint_handling_satisfied"


def answers(branch, ratings: list[int], day: date = MONDAY) -> None:
    """A complaint call the week before ``day`` and its customer's answer on ``day``, for each
    rating."""
    when = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    calls = Interaction.objects.bulk_create(
        InteractionFactory.build(
            branch=branch,
            channel="in_person",
            occurred_at=when - timedelta(days=7),
            is_complaint=True,
            customer=None,
        )
        for _ in ratings
    )
    FeedbackResponse.objects.bulk_create(
        FeedbackResponse(
            interaction=call, branch=branch, handling=rating, received_at=when, source="survey"
        )
        for call, rating in zip(calls, ratings, strict=True)
    )


def test_answers_are_counted_on_the_day_given_and_judged() -> None:
    region = RegionFactory.create()
    branches = [BranchFactory.create(region=region, timezone="UTC") for _ in range(10)]
    for i, branch in enumerate(branches):
        answers(branch, [1, 2, 2, 1, 3, 2, 5, 1, 2, 2, 1, 2] if i == 0 else [5, 4, 5, 5, 4] * 3)
    consistency_recompute()

    week = Rollup.objects.get(
        branch=branches[0], kind=PeriodKind.WEEK, period_start=MONDAY, channel="in_person"
    )
    assert (week.handling_n, week.handling_ok) == (12, 1)
    assert week.contacts == 0  # the contacts were the week before
    assert Target.objects.filter(metric=HANDLING, channel="all", min_n=10).exists()
    flags = Flag.objects.filter(metric=HANDLING, period_start=MONDAY, channel="all")
    assert set(flags.values_list("branch", flat=True)) == {branches[0].pk}
    assert set(flags.values_list("test", flat=True)) >= {"standard", "peers"}


def test_a_late_answer_makes_its_day_stale() -> None:
    branch = BranchFactory.create(timezone="UTC")
    answers(branch, [5])
    consistency_recompute()
    call = InteractionFactory.create(branch=branch, occurred_at=datetime(2026, 3, 1, tzinfo=UTC))
    late = FeedbackResponse.objects.create(
        interaction=call, branch=branch, handling=2, received_at=datetime(2026, 3, 3, tzinfo=UTC)
    )
    emit([("feedback.received", late)])  # as feedback.services does for every answer
    dirty_days_recompute()
    week = Rollup.objects.get(
        branch=branch, kind=PeriodKind.WEEK, period_start=MONDAY, channel="all"
    )
    assert (week.handling_n, week.handling_ok) == (2, 1)
