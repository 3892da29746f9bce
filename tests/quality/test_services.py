"""Scoring a review, who may review, dispute moves and sampling, through the services
the pages and the API use."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from branches.models import Role, User
from interactions.models import Interaction
from quality import services
from quality.models import (
    Assignment,
    CalibrationSession,
    DisputeEvent,
    DisputeStatus,
    Review,
    SamplingRule,
)
from quality.sampling import assignments_draw
from quality.selectors import item_agreement
from tests.conftest import Chain
from tests.factories import InteractionFactory, UserFactory
from tests.quality.scorecards import phone_scorecard

MONDAY = date(2026, 11, 2)


def call(chain: Chain, **fields: object) -> Interaction:
    values: dict[str, object] = {
        "branch": chain.north_a,
        "staff": chain.agent,
        "channel": "phone",
        "occurred_at": datetime(2026, 11, 3, 10, tzinfo=UTC),
    }
    return InteractionFactory.create(**{**values, **fields})


@pytest.fixture
def reviewer(chain: Chain) -> object:
    return chain.regional  # sees the north region, where chain.agent works


@pytest.mark.parametrize(
    ("answers", "score", "passed", "critical"),
    [
        ({"greets": 1, "tone": 5, "confirms-amount": 1}, 1.0, True, False),
        # tone 4 of 5 is 0.75 on a weight of 1 of 4: 3.75 / 4
        ({"greets": 1, "tone": 4, "confirms-amount": 1}, 0.9375, True, False),
        # N/A leaves the weight of 2 out: (1 + 0.5) / 2
        ({"greets": 1, "tone": 3, "confirms-amount": None}, 0.75, False, False),
        # A failed critical item: 0, whatever else
        ({"greets": 1, "tone": 5, "confirms-amount": 0}, 0.0, False, True),
    ],
)
def test_scores_are_weighted_means_over_applicable_items(
    chain: Chain,
    reviewer: object,
    answers: dict[str, int | None],
    score: float,
    passed: bool,
    critical: bool,
) -> None:
    phone_scorecard()
    review = services.review_submit(
        actor=reviewer, interaction=call(chain), values=answers, scorecard_code="phone"
    )
    assert review.score == pytest.approx(score)
    assert (review.passed, review.critical_fail) == (passed, critical)
    assert (review.agent_id, review.branch_id) == (chain.agent.pk, chain.north_a.pk)


def test_the_version_in_force_on_the_interactions_day_scores_it(
    chain: Chain, reviewer: object
) -> None:
    old = phone_scorecard(effective_from=date(2020, 1, 1))
    new = phone_scorecard(effective_from=date(2026, 11, 4))
    answers = {"greets": 1, "tone": 5, "confirms-amount": 1}
    before = services.review_submit(
        actor=reviewer, interaction=call(chain), values=answers, scorecard_code="phone"
    )
    after = services.review_submit(
        actor=reviewer,
        interaction=call(chain, occurred_at=datetime(2026, 11, 5, 9, tzinfo=UTC)),
        values=answers,
        scorecard_code="phone",
    )
    assert (before.scorecard_id, after.scorecard_id) == (old.pk, new.pk)


def test_bad_answers_are_field_errors_and_nothing_is_saved(chain: Chain, reviewer: object) -> None:
    phone_scorecard()
    for answers in (
        {"greets": 1, "tone": 5},  # confirms-amount may be N/A: fine, below
        {"tone": 5, "confirms-amount": 1},  # greets may not be N/A
        {"greets": 1, "tone": 6, "confirms-amount": 1},
        {"greets": 1, "tone": 5, "confirms-amount": 1, "smiles": 1},
    )[1:]:
        with pytest.raises(ValidationError) as error:
            services.review_submit(
                actor=reviewer, interaction=call(chain), values=answers, scorecard_code="phone"
            )
        assert "answers" in error.value.message_dict
    assert not Review.objects.exists()


def test_nobody_reviews_their_own_calls_and_agents_do_not_review(chain: Chain) -> None:
    phone_scorecard()
    answers = {"greets": 1, "tone": 5, "confirms-amount": 1}
    manager_a = UserFactory.create(role=Role.BRANCH_MANAGER, branches=[chain.north_a])
    own = call(chain, staff=manager_a)
    with pytest.raises(PermissionDenied):
        services.review_submit(
            actor=manager_a, interaction=own, values=answers, scorecard_code="phone"
        )
    with pytest.raises(PermissionDenied):
        services.review_submit(
            actor=chain.south_agent, interaction=call(chain), values=answers, scorecard_code="phone"
        )
    with pytest.raises(PermissionDenied):  # a manager of another branch
        services.review_submit(
            actor=chain.manager, interaction=call(chain), values=answers, scorecard_code="phone"
        )
    assert not Review.objects.exists()


def failed_review(chain: Chain, reviewer: object) -> Review:
    phone_scorecard()
    return services.review_submit(
        actor=reviewer,
        interaction=call(chain),
        values={"greets": 1, "tone": 5, "confirms-amount": 0},
        scorecard_code="phone",
    )


def test_a_dispute_is_raised_by_the_agent_and_accepted_with_new_answers(
    chain: Chain, reviewer: object
) -> None:
    review = failed_review(chain, reviewer)
    with pytest.raises(PermissionDenied):  # only the reviewed agent disputes
        services.dispute_raise(actor=chain.south_agent, review=review, reason="Not me")
    with pytest.raises(ValidationError):
        services.dispute_raise(actor=chain.agent, review=review, reason="  ")
    dispute = services.dispute_raise(
        actor=chain.agent, review=review, reason="I read the amount back at 02:10."
    )
    review.refresh_from_db()
    assert review.disputed
    with pytest.raises(ValidationError):  # one open dispute at a time
        services.dispute_raise(actor=chain.agent, review=review, reason="again")
    with pytest.raises(ValidationError):  # accepting needs the corrected answers
        services.dispute_settle(
            actor=reviewer, dispute=dispute, status=DisputeStatus.ACCEPTED, note="Heard it."
        )
    services.dispute_settle(
        actor=reviewer,
        dispute=dispute,
        status=DisputeStatus.ACCEPTED,
        note="Heard it at 02:10.",
        values={"greets": 1, "tone": 5, "confirms-amount": 1},
    )
    review.refresh_from_db()
    assert (review.score, review.passed, review.critical_fail, review.disputed) == (
        1.0,
        True,
        False,
        False,
    )
    steps = list(DisputeEvent.objects.filter(dispute=dispute).values_list("action", "actor"))
    assert steps == [("raised", chain.agent.pk), ("accepted", chain.regional.pk)]
    with pytest.raises(ValidationError):  # settled once
        services.dispute_settle(
            actor=reviewer, dispute=dispute, status=DisputeStatus.REJECTED, note="No."
        )


def test_a_rejected_dispute_keeps_the_score_and_the_agent_cannot_settle(
    chain: Chain, reviewer: object
) -> None:
    review = failed_review(chain, reviewer)
    dispute = services.dispute_raise(actor=chain.agent, review=review, reason="Unfair.")
    with pytest.raises(PermissionDenied):
        services.dispute_settle(
            actor=chain.agent, dispute=dispute, status=DisputeStatus.REJECTED, note="x"
        )
    with pytest.raises(PermissionDenied):  # a manager of another branch
        services.dispute_settle(
            actor=chain.manager, dispute=dispute, status=DisputeStatus.REJECTED, note="x"
        )
    services.dispute_settle(
        actor=reviewer, dispute=dispute, status=DisputeStatus.REJECTED, note="Not on the tape."
    )
    review.refresh_from_db()
    assert (review.score, review.critical_fail, review.disputed) == (0.0, True, False)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two sessions: PostgreSQL")
def test_two_managers_settling_at_once_settle_it_once(chain: Chain) -> None:
    review = failed_review(chain, chain.regional)
    dispute = services.dispute_raise(actor=chain.agent, review=review, reason="Unfair.")
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def settle(actor: object, status: str) -> None:
        try:
            start.wait(5)
            services.dispute_settle(
                actor=actor,
                dispute=dispute,
                status=status,
                note=status,
                values={"greets": 1, "tone": 5, "confirms-amount": 1},
            )
            outcomes.append(status)
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=settle, args=(chain.regional, DisputeStatus.ACCEPTED)),
        threading.Thread(target=settle, args=(chain.admin, DisputeStatus.REJECTED)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) in (["accepted", "refused"], ["refused", "rejected"])
    assert DisputeEvent.objects.filter(dispute=dispute).count() == 2  # raised + one decision


# --- sampling ------------------------------------------------------------------------------


def week_of_calls(chain: Chain, agents: list[User], per_agent: int) -> list[Interaction]:
    calls = []
    for agent in agents:
        for k in range(per_agent):
            calls.append(
                call(
                    chain,
                    staff=agent,
                    occurred_at=datetime(2026, 11, 2, 8, tzinfo=UTC) + timedelta(hours=k * 7),
                )
            )
    return calls


def rule_for(reviewers: list[User], per_agent: int = 2) -> SamplingRule:
    rule = SamplingRule.objects.create(
        name="phone", scorecard_code="phone", channel="phone", per_agent=per_agent
    )
    rule.reviewers.set(reviewers)
    return rule


def test_sampling_is_reproducible_and_never_assigns_an_agent_their_own(chain: Chain) -> None:
    phone_scorecard()
    reviewing_agent = UserFactory.create(role=Role.BRANCH_MANAGER, branches=[chain.north_a])
    agents = [chain.agent, reviewing_agent]
    week_of_calls(chain, agents, per_agent=10)
    rule = rule_for([reviewing_agent, chain.regional], per_agent=3)
    drawn = assignments_draw(rule, MONDAY)
    assert (drawn.candidates, drawn.assigned) == (20, 6)
    picked = set(Assignment.objects.values_list("interaction_id", "reviewer_id", "agent_id"))
    assert all(reviewer != agent for _, reviewer, agent in picked)
    per_agent = {a.pk: 0 for a in agents}
    for _, _, agent in picked:
        per_agent[agent] += 1
    assert set(per_agent.values()) == {3}
    # Again: nothing new. From scratch: the same sample (stats.draw ignores row order).
    assert assignments_draw(rule, MONDAY).assigned == 0
    first = {i for i, _, _ in picked}
    Assignment.objects.all().delete()
    assignments_draw(rule, MONDAY)
    assert set(Assignment.objects.values_list("interaction_id", flat=True)) == first
    # Another rule draws another sample.
    other = rule_for([chain.regional], per_agent=3)
    assignments_draw(other, MONDAY)
    assert (
        set(Assignment.objects.filter(rule=other).values_list("interaction_id", flat=True)) != first
    )


def test_sampling_skips_other_channels_weeks_and_reviewers_who_do_not_see_the_branch(
    chain: Chain,
) -> None:
    phone_scorecard()
    week_of_calls(chain, [chain.agent], per_agent=4)
    call(chain, channel="email")
    call(chain, occurred_at=datetime(2026, 11, 10, 9, tzinfo=UTC))  # next week
    rule = rule_for([chain.manager])  # manages n-b, not n-a
    drawn = assignments_draw(rule, MONDAY)
    assert (drawn.candidates, drawn.assigned, drawn.unassigned) == (4, 0, 2)
    with pytest.raises(ValueError, match="Monday"):
        assignments_draw(rule, MONDAY + timedelta(days=1))


def test_an_assignment_is_done_by_its_reviewers_review_once(chain: Chain) -> None:
    phone_scorecard()
    week_of_calls(chain, [chain.agent], per_agent=2)
    assignments_draw(rule_for([chain.regional], per_agent=1), MONDAY)
    assignment = Assignment.objects.get()
    answers = {"greets": 1, "tone": 5, "confirms-amount": 1}
    with pytest.raises(PermissionDenied):
        services.review_submit(
            actor=chain.admin,
            interaction=assignment.interaction,
            values=answers,
            assignment=assignment,
        )
    review = services.review_submit(
        actor=chain.regional,
        interaction=assignment.interaction,
        values=answers,
        assignment=assignment,
    )
    assignment.refresh_from_db()
    assert assignment.review_id == review.pk
    with pytest.raises(ValidationError):
        services.review_submit(
            actor=chain.regional,
            interaction=assignment.interaction,
            values=answers,
            assignment=assignment,
        )


def test_per_item_agreement_across_sessions_is_cohen_over_the_sessions(chain: Chain) -> None:
    """Two sessions, two reviewers each: "greets" agreed both times (1/1, 0/0: kappa 1);
    "tone" 5 against 4, then 4 and 4 (observed 0.5, chance 0.5: kappa 0)."""
    card = phone_scorecard()
    for greets, tones in ((1, (5, 4)), (0, (4, 4))):
        session = CalibrationSession.objects.create(interaction=call(chain), scorecard=card)
        session.reviewers.set([chain.admin, chain.regional])
        for reviewer, tone in zip((chain.admin, chain.regional), tones, strict=True):
            services.review_submit(
                actor=reviewer,
                interaction=session.interaction,
                values={"greets": greets, "tone": tone, "confirms-amount": None},
                session=session,
            )
    rows = {r["item"].code: r for r in item_agreement(CalibrationSession.objects.all(), "phone")}
    assert (rows["greets"]["method"], rows["greets"]["n"]) == ("cohen", 2)
    assert rows["greets"]["kappa"].kappa == pytest.approx(1.0)
    assert rows["tone"]["kappa"].kappa == pytest.approx(0.0)
    assert rows["tone"]["kappa"].observed == pytest.approx(0.5)
    # The session page shows it to a manager who sees the branch.
    client = Client()
    client.force_login(chain.admin)
    page = client.get(reverse("quality-calibration", args=[session.pk]))
    assert "Each item across this checklist" in page.text
    assert "1.00" in page.text
