"""Quality reviews in the engine: counted on their interaction's local day, calibration
reviews left out, disputed ones counted and marked, a new or rescored review making its
day stale; and the QA metrics judged like the others, through the metrics API."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from consistency.case_words import case_sentence
from consistency.models import Case, DirtyDay, Flag, PeriodKind, Rollup, TestKind
from consistency.recompute import consistency_recompute, dirty_days_recompute
from crm.services import api_key_create, integration_create
from quality import services
from quality.models import CalibrationSession, DisputeStatus, Review
from tests.conftest import Chain
from tests.factories import BranchFactory, InteractionFactory, UserFactory
from tests.quality.scorecards import phone_scorecard

WEEK = date(2026, 11, 2)
GOOD: dict[str, int | None] = {"greets": 1, "tone": 5, "confirms-amount": 1}
CRITICAL: dict[str, int | None] = {"greets": 1, "tone": 5, "confirms-amount": 0}


def reviewed(chain: Chain, answers: Mapping[str, int | None], **fields: object) -> Review:
    values: dict[str, object] = {
        "branch": chain.north_a,
        "staff": chain.agent,
        "channel": "phone",
        # 23:30 UTC is already Tuesday in Oslo (the branch's zone)
        "occurred_at": datetime(2026, 11, 2, 23, 30, tzinfo=UTC),
    }
    interaction = InteractionFactory.create(**{**values, **fields})
    return services.review_submit(
        actor=chain.regional, interaction=interaction, values=answers, scorecard_code="phone"
    )


def test_reviews_are_counted_on_the_interactions_local_day(chain: Chain) -> None:
    phone_scorecard()
    reviewed(chain, GOOD)
    failed = reviewed(chain, CRITICAL)
    reviewed(chain, {"greets": 0, "tone": 2, "confirms-amount": None})  # 0.125: not passed
    services.dispute_raise(actor=chain.agent, review=failed, reason="I did confirm it.")
    session = CalibrationSession.objects.create(
        interaction=failed.interaction, scorecard=failed.scorecard
    )
    session.reviewers.add(chain.admin)
    services.review_submit(
        actor=chain.admin, interaction=failed.interaction, values=GOOD, session=session
    )
    consistency_recompute()
    day = Rollup.objects.get(
        branch=chain.north_a, kind=PeriodKind.DAY, period_start=date(2026, 11, 3)
    )
    assert (day.qa_reviews, day.qa_passed, day.qa_critical_fails, day.qa_disputed) == (3, 1, 1, 1)
    week = Rollup.objects.get(
        branch=chain.north_a, kind=PeriodKind.WEEK, period_start=WEEK, channel="phone"
    )
    assert (week.qa_reviews, week.contacts) == (3, 3)
    assert week.cell("qa_pass").x == 1
    assert week.cell("qa_critical_fail").n == 3
    # The comparison marks the disputed review in both QA cells of the branch.
    client = Client()
    client.force_login(chain.admin)
    page = client.get(reverse("comparison"), {"kind": "week", "period": WEEK.isoformat()})
    assert page.text.count("1 disputed") == 2


def test_a_review_and_its_settled_dispute_make_the_day_stale(chain: Chain) -> None:
    phone_scorecard()
    failed = reviewed(chain, CRITICAL)
    consistency_recompute()
    DirtyDay.objects.all().delete()
    dispute = services.dispute_raise(actor=chain.agent, review=failed, reason="Listen again.")
    assert DirtyDay.objects.filter(branch=chain.north_a, day=date(2026, 11, 3)).exists()
    dirty_days_recompute()
    services.dispute_settle(
        actor=chain.regional,
        dispute=dispute,
        status=DisputeStatus.ACCEPTED,
        note="Heard it.",
        values=GOOD,
    )
    dirty_days_recompute()
    week = Rollup.objects.get(
        branch=chain.north_a, kind=PeriodKind.WEEK, period_start=WEEK, channel="all"
    )
    assert (week.qa_reviews, week.qa_passed, week.qa_critical_fails, week.qa_disputed) == (
        1,
        1,
        0,
        0,
    )


@pytest.mark.django_db
def test_a_branch_failing_the_critical_item_is_flagged_and_served_by_the_metrics_api() -> None:
    phone_scorecard()
    branches = [BranchFactory.create(timezone="UTC") for _ in range(6)]
    qa = UserFactory.create(role="admin")
    for b, branch in enumerate(branches):
        agent = UserFactory.create(role="agent", branches=[branch])
        for k in range(40):
            interaction = InteractionFactory.create(
                branch=branch,
                staff=agent,
                channel="phone",
                occurred_at=datetime(2026, 11, 2 + k % 5, 9, k, tzinfo=UTC),
            )
            skips = (b == 0 and k % 2 == 0) or (b > 0 and k == 7)
            services.review_submit(
                actor=qa,
                interaction=interaction,
                values=CRITICAL if skips else GOOD,
                scorecard_code="phone",
            )
    consistency_recompute()
    flags = Flag.objects.filter(branch=branches[0], metric="qa_critical_fail", channel="all")
    assert {TestKind.STANDARD, TestKind.PEERS} <= set(flags.values_list("test", flat=True))
    assert not Flag.objects.filter(branch__in=branches[1:], metric="qa_critical_fail").exists()

    integration = integration_create(name="bi", scopes=["analytics:read"])
    _, secret = api_key_create(integration=integration)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    body = api.get(
        "/api/v1/consistency/metrics/",
        {"metric": "qa_critical_fail", "period_start": WEEK.isoformat(), "channel": "all"},
    )
    assert body.status_code == 200, body.json()
    rows = {r["branch"]: r for r in body.json()}
    first = rows[branches[0].code]
    assert (first["x"], first["n"]) == (20, 40)
    # The case names the item, and its page lists the items with a CSV of them.
    case = Case.objects.get(branch=branches[0], metric="qa_critical_fail")
    assert "most failed item 'Confirms amount' (20 of 40 reviews)" in case_sentence(case)
    client = Client()
    client.force_login(qa)
    page = client.get(reverse("case-page", args=[case.pk]))
    assert "Checklist items in the last week of evidence" in page.text
    href = re.search(r'href="([^"]*table=items[^"]*)"', page.text)
    assert href is not None
    exported = client.get(reverse("case-page", args=[case.pk]) + html.unescape(href[1]))
    text = b"".join(exported.streaming_content).decode()  # type: ignore[attr-defined]
    items = list(csv.DictReader(io.StringIO(text)))
    assert items[0]["code"] == "confirms-amount"
    assert (items[0]["failed"], items[0]["n"]) == ("20", "40")
