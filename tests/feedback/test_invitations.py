"""Which interactions get a survey, when, how often, and that a retried send sends
nothing twice."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from feedback.models import SurveyInvitation, SurveyRule
from feedback.services import invitations_plan, invitations_send_due
from feedback.tokens import sampled, token_hash
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import CustomerFactory
from tests.feedback.conftest import consenting, visit

pytestmark = pytest.mark.django_db


def test_a_matching_interaction_is_invited_after_the_delay(chain: Chain, rule: SurveyRule) -> None:
    interaction = visit(chain, consenting(), hours_ago=0.5)
    invitation = SurveyInvitation.objects.get()
    assert invitation.interaction == interaction
    assert invitation.due_at == interaction.occurred_at + timedelta(minutes=60)
    assert invitations_send_due().sent == 0  # not due for another half hour
    assert mail.outbox == []
    assert invitations_send_due(now=timezone.now() + timedelta(minutes=31)).sent == 1
    assert len(mail.outbox) == 1


def test_channels_outcomes_and_anonymous_contacts_are_not_invited(
    chain: Chain, rule: SurveyRule
) -> None:
    visit(chain, consenting(), channel="email", wait_seconds=600)
    visit(chain, consenting(), outcome="abandoned", handle_seconds=None)
    visit(chain, None)
    assert not SurveyInvitation.objects.exists()


def test_sampling_is_a_fixed_share_decided_by_the_ids() -> None:
    chosen = [i for i in range(1, 4001) if sampled(7, i, 0.25)]
    assert 0.22 < len(chosen) / 4000 < 0.28
    assert chosen == [i for i in range(1, 4001) if sampled(7, i, 0.25)]  # the same again
    assert chosen != [i for i in range(1, 4001) if sampled(8, i, 0.25)]  # another rule
    assert not any(sampled(7, i, 0.0) for i in range(1, 500))
    assert all(sampled(7, i, 1.0) for i in range(1, 500))


def test_planning_twice_plans_nothing_new(chain: Chain, rule: SurveyRule) -> None:
    visit(chain, consenting())
    invitations_plan(Interaction.objects.all())
    assert SurveyInvitation.objects.count() == 1


def test_no_consent_no_email_are_skipped_with_a_reason(chain: Chain, rule: SurveyRule) -> None:
    visit(chain, CustomerFactory.create(consent_surveys=False))
    visit(chain, consenting(email=""))
    result = invitations_send_due()
    assert (result.sent, result.skipped) == (0, 2)
    reasons = set(SurveyInvitation.objects.values_list("skip_reason", flat=True))
    assert reasons == {"no consent to surveys", "no e-mail address"}
    assert mail.outbox == []


def test_a_customer_is_asked_at_most_once_in_the_cap(chain: Chain, rule: SurveyRule) -> None:
    customer = consenting()
    visit(chain, customer, hours_ago=5)
    visit(chain, customer, hours_ago=4)  # both due now, in one batch
    assert invitations_send_due().sent == 1
    visit(chain, customer, hours_ago=2)
    later = timezone.now() + timedelta(days=29)
    assert invitations_send_due(now=later).sent == 0
    visit(chain, customer, hours_ago=1.5)
    assert invitations_send_due(now=timezone.now() + timedelta(days=31)).sent == 1
    assert len(mail.outbox) == 2
    assert SurveyInvitation.objects.filter(skip_reason="surveyed recently").count() == 2


def test_the_email_carries_a_link_whose_token_is_stored_only_hashed(
    chain: Chain, rule: SurveyRule
) -> None:
    visit(chain, consenting(name="Putri", email="putri@example.com", language="id"))
    invitations_send_due()
    message = mail.outbox[0]
    assert message.to == ["putri@example.com"]
    assert "Bagaimana kunjungan Anda" in message.subject  # in the customer's language
    token = re.search(r"/s/([\w-]+)/", str(message.body))[1]  # type: ignore[index]
    invitation = SurveyInvitation.objects.get()
    assert invitation.token_hash == token_hash(token)
    assert token not in str(SurveyInvitation.objects.values().get())


def test_a_retried_send_task_sends_nothing_twice(chain: Chain, rule: SurveyRule) -> None:
    from feedback.tasks import invitations_send_due as task

    for _ in range(3):
        visit(chain, consenting())
    assert task.apply().get() == 3
    assert task.apply().get() == 0  # delivered again: nothing left to send
    assert len(mail.outbox) == 3


def test_invitations_go_out_in_batches(chain: Chain, rule: SurveyRule) -> None:
    for _ in range(5):
        visit(chain, consenting())
    assert invitations_send_due(batch=2).sent == 5
    assert len(mail.outbox) == 5


def test_hq_edits_a_rule_in_the_admin(chain: Chain, rule: SurveyRule) -> None:
    from django.test import Client

    client = Client()
    client.force_login(chain.admin)
    page = client.get(f"/admin/feedback/surveyrule/{rule.pk}/change/")
    assert page.status_code == 200
    response = client.post(
        f"/admin/feedback/surveyrule/{rule.pk}/change/",
        {
            "name": "Phone only", "is_active": "on", "priority": "1", "channels": ["phone"],
            "delay_minutes": "10", "sampling_rate": "1.5", "min_days_between": "30",
            "expiry_days": "7",
        },
    )  # fmt: skip
    assert response.status_code == 200  # the sampling rate is out of range
    assert "Ensure this value is less than or equal to 1.0." in response.text
    client.post(
        f"/admin/feedback/surveyrule/{rule.pk}/change/",
        {
            "name": "Phone only", "is_active": "on", "priority": "1", "channels": ["phone"],
            "delay_minutes": "10", "sampling_rate": "0.5", "min_days_between": "30",
            "expiry_days": "7",
        },
    )  # fmt: skip
    rule.refresh_from_db()
    assert (rule.channels, rule.outcomes, rule.sampling_rate) == (["phone"], [], 0.5)
