from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from feedback.models import SurveyInvitation, SurveyRule
from feedback.services import invitations_send_due
from interactions.models import Interaction
from interactions.services import interaction_log
from tests.api.conftest import key_client  # noqa: F401 - the API tests' keyed client
from tests.conftest import Chain
from tests.factories import CustomerFactory


@pytest.fixture
def rule(db: None) -> SurveyRule:
    """Every face-to-face and phone contact that was not abandoned, an hour later."""
    SurveyRule.objects.all().delete()
    return SurveyRule.objects.create(
        name="test rule",
        channels=["in_person", "phone"],
        outcomes=["resolved", "follow_up", "escalated"],
        delay_minutes=60,
        sampling_rate=1.0,
        min_days_between=30,
        expiry_days=7,
    )


def visit(
    chain: Chain, customer: Any = None, hours_ago: float = 2, actor: Any = None, **data: Any
) -> Interaction:
    """A touchpoint logged through the real service (which plans its survey)."""
    values: dict[str, Any] = {
        "branch": chain.north_a,
        "channel": "in_person",
        "outcome": "resolved",
        "occurred_at": timezone.now() - timedelta(hours=hours_ago),
        "wait_seconds": 30,
        "handle_seconds": 200,
    }
    values.update(data)
    return interaction_log(actor=actor or chain.agent, customer=customer, **values)


def consenting(**data: Any) -> Any:
    return CustomerFactory.create(consent_surveys=True, **data)


def sent_invitation(chain: Chain, **customer: Any) -> SurveyInvitation:
    visit(chain, consenting(**customer))
    invitations_send_due()
    invitation = SurveyInvitation.objects.get()
    assert invitation.status == "sent"
    return invitation
