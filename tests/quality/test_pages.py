"""The quality pages as their users meet them: the reviewer's queue, scoring a call, a
review with its dispute, the review list, calibration sessions and HQ's scorecards."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from quality.models import CalibrationSession, Item, Review, Scorecard
from quality.services import dispute_raise, review_submit
from tests.factories import InteractionFactory
from tests.quality.conftest import (
    GOOD,
    Desk,
    Page,
    assert_hidden,
    assert_sign_in_first,
    csv_rows,
    draw,
    follow,
    post_answers,
    review_of,
    shown,
    signed_in,
)

pytestmark = pytest.mark.django_db


# --- scoring a call ---------------------------------------------------------------------------


def test_the_review_page_shows_the_call_what_the_customer_said_and_the_checklist(
    desk: Desk,
) -> None:
    page = signed_in(desk.lead).get(reverse("quality-review-new", args=[desk.call.pk]))
    assert page.status_code == 200
    text = page.text
    for seen in [
        "Cheque deposit",
        "Customer asked twice about the fee.",
        "Nobody told me the fee.",
        "CSAT 2/5",
        "NPS 3/10",
        "Phone call",
        "Opening",
        "Greets by name",
        "Confirms the amount",
        "critical",
        "the arrow keys choose an answer",
        desk.chain.agent.username,
    ]:
        assert seen in text, seen
    # The first answer of the first item takes the focus; an item that may not apply
    # offers N/A, one that must apply does not.
    assert 'value="1" id="id_answer-greets_0" autofocus' in text
    assert 'name="answer-tone" value="na"' in text
    assert 'name="answer-greets" value="na"' not in text
    assert text.count("<fieldset") >= 4
    assert text.count("<legend") >= 4


def test_only_managers_who_see_the_branch_open_it_and_never_for_their_own_call(
    desk: Desk,
) -> None:
    url = reverse("quality-review-new", args=[desk.call.pk])
    chain = desk.chain
    for user in [chain.agent, desk.colleague, chain.south_agent, chain.manager]:
        assert_hidden(signed_in(user), url)
    assert_sign_in_first(url)
    for user in [desk.lead, chain.regional, chain.admin]:
        assert signed_in(user).get(url).status_code == 200
    # A manager who served the customer themselves may not score it, nor post a review.
    own = InteractionFactory.create(branch=chain.north_a, staff=desk.lead, channel="phone")
    own_url = reverse("quality-review-new", args=[own.pk])
    assert_hidden(signed_in(desk.lead), own_url)
    response = signed_in(desk.lead).post(own_url, post_answers(GOOD))
    assert response.status_code == 404
    assert not Review.objects.exists()


def test_a_review_is_saved_and_shown_with_its_score(desk: Desk) -> None:
    client = signed_in(desk.lead)
    url = reverse("quality-review-new", args=[desk.call.pk])
    response = client.post(url, post_answers(GOOD, comment="Warm opening."), follow=True)
    assert response.status_code == 200
    review = Review.objects.get()
    assert response.redirect_chain[-1][0] == reverse("quality-review", args=[review.pk])
    assert "Review saved: 94 % (passed)." in response.text
    assert "Warm opening." in response.text
    assert "94 %" in response.text
    assert review.reviewer == desk.lead
    assert review.agent == desk.chain.agent


def test_a_missing_answer_is_a_400_that_keeps_what_was_chosen(desk: Desk) -> None:
    url = reverse("quality-review-new", args=[desk.call.pk])
    typed = post_answers({"greets": 1, "tone": 3}, comment="Half done")
    response = signed_in(desk.lead).post(url, typed)
    assert response.status_code == 400
    assert "Choose an answer." in response.text
    assert not Review.objects.exists()
    page = Page(response.text)
    assert page.checked("answer-greets") == "1"
    assert page.checked("answer-tone") == "3"
    assert "Half done" in response.text
    # The focus goes to the first item left unanswered.
    assert 'id="id_answer-confirms-amount_0" autofocus' in response.text


def test_an_answer_off_the_scale_is_refused(desk: Desk) -> None:
    url = reverse("quality-review-new", args=[desk.call.pk])
    response = signed_in(desk.lead).post(url, post_answers({**GOOD, "greets": 5}))
    assert response.status_code == 400
    assert not Review.objects.exists()


# --- the queue ------------------------------------------------------------------------------


def test_the_queue_lists_overdue_first_and_leads_to_the_review(desk: Desk) -> None:
    draw(desk, desk.lead, weeks_ago=1, count=2, due_days=7)
    draw(desk, desk.lead, weeks_ago=3, count=1, due_days=0)
    client = signed_in(desk.lead)
    url = reverse("quality-queue")
    page = client.get(url)
    assert page.status_code == 200
    assert "3 interactions to review" in page.text
    rows = page.text.split("<tbody>")[1].split("</tr>")
    assert "overdue" in rows[0]
    assert "overdue" not in rows[1] + rows[2]
    review_link = Page(page.text).link(text="Review")
    assert_hidden(signed_in(desk.chain.regional), review_link)  # someone else's assignment
    review_page = follow(client, url, review_link)
    assert review_page.status_code == 200
    assert "Sampled by" in review_page.text
    done = client.post(review_page.wsgi_request.get_full_path(), post_answers(GOOD))
    assert done.status_code == 302
    assert "2 interactions to review" in client.get(url).text
    assert Review.objects.get().assignment.rule.name == "Calls 3"


def test_the_queue_is_only_for_managers(desk: Desk) -> None:
    url = reverse("quality-queue")
    assert_hidden(signed_in(desk.chain.agent), url)
    assert_sign_in_first(url)
    assert "Nothing to review" in signed_in(desk.chain.manager).get(url).text


def test_the_queue_pages_and_exports_through_its_links(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("quality.views.PAGE_SIZE", 2)
    draw(desk, desk.lead, weeks_ago=1, count=3, due_days=7)
    client = signed_in(desk.lead)
    url = reverse("quality-queue")
    first = Page(client.get(url).text)
    second = follow(client, url, first.link(rel="next"))
    assert second.status_code == 200
    assert "Page 2 of 2" in second.text
    rows = csv_rows(follow(client, url, first.link(text="Export CSV")))
    assert len(rows) == 3
    assert {r["branch"] for r in rows} == {"n-a"}
    assert {r["agent"] for r in rows} == {desk.chain.agent.username}
    assert {r["overdue"] for r in rows} == {"False"}


@pytest.mark.parametrize("count", [2, 12])
def test_the_queue_reads_a_bounded_number_of_times(
    desk: Desk, count: int, django_assert_max_num_queries: Any
) -> None:
    draw(desk, desk.lead, weeks_ago=2, count=count, due_days=7)
    client = signed_in(desk.lead)
    with django_assert_max_num_queries(5):  # session, user, count, page, the menu
        assert client.get(reverse("quality-queue")).status_code == 200


# --- one review and its dispute ---------------------------------------------------------------


def test_a_review_is_seen_by_its_agent_and_the_branch_managers_only(desk: Desk) -> None:
    review = review_of(desk, comment="Warm opening.")
    url = reverse("quality-review", args=[review.pk])
    chain = desk.chain
    for user in [chain.agent, desk.lead, chain.regional, chain.admin]:
        page = signed_in(user).get(url)
        assert page.status_code == 200
        assert "Warm opening." in page.text
        assert "94 %" in page.text
    for user in [desk.colleague, chain.south_agent, chain.manager]:
        assert_hidden(signed_in(user), url)
    assert_sign_in_first(url)


def test_the_agent_disputes_and_the_manager_accepts_with_new_answers(desk: Desk) -> None:
    review = review_of(desk)
    url = reverse("quality-review", args=[review.pk])
    agent = signed_in(desk.chain.agent)
    assert "Raise the dispute" in agent.get(url).text
    empty = agent.post(url, {"action": "dispute", "reason": "  "})
    assert empty.status_code == 400
    assert not review.disputes.exists()
    raised = agent.post(url, {"action": "dispute", "reason": "My tone was fine."}, follow=True)
    assert "Dispute raised" in raised.text
    assert "disputed" in raised.text
    assert "raised the dispute" in raised.text
    assert "Raise the dispute" not in raised.text
    # Neither the agent settles it, nor a manager raises one.
    forged = {"action": "settle", "dispute": str(review.disputes.get().pk), "status": "rejected"}
    assert agent.post(url, {**forged, "note": "Mine."}).status_code == 404
    manager = signed_in(desk.lead)
    assert manager.post(url, {"action": "dispute", "reason": "Me too"}).status_code == 404

    page = manager.get(url)
    assert "Settle the dispute" in page.text
    assert "My tone was fine." in page.text
    form = Page(page.text)
    assert form.checked("answer-tone") == "4"  # the settle form starts from the answers
    answers = post_answers({**GOOD, "tone": 5})
    settled = manager.post(
        url,
        {
            **answers,
            "action": "settle",
            "dispute": form.value("dispute"),
            "status": "accepted",
            "note": "Listened again: it was warm.",
        },
        follow=True,
    )
    assert settled.status_code == 200
    assert "Dispute settled (accepted); the review's score: 100 % (passed)." in shown(settled)
    assert "accepted it: Listened again: it was warm." in settled.text
    assert "Settle the dispute" not in settled.text
    review.refresh_from_db()
    assert review.score == 1.0
    assert not review.disputed


def test_a_rejected_dispute_keeps_the_score_and_cannot_be_settled_twice(desk: Desk) -> None:
    review = review_of(desk)
    dispute = dispute_raise(actor=desk.chain.agent, review=review, reason="Unfair.")
    url = reverse("quality-review", args=[review.pk])
    manager = signed_in(desk.lead)
    decision = {
        **post_answers({**GOOD, "greets": 0}),
        "action": "settle",
        "dispute": str(dispute.pk),
        "status": "rejected",
        "note": "The recording is clear.",
    }
    no_note = manager.post(url, {**decision, "note": ""})
    assert no_note.status_code == 400
    settled = manager.post(url, decision, follow=True)
    assert "Dispute settled (rejected); the review's score: 94 % (passed)." in shown(settled)
    assert "rejected it: The recording is clear." in settled.text
    again = manager.post(url, {**decision, "status": "accepted"})
    assert again.status_code == 400
    assert "settled already" in again.text
    review.refresh_from_db()
    assert round(review.score or 0, 4) == 0.9375


# --- the review list --------------------------------------------------------------------------


def test_the_review_list_shows_each_user_what_they_may_see_and_exports_it(desk: Desk) -> None:
    chain = desk.chain
    mine = review_of(desk)
    other_call = InteractionFactory.create(
        branch=chain.north_a, staff=desk.colleague, channel="phone"
    )
    review_submit(actor=desk.lead, interaction=other_call, values=GOOD, scorecard_code="phone")
    url = reverse("quality-reviews")
    agent = signed_in(chain.agent)
    page = agent.get(url)
    assert "1 review," in page.text
    assert reverse("quality-review", args=[mine.pk]) in page.text
    assert 'name="branch"' not in page.text  # an agent has no branch to pick
    rows = csv_rows(follow(agent, url, Page(page.text).link(text="Export CSV")))
    assert [r["id"] for r in rows] == [str(mine.pk)]
    assert list(rows[0]) == [
        "id", "occurred_at", "branch", "channel", "agent", "reviewer", "scorecard", "score",
        "passed", "critical_fail", "disputed",
    ]  # fmt: skip
    assert rows[0]["score"] == "0.9375"
    assert rows[0]["passed"] == "True"

    regional = signed_in(chain.regional)
    assert "2 reviews," in regional.get(url).text
    picked = regional.get(url, {"branch": "n-b"})
    assert "0 reviews," in picked.text
    assert "Reviews at" in picked.text
    assert regional.get(url, {"branch": "s-a"}).status_code == 404
    assert "0 reviews," in signed_in(chain.south_agent).get(url).text
    assert "0 reviews," in signed_in(chain.manager).get(url).text  # manager of n-b
    assert_sign_in_first(url)


def test_the_review_list_pages_through_its_links(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("quality.views.PAGE_SIZE", 2)
    for _ in range(3):
        review_of(desk)
    client = signed_in(desk.lead)
    url = reverse("quality-reviews")
    first = client.get(url, {"branch": "n-a"})
    second = follow(client, url, Page(first.text).link(rel="next"))
    assert "Page 2 of 2" in second.text
    assert "Reviews at" in second.text
    csv_link = Page(second.text).link(text="Export CSV")
    assert len(csv_rows(follow(client, url, csv_link))) == 3


@pytest.mark.parametrize("count", [2, 12])
def test_the_review_list_reads_a_bounded_number_of_times(
    desk: Desk, count: int, django_assert_max_num_queries: Any
) -> None:
    for _ in range(count):
        review_of(desk)
    client = signed_in(desk.chain.regional)
    with django_assert_max_num_queries(8):  # + branch scopes and the branch picker
        assert client.get(reverse("quality-reviews")).status_code == 200


# --- calibration ------------------------------------------------------------------------------


@pytest.fixture
def session(desk: Desk) -> CalibrationSession:
    session = CalibrationSession.objects.create(
        interaction=desk.call,
        scorecard=desk.scorecard,
        title="November phone calibration",
        created_by=desk.chain.admin,
        reference_reviewer=desk.lead,
    )
    session.reviewers.set([desk.lead, desk.chain.regional, desk.chain.admin])
    return session


def test_a_calibration_session_shows_agreement_and_who_deviates(
    desk: Desk, session: CalibrationSession
) -> None:
    chain = desk.chain
    for reviewer, values in [
        (desk.lead, GOOD),
        (chain.regional, GOOD),
        (chain.admin, {**GOOD, "greets": 0}),  # the planted disagreement
    ]:
        review_submit(actor=reviewer, interaction=desk.call, values=values, session=session)
    page = signed_in(chain.regional).get(reverse("quality-calibration", args=[session.pk]))
    assert page.status_code == 200
    text = page.text
    assert "Fleiss' kappa" in shown(page)
    assert "n is the number of items" in text
    assert "differs" in text
    assert "1 of 4 (25 %)" in text  # the admin against the reference
    assert "0 of 4 (0 %)" in text  # the regional manager agrees throughout
    assert "-25 points" in text  # 69 % against 94 %
    assert "from 69 % to 94 %" in text
    assert "1 item answered by at least two: too few for kappa" in text  # the one 1-5 item
    # Calibration reviews stay out of the review list.
    assert "0 reviews," in signed_in(chain.regional).get(reverse("quality-reviews")).text


def test_a_reviewer_still_to_score_sees_nobody_elses_answers(
    desk: Desk, session: CalibrationSession
) -> None:
    chain = desk.chain
    first = review_submit(actor=desk.lead, interaction=desk.call, values=GOOD, session=session)
    review_submit(actor=chain.regional, interaction=desk.call, values=GOOD, session=session)
    admin = signed_in(chain.admin)
    url = reverse("quality-calibration", args=[session.pk])
    page = admin.get(url)
    assert "appear once you have scored" in page.text
    assert "Pairs agreeing" not in page.text
    assert_hidden(admin, reverse("quality-review", args=[first.pk]))
    listing = admin.get(reverse("quality-calibrations"))
    assert "November phone calibration" in listing.text
    score = follow(admin, reverse("quality-calibrations"), Page(listing.text).link(text="Score it"))
    assert score.status_code == 200
    assert "Calibration: November phone calibration" in score.text
    done = admin.post(score.wsgi_request.get_full_path(), post_answers(GOOD), follow=True)
    assert done.status_code == 200
    assert "Pairs agreeing" in admin.get(url).text
    assert signed_in(chain.admin).get(reverse("quality-review", args=[first.pk])).status_code == 200


def test_calibration_pages_are_for_managers_of_the_branch(
    desk: Desk, session: CalibrationSession
) -> None:
    chain = desk.chain
    review = review_submit(actor=desk.lead, interaction=desk.call, values=GOOD, session=session)
    url = reverse("quality-calibration", args=[session.pk])
    for user in [chain.agent, chain.manager, chain.south_agent]:
        assert_hidden(signed_in(user), url)
    assert_hidden(signed_in(chain.agent), reverse("quality-calibrations"))
    assert (
        "November phone calibration"
        not in signed_in(chain.manager).get(reverse("quality-calibrations")).text
    )
    # The agent never sees a calibration review of their call.
    assert_hidden(signed_in(chain.agent), reverse("quality-review", args=[review.pk]))
    assert_sign_in_first(url)
    assert signed_in(desk.lead).get(url).status_code == 200


def test_a_closed_session_takes_no_more_reviews(desk: Desk, session: CalibrationSession) -> None:
    session.closed_at = timezone.now()
    session.save(update_fields=["closed_at"])
    url = f"{reverse('quality-review-new', args=[desk.call.pk])}?session={session.pk}"
    client = signed_in(desk.chain.admin)
    assert "This calibration session is closed" in client.get(url).text
    refused = client.post(url, post_answers(GOOD))
    assert refused.status_code == 400
    assert "This calibration session is closed." in refused.text
    assert not Review.objects.exists()


# --- scorecards -------------------------------------------------------------------------------


def test_hq_sees_the_scorecards_and_starts_a_new_version(desk: Desk) -> None:
    url = reverse("quality-scorecards")
    admin = signed_in(desk.chain.admin)
    page = admin.get(url)
    assert page.status_code == 200
    for seen in ["Phone call", "Greets by name", "confirms-amount", "1 to 5", "in force"]:
        assert seen in page.text, seen
    too_early = admin.post(
        url, {"action": "new_version", "scorecard": "phone", "effective_from": "01/01/2019"}
    )
    assert too_early.status_code == 400
    assert "Pick a day after" in too_early.text
    assert Scorecard.objects.count() == 1
    done = admin.post(
        url,
        {"action": "new_version", "scorecard": "phone", "effective_from": "01/01/2099"},
        follow=True,
    )
    assert "New version of phone" in done.text
    assert "scheduled" in done.text
    new = Scorecard.objects.get(effective_from=date(2099, 1, 1))
    copied = list(Item.objects.filter(scorecard=new).values_list("code", "critical", "weight"))
    original = list(
        Item.objects.filter(scorecard=desk.scorecard).values_list("code", "critical", "weight")
    )
    assert sorted(copied) == sorted(original)
    assert new.sections.count() == 2


def test_the_scorecards_page_is_hq_only(desk: Desk) -> None:
    url = reverse("quality-scorecards")
    for user in [desk.chain.regional, desk.lead, desk.chain.agent]:
        assert_hidden(signed_in(user), url)
        response = signed_in(user).post(
            url, {"action": "new_version", "scorecard": "phone", "effective_from": "01/01/2099"}
        )
        assert response.status_code == 404
    assert Scorecard.objects.count() == 1
    assert_sign_in_first(url)
