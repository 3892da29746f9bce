"""Answers from other systems through the API, and working the follow-ups they open."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from crm.models import WebhookEvent
from feedback.models import FeedbackResponse, FollowUp, SurveyRule
from tests.api.conftest import KeyClient
from tests.conftest import Chain
from tests.feedback.conftest import consenting, visit

pytestmark = pytest.mark.django_db


def test_kiosk_answers_by_id_or_reference_count_once(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    api = key_client(["interactions:read", "interactions:write"])
    by_id = visit(chain, consenting())
    first = api.post(
        "/api/v1/feedback/",
        {"interaction": by_id.pk, "source": "kiosk", "external_id": "k-1", "nps": 4},
        format="json",
    )
    assert first.status_code == 201
    assert first.json()["follow_up"] is True
    again = api.post(
        "/api/v1/feedback/",
        {"interaction": by_id.pk, "source": "kiosk", "external_id": "k-1", "nps": 4},
        format="json",
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert FeedbackResponse.objects.count() == 1
    assert FollowUp.objects.count() == 1
    assert WebhookEvent.objects.filter(event_type="feedback.received").count() <= 1

    by_ref = visit(chain, consenting(), source="ivr", external_id="call-77")
    answered = api.post(
        "/api/v1/feedback/",
        {"interaction_ref": {"source": "ivr", "external_id": "call-77"}, "source": "ivr",
         "csat": 5},
        format="json",
    )  # fmt: skip
    assert answered.status_code == 201
    by_ref.refresh_from_db()
    assert by_ref.csat == 5


def test_bad_feedback_is_refused_with_field_errors(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    api = key_client(["interactions:read", "interactions:write"])
    interaction = visit(chain, consenting())
    cases = [
        ({"source": "kiosk", "nps": 5}, "interaction"),
        ({"interaction": interaction.pk, "source": "kiosk"}, "nps"),
        ({"interaction": interaction.pk, "source": "kiosk", "nps": 11}, "nps"),
        ({"interaction": interaction.pk, "source": "kiosk", "csat": 5, "mood": "x"}, "mood"),
    ]
    for body, field in cases:
        response = api.post("/api/v1/feedback/", body, format="json")
        assert response.status_code == 400, body
        assert response["Content-Type"].startswith("application/problem+json")
        assert field in response.json()["errors"], body
    missing = api.post(
        "/api/v1/feedback/", {"interaction": 999999, "source": "kiosk", "nps": 5}, format="json"
    )
    assert missing.status_code == 404


def test_a_key_limited_to_other_branches_cannot_answer_here(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    api = key_client(["interactions:read", "interactions:write"], branches=["s-a"])
    interaction = visit(chain, consenting())
    response = api.post(
        "/api/v1/feedback/",
        {"interaction": interaction.pk, "source": "kiosk", "nps": 2},
        format="json",
    )
    assert response.status_code == 404
    assert not FeedbackResponse.objects.exists()


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def follow_up_for(chain: Chain, key_client: KeyClient) -> FollowUp:
    api = key_client(["interactions:read", "interactions:write"])
    interaction = visit(chain, consenting(name="Agus"), branch=chain.north_b, actor=chain.manager)
    api.post(
        "/api/v1/feedback/",
        {"interaction": interaction.pk, "source": "bot", "csat": 1, "comment": "Rude staff"},
        format="json",
    )
    return FollowUp.objects.get()


def test_the_branch_manager_claims_notes_and_closes_a_follow_up(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    follow_up = follow_up_for(chain, key_client)
    manager = signed_in(chain.manager)
    listing = manager.get("/follow-ups/")
    assert "Agus" in listing.text
    assert "CSAT 1" in listing.text
    manager.post(f"/follow-ups/{follow_up.pk}/claim/", {"text": ""})
    manager.post(f"/follow-ups/{follow_up.pk}/note/", {"text": "Left a voicemail"})
    empty = manager.post(f"/follow-ups/{follow_up.pk}/close/", {"text": " "})
    assert empty.status_code == 400
    assert "Say what was done." in empty.text
    page = manager.post(
        f"/follow-ups/{follow_up.pk}/close/", {"text": "Apologised, voucher sent"}, follow=True
    )
    assert "Follow-up closed." in page.text
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.owner) == ("closed", chain.manager)
    history = [(n.action, n.author) for n in follow_up.notes.all()]
    assert history == [
        ("claim", chain.manager), ("note", chain.manager), ("close", chain.manager),
    ]  # fmt: skip


def test_overdue_follow_ups_show_to_the_regional_manager_and_stay_in_reach(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    follow_up = follow_up_for(chain, key_client)
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=timezone.now() - timedelta(hours=1))
    regional = signed_in(chain.regional)
    overdue = regional.get("/follow-ups/", {"overdue": "on"})
    assert "Agus" in overdue.text
    assert "overdue" in overdue.text
    assert "1 overdue follow-up" in regional.get("/").text
    csv = regional.get("/follow-ups/", {"format": "csv"}).getvalue().decode()
    assert ",True" in csv.splitlines()[1]
    outsider = signed_in(chain.south_agent)
    assert "Agus" not in outsider.get("/follow-ups/").text
    assert outsider.get(f"/follow-ups/{follow_up.pk}/").status_code == 404
    agent = signed_in(chain.agent)
    assert agent.post(f"/follow-ups/{follow_up.pk}/claim/", {"text": ""}).status_code == 404


def test_response_rates_show_branches_never_surveyed(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    visit(chain, consenting())
    from feedback.services import invitations_send_due

    invitations_send_due()
    page = signed_in(chain.admin).get("/surveys/")
    assert page.status_code == 200
    assert "never surveyed" in page.text  # n-b and s-a were never asked
    csv = signed_in(chain.admin).get("/surveys/", {"format": "csv"}).getvalue().decode()
    line = next(line for line in csv.splitlines() if line.startswith("n-a,"))
    assert line.startswith("n-a,1,1,0,0,0.0")


def test_answers_flow_into_the_flags(chain: Chain, rule: SurveyRule) -> None:
    from consistency.models import Flag
    from consistency.recompute import dirty_days_recompute
    from feedback.services import feedback_record

    today = timezone.now().date()
    wednesday = datetime.combine(
        today - timedelta(days=today.weekday() + 5), time(12), tzinfo=UTC
    )  # last week's: all thirty land in one week, whatever day the test runs
    visits = [
        visit(chain, consenting(), occurred_at=wednesday + timedelta(minutes=n)) for n in range(30)
    ]
    dirty_days_recompute()
    assert not Flag.objects.filter(metric="csat_satisfied").exists()  # nobody answered yet
    for interaction in visits:
        feedback_record(actor=chain.admin, interaction=interaction, csat=2, source="kiosk")
    dirty_days_recompute()
    flag = Flag.objects.get(
        branch=chain.north_a, metric="csat_satisfied", channel="all", test="standard"
    )
    assert (flag.x, flag.n, flag.severity) == (0, 30, "alarm")
    assert FollowUp.objects.count() == 30


def test_a_bad_period_for_response_rates_is_a_400(chain: Chain) -> None:
    page = signed_in(chain.admin).get("/surveys/", {"weeks": "many"})
    assert page.status_code == 400
    assert "Enter a whole number." in page.text
