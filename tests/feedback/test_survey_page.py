"""The public survey page: answer once, before it expires, in the customer's language;
forged, used and expired links get a clear page; guessing is slowed down."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from consistency.models import Rollup
from consistency.recompute import dirty_days_recompute
from crm.models import WebhookEvent
from crm.services import integration_create
from feedback.models import FeedbackResponse, FollowUp, SurveyInvitation, SurveyRule
from feedback.services import invitations_send_due
from tests.conftest import Chain
from tests.feedback.conftest import consenting, visit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_budget() -> None:
    cache.clear()


def link(chain: Chain, **customer: object) -> tuple[str, SurveyInvitation]:
    visit(chain, consenting(**customer))
    invitations_send_due()
    path = re.search(r"https?://[^/]+(/s/[\w-]+/)", str(mail.outbox[-1].body))[1]  # type: ignore[index]
    return path, SurveyInvitation.objects.get()


def test_an_answer_is_recorded_once_and_the_link_then_says_so(
    chain: Chain, rule: SurveyRule
) -> None:
    path, invitation = link(chain)
    page = Client().get(path)
    assert page.status_code == 200
    assert "Your visit to" in page.text
    assert chain.north_a.name in page.text
    assert "<script" not in page.text  # works without JavaScript
    done = Client().post(path, {"nps": "9", "csat": "5", "comment": "Quick and kind"})
    assert done.status_code == 200
    assert "Thank you!" in done.text
    interaction = invitation.interaction
    interaction.refresh_from_db()
    assert (interaction.nps, interaction.csat, interaction.feedback_comment) == (
        9, 5, "Quick and kind",
    )  # fmt: skip
    again = Client().post(path, {"nps": "0", "csat": "1"})
    assert again.status_code == 410
    assert "already been answered" in again.text
    assert FeedbackResponse.objects.count() == 1
    assert not FollowUp.objects.exists()  # a promoter needs no call back


def test_missing_answers_are_shown_and_nothing_is_recorded(chain: Chain, rule: SurveyRule) -> None:
    path, _ = link(chain)
    response = Client().post(path, {"nps": "11", "comment": "hello"})
    assert response.status_code == 400
    assert "Please answer the questions marked below." in response.text
    assert "hello" in response.text  # nothing typed is lost
    assert not FeedbackResponse.objects.exists()


def test_an_expired_link_cannot_be_answered(chain: Chain, rule: SurveyRule) -> None:
    path, invitation = link(chain)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    for response in (Client().get(path), Client().post(path, {"nps": "5", "csat": "3"})):
        assert response.status_code == 410
        assert "This survey link has expired" in response.text
    assert not FeedbackResponse.objects.exists()


def test_a_forged_link_opens_nothing(chain: Chain, rule: SurveyRule) -> None:
    path, _ = link(chain)
    forged = path[:-6] + ("A" if path[-6] != "A" else "B") + path[-5:]
    response = Client().get(forged)
    assert response.status_code == 404
    assert "This survey link is not valid" in response.text
    assert Client().get("/s/" + "x" * 300 + "/").status_code == 404


def test_guessing_links_is_slowed_down(chain: Chain, rule: SurveyRule, settings: object) -> None:
    settings.SURVEY_RATE_PER_MINUTE = 5  # type: ignore[attr-defined]
    client = Client()
    statuses = [client.get(f"/s/guess{n}/").status_code for n in range(7)]
    assert statuses[:5] == [404] * 5
    assert statuses[5:] == [429, 429]
    assert client.get("/s/guess/")["Retry-After"] == "60"


def test_the_page_speaks_indonesian_to_an_indonesian_customer(
    chain: Chain, rule: SurveyRule
) -> None:
    path, _ = link(chain, language="id")
    page = Client().get(path)
    assert '<html lang="id">' in page.text
    assert "Seberapa besar kemungkinan Anda merekomendasikan kami" in page.text
    assert "Kirim jawaban saya" in page.text


def test_without_a_known_language_the_browser_decides(chain: Chain, rule: SurveyRule) -> None:
    path, _ = link(chain)
    indonesian = Client(headers={"accept-language": "id-ID,id;q=0.9,en;q=0.5"}).get(path)
    assert "Kunjungan Anda ke" in indonesian.text
    english = Client(headers={"accept-language": "de-DE"}).get(path)
    assert "Your visit to" in english.text


def test_a_detractor_opens_a_follow_up_and_the_numbers_follow(
    chain: Chain, rule: SurveyRule
) -> None:
    integration_create(name="ticketing", scopes=["interactions:read"])
    from crm.models import Integration, WebhookSubscription

    WebhookSubscription.objects.create(
        integration=Integration.objects.get(name="ticketing"),
        url="https://ticketing.example.com/hook",
        events=["feedback.received"],
        secret="s3cret",
    )
    path, _invitation = link(chain)
    Client().post(path, {"nps": "3", "csat": "2", "comment": "Nobody greeted me"})
    follow_up = FollowUp.objects.get()
    assert (follow_up.branch, follow_up.reason, follow_up.status) == (
        chain.north_a, "NPS 3, CSAT 2", "open",
    )  # fmt: skip
    assert follow_up.due_at - follow_up.opened_at == timedelta(hours=48)
    event = WebhookEvent.objects.get(event_type="feedback.received")
    assert event.payload["data"]["comment"] == "Nobody greeted me"
    assert event.payload["data"]["follow_up"] is True
    dirty_days_recompute()
    week = Rollup.objects.get(branch=chain.north_a, kind="week", channel="all")
    assert (week.csat_n, week.csat_ok, week.nps_n, week.detractors) == (1, 0, 1, 1)


def test_customers_behind_the_proxy_each_have_their_own_budget(
    chain: Chain, rule: SurveyRule, settings: object
) -> None:
    """Every request reaches the app from nginx's address: the customer is the address nginx
    saw, appended to X-Forwarded-For (TRUSTED_PROXY_COUNT=1)."""
    settings.SURVEY_RATE_PER_MINUTE = 3  # type: ignore[attr-defined]
    settings.TRUSTED_PROXY_COUNT = 1  # type: ignore[attr-defined]
    guesser = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    customer = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert [guesser.get(f"/s/guess{n}/").status_code for n in range(4)] == [404, 404, 404, 429]
    assert customer.get("/s/guess/").status_code == 404  # not the guesser's 429
    # A forged header in front of the proxy's entry changes nothing.
    forged = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    assert forged.get("/s/guess/").status_code == 429
