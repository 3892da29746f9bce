"""The customer's word on the handling of their complaint: closing a complaint invites its
customer once (a reopened complaint closed again does not ask twice), a broken plan or mail
server never fails the close, the page asks "How well did we handle your complaint?" in the
customer's language and takes 1-5 only, the answer is stored apart from the visit's CSAT
and NPS, the API takes it too, and the demo can give closed complaints their answers."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from complaints.models import Complaint, ComplaintEvent, Status
from complaints.services import complaint_transition, reference_of
from crm.privacy import customer_erase, customer_export
from feedback.demo import LOW_HANDLING_COMMENTS, demo_handling_answers
from feedback.models import FeedbackResponse, InvitationStatus, SurveyInvitation, SurveyRule
from feedback.selectors import response_rates
from feedback.services import invitations_send_due
from tests.api.conftest import KeyClient
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory
from tests.feedback.conftest import consenting, visit

pytestmark = pytest.mark.django_db

QUESTION = "How well did we handle your complaint?"
LATER = timedelta(hours=2)  # past the rule's hour of delay


@pytest.fixture(autouse=True)
def _fresh_rate_budget() -> None:
    cache.clear()


def closed_complaint(chain: Chain, customer: Any = None, **data: Any) -> Complaint:
    """A complaint logged at the counter (its complaint made by the complaints app), then
    acknowledged, answered and closed by a manager."""
    interaction = visit(chain, customer or consenting(), is_complaint=True, **data)
    complaint = Complaint.objects.get(interaction=interaction)
    complaint_transition(actor=chain.agent, complaint=complaint, action="acknowledge")
    complaint_transition(
        actor=chain.agent, complaint=complaint, action="respond", response="Extra teller added."
    )
    return complaint_transition(actor=chain.regional, complaint=complaint, action="close")


def handling_link(chain: Chain, **customer: Any) -> tuple[str, SurveyInvitation]:
    complaint = closed_complaint(chain, consenting(**customer))
    invitations_send_due(now=timezone.now() + LATER)
    message = next(m for m in mail.outbox if complaint.reference in str(m.subject))
    path = re.search(r"https?://[^/]+(/s/[\w-]+/)", str(message.body))[1]  # type: ignore[index]
    return path, SurveyInvitation.objects.get(complaint=complaint)


# --- asking ------------------------------------------------------------------------------


def test_closing_a_complaint_invites_its_customer_once(chain: Chain, rule: SurveyRule) -> None:
    customer = consenting(name="Sari")
    complaint = closed_complaint(chain, customer)
    # The visit itself was surveyed (an invitation of its own, untouched by the complaint).
    assert SurveyInvitation.objects.filter(complaint=None).count() == 1
    invitation = SurveyInvitation.objects.get(complaint=complaint)
    assert invitation.status == InvitationStatus.PENDING
    assert invitation.interaction_id == complaint.interaction_id
    assert (invitation.customer_id, invitation.branch_id) == (customer.pk, chain.north_a.pk)
    assert complaint.closed_at is not None
    assert invitation.due_at == complaint.closed_at + timedelta(minutes=rule.delay_minutes)

    # Reopened and closed again: no second invitation.
    complaint_transition(
        actor=chain.regional, complaint=complaint, action="reopen", note="Called again."
    )
    complaint_transition(
        actor=chain.agent, complaint=complaint, action="respond", response="Refunded."
    )
    complaint_transition(actor=chain.regional, complaint=complaint, action="close")
    assert SurveyInvitation.objects.filter(complaint=complaint).count() == 1

    mail.outbox.clear()
    sent = invitations_send_due(now=timezone.now() + LATER)
    # The visit's survey went out an hour ago: the handling survey is not held back by it.
    assert (sent.sent, sent.skipped) == (2, 0)
    handling_mail = [m for m in mail.outbox if complaint.reference in str(m.subject)]
    assert len(handling_mail) == 1
    assert "How did we handle your complaint" in str(handling_mail[0].subject)
    assert "/s/" in str(handling_mail[0].body)
    assert invitations_send_due(now=timezone.now() + LATER).sent == 0  # nothing twice


def test_a_channel_no_rule_surveys_or_an_unreachable_customer_gets_no_survey(
    chain: Chain, rule: SurveyRule
) -> None:
    by_email = closed_complaint(chain, channel="email")  # the rule surveys in person and phone
    assert not SurveyInvitation.objects.filter(complaint=by_email).exists()
    # Planned like every invitation, and not sent to a customer who said no to surveys.
    unwilling = closed_complaint(chain, CustomerFactory.create(consent_surveys=False))
    invitations_send_due(now=timezone.now() + LATER)
    invitation = SurveyInvitation.objects.get(complaint=unwilling)
    assert (invitation.status, invitation.skip_reason) == ("skipped", "no consent to surveys")


def test_a_failed_plan_does_not_fail_the_close(
    chain: Chain, rule: SurveyRule, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(complaints: Any) -> None:
        with connection.cursor() as cursor:  # a database error, inside the close's transaction
            cursor.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr("feedback.handling.handling_invitations_plan", broken)
    with caplog.at_level(logging.ERROR, logger="feedback.handling"):
        complaint = closed_complaint(chain)
    assert "Planning the handling survey" in caplog.text
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED
    assert ComplaintEvent.objects.filter(complaint=complaint, action="close").exists()
    assert not SurveyInvitation.objects.filter(complaint=complaint).exists()


def test_a_failed_mail_server_does_not_fail_the_close_nor_ask_twice(
    chain: Chain, rule: SurveyRule, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def refuse(self: Any, messages: Any) -> int:
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    complaint = closed_complaint(chain)
    with caplog.at_level(logging.ERROR, logger="feedback.services"):
        invitations_send_due(now=timezone.now() + LATER)
    assert "survey invitations failed" in caplog.text
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED
    assert SurveyInvitation.objects.get(complaint=complaint).status == InvitationStatus.SENT


# --- the page ----------------------------------------------------------------------------


def test_the_page_asks_how_the_complaint_was_handled(chain: Chain, rule: SurveyRule) -> None:
    path, invitation = handling_link(chain)
    page = Client().get(path)
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert QUESTION in page.text
    assert invitation.complaint is not None
    assert invitation.complaint.reference in page.text
    for score, label in [(1, "1: very badly"), (5, "5: very well")]:
        assert label in page.text
        assert f'type="radio" name="handling" value="{score}"' in page.text
    assert 'name="handling_comment"' in page.text
    assert "What could we do better?" in page.text
    assert 'name="nps"' not in page.text  # the visit's questions are the visit survey's
    assert "<script" not in page.text


def test_the_page_speaks_indonesian_to_an_indonesian_customer(
    chain: Chain, rule: SurveyRule
) -> None:
    path, _ = handling_link(chain, language="id")
    page = Client().get(path)
    assert page.status_code == 200
    assert '<html lang="id">' in page.text
    with translation.override("id"):
        question, better = gettext(QUESTION), gettext("What could we do better? (optional)")
    assert question in page.text
    assert better in page.text


def test_an_answer_is_stored_apart_from_the_visits_numbers(chain: Chain, rule: SurveyRule) -> None:
    path, invitation = handling_link(chain)
    visit_answer = FeedbackResponse.objects.create(
        interaction_id=invitation.interaction_id,
        branch_id=invitation.branch_id,
        csat=2,
        received_at=timezone.now(),
    )
    done = Client().post(path, {"handling": "4", "handling_comment": " Call me back sooner. "})
    assert done.status_code == 200
    assert "Thank you!" in done.text
    answer = FeedbackResponse.objects.exclude(pk=visit_answer.pk).get()
    assert (answer.handling, answer.handling_comment) == (4, "Call me back sooner.")
    assert (answer.nps, answer.csat, answer.comment) == (None, None, "")
    assert answer.invitation_id == invitation.pk
    assert answer.branch_id == chain.north_a.pk
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.RESPONDED
    interaction = invitation.interaction
    interaction.refresh_from_db()
    assert (interaction.csat, interaction.nps) == (None, None)  # the visit's, not touched
    again = Client().post(path, {"handling": "1"})
    assert again.status_code == 410
    assert "already been answered" in again.text
    assert FeedbackResponse.objects.filter(handling__isnull=False).count() == 1


@pytest.mark.parametrize("value", ["0", "6", "good", ""])
def test_an_answer_outside_1_to_5_gets_a_form_error(
    chain: Chain, rule: SurveyRule, value: str
) -> None:
    path, invitation = handling_link(chain)
    response = Client().post(path, {"handling": value, "handling_comment": "Too slow"})
    assert response.status_code == 400
    assert "Please answer the questions marked below." in response.text
    assert 'id="handling-error"' in response.text
    assert "Too slow" in response.text  # nothing typed is lost
    assert not FeedbackResponse.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT


def test_visit_surveys_alone_count_in_the_response_rates(chain: Chain, rule: SurveyRule) -> None:
    closed_complaint(chain)
    invitations_send_due(now=timezone.now() + LATER)
    assert SurveyInvitation.objects.filter(status=InvitationStatus.SENT).count() == 2
    now = timezone.now()
    rates = response_rates(actor=chain.admin, since=now - timedelta(days=1), until=now)
    assert next(r for r in rates if r.branch == chain.north_a).invited == 1


# --- the API -----------------------------------------------------------------------------


def test_the_api_takes_a_handling_answer_and_refuses_one_outside_1_to_5(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    api = key_client(["interactions:read", "interactions:write"])
    interaction = visit(chain, consenting(), is_complaint=True)
    for value in [0, 6, "good", 2.5]:
        bad = api.post(
            "/api/v1/feedback/",
            {"interaction": interaction.pk, "source": "ivr", "handling": value},
            format="json",
        )
        assert bad.status_code == 400, value
        assert "handling" in bad.json()["errors"], value
    too_long = api.post(
        "/api/v1/feedback/",
        {"interaction": interaction.pk, "source": "ivr", "handling": 3,
         "handling_comment": "x" * 2001},
        format="json",
    )  # fmt: skip
    assert "handling_comment" in too_long.json()["errors"]
    assert not FeedbackResponse.objects.exists()
    body = {
        "interaction": interaction.pk,
        "source": "ivr",
        "external_id": "call-9",
        "handling": 5,
        "handling_comment": "Sorted in a day.",
    }
    created = api.post("/api/v1/feedback/", body, format="json")
    assert created.status_code == 201
    data = created.json()
    assert (data["handling"], data["handling_comment"], data["csat"]) == (
        5, "Sorted in a day.", None,
    )  # fmt: skip
    assert data["follow_up"] is False
    assert api.post("/api/v1/feedback/", body, format="json").status_code == 200
    interaction.refresh_from_db()
    assert (interaction.csat, interaction.nps) == (None, None)
    schema = Client().get("/api/schema/?format=json").json()["components"]["schemas"]
    handling = schema["FeedbackInRequest"]["properties"]["handling"]
    assert (handling["minimum"], handling["maximum"]) == (1, 5)
    assert "handling_comment" in schema["Feedback"]["properties"]


# --- privacy -----------------------------------------------------------------------------


def test_the_handling_answer_is_exported_and_its_words_erased(
    chain: Chain, rule: SurveyRule
) -> None:
    path, invitation = handling_link(chain)
    Client().post(path, {"handling": "2", "handling_comment": "Nobody called me."})
    exported = customer_export(actor=chain.admin, customer=invitation.customer)["feedback"]
    assert [(f["handling"], f["handling_comment"]) for f in exported] == [(2, "Nobody called me.")]
    customer_erase(actor=chain.admin, customer=invitation.customer)
    answer = FeedbackResponse.objects.get()
    assert (answer.handling, answer.handling_comment) == (2, "")


# --- the demo ----------------------------------------------------------------------------


def demo_complaint(chain: Chain, customer: Any, status: str = Status.CLOSED) -> Complaint:
    received = timezone.now() - timedelta(days=10)
    interaction = InteractionFactory.create(
        branch=chain.north_a, customer=customer, is_complaint=True, occurred_at=received
    )
    return Complaint.objects.create(
        reference=reference_of(interaction),
        interaction=interaction,
        branch=chain.north_a,
        received_at=received,
        status=status,
        acknowledge_due=received + timedelta(days=1),
        respond_due=received + timedelta(days=5),
        closed_at=received + timedelta(days=4) if status == Status.CLOSED else None,
    )


def test_the_demo_answers_about_three_in_five_closed_complaints(
    chain: Chain, rule: SurveyRule
) -> None:
    Complaint.objects.all().delete()
    closed = [
        demo_complaint(chain, consenting(language="id" if n % 3 == 0 else "en")) for n in range(80)
    ]
    others = [
        demo_complaint(chain, consenting(), status=Status.INVESTIGATING),
        demo_complaint(chain, CustomerFactory.create(consent_surveys=False)),
        demo_complaint(chain, None),
    ]
    result = demo_handling_answers([*closed, *others], np.random.default_rng(18))
    assert result.invited == 80
    assert SurveyInvitation.objects.filter(complaint__isnull=False).count() == 80
    answers = list(FeedbackResponse.objects.select_related("invitation__customer"))
    assert len(answers) == result.answered
    assert 0.45 <= result.answered / 80 <= 0.75
    assert result.satisfied == sum(1 for a in answers if a.handling and a.handling >= 4)
    assert result.satisfied > result.answered / 2  # most are 4-5
    assert any(a.handling and a.handling <= 3 for a in answers)  # and some are not
    for answer in answers:
        assert answer.handling in {1, 2, 3, 4, 5}
        assert (answer.nps, answer.csat) == (None, None)
        assert answer.invitation is not None
        assert answer.invitation.status == InvitationStatus.RESPONDED
        if answer.handling_comment:
            assert answer.handling in {1, 2, 3}
            language = "id" if answer.invitation.customer.language == "id" else "en"
            assert answer.handling_comment in LOW_HANDLING_COMMENTS[language]
    assert any(a.handling_comment for a in answers)
    again = demo_handling_answers(closed, np.random.default_rng(18))
    assert (again.invited, again.answered) == (0, 0)
