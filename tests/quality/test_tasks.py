"""Celery beat draws last week's sample on Mondays, once every time zone's week is over."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from celery import current_app
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from quality.models import Assignment, SamplingRule
from quality.tasks import assignments_draw
from tests.conftest import Chain
from tests.factories import InteractionFactory
from tests.quality.scorecards import phone_scorecard


def test_beat_runs_the_draw_on_monday_afternoon_utc() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["review-sampling"]
    assert entry["task"] == "quality.assignments_draw"
    assert entry["task"] in current_app.tasks
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert (schedule.day_of_week, schedule.hour, schedule.minute) == ({1}, {12}, {30})  # type: ignore[attr-defined]


def test_the_task_draws_last_weeks_sample_once(chain: Chain) -> None:
    phone_scorecard()
    today = timezone.now().date()
    last_monday = today - timedelta(days=today.weekday() + 7)
    for k in range(4):
        InteractionFactory.create(
            branch=chain.north_a,
            staff=chain.agent,
            channel="phone",
            occurred_at=datetime.combine(last_monday + timedelta(days=1), time(9 + k), UTC),
        )
    rule = SamplingRule.objects.create(
        name="phone", scorecard_code="phone", channel="phone", per_agent=2
    )
    rule.reviewers.set([chain.regional])
    assert assignments_draw() == [f"phone {last_monday}: 2 assigned of 4 (0 left)"]
    assert assignments_draw() == [f"phone {last_monday}: 0 assigned of 4 (0 left)"]
    assert Assignment.objects.filter(week=last_monday).count() == 2
