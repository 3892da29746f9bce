"""GDPR and quality reviews: a customer's export holds the reviews of their contacts and
erasure wipes what reviewers and agents wrote about them; a member of staff's export holds
the reviews of their work, their disputes and the coaching notes about them, and their
erasure anonymises them while every score stays."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from branches.models import User
from crm.privacy import ERASED_TEXT, customer_erase, customer_export
from crm.services import api_key_create, integration_create
from quality import services
from quality.models import CoachingNote, Dispute, DisputeEvent, Review
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory
from tests.quality.scorecards import phone_scorecard

COMMENT = "Customer mentioned her late husband's pension"
REASON = "She was crying, I could not read the amount back"
COACHING = "Talked about staying calm with grieving customers"


@pytest.fixture
def reviewed(chain: Chain) -> Review:
    phone_scorecard()
    customer = CustomerFactory.create(name="Siti Rahma")
    interaction = InteractionFactory.create(
        branch=chain.north_a,
        staff=chain.agent,
        customer=customer,
        channel="phone",
        occurred_at=datetime(2026, 11, 3, 10, tzinfo=UTC),
    )
    review = services.review_submit(
        actor=chain.regional,
        interaction=interaction,
        values={"greets": 1, "tone": 5, "confirms-amount": 0},
        comment=COMMENT,
        scorecard_code="phone",
    )
    dispute = services.dispute_raise(actor=chain.agent, review=review, reason=REASON)
    services.dispute_settle(
        actor=chain.regional, dispute=dispute, status="rejected", note="Rules are rules."
    )
    services.coaching_note_add(
        actor=chain.regional,
        agent=chain.agent,
        branch_id=chain.north_a.pk,
        note=COACHING,
        reviews=[review],
    )
    review.refresh_from_db()
    return review


def admin_api(scopes: Sequence[str] = ("admin",), branches: Sequence[str] = ()) -> APIClient:
    integration = integration_create(
        name=f"privacy {scopes} {branches}", scopes=scopes, branch_codes=branches
    )
    _, secret = api_key_create(integration=integration)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def test_a_customers_export_and_erasure_cover_the_reviews_of_their_contacts(
    chain: Chain, reviewed: Review
) -> None:
    customer = reviewed.interaction.customer
    assert customer is not None
    exported = customer_export(actor=chain.admin, customer=customer)["quality_reviews"]
    assert [(r["comment"], r["score"]) for r in exported] == [(COMMENT, 0.0)]
    customer_erase(actor=chain.admin, customer=customer)
    reviewed.refresh_from_db()
    assert (reviewed.comment, reviewed.score, reviewed.critical_fail) == (ERASED_TEXT, 0.0, True)
    assert not reviewed.history.filter(comment=COMMENT).exists()
    dispute = Dispute.objects.get(review=reviewed)
    assert (dispute.reason, dispute.decision) == (ERASED_TEXT, ERASED_TEXT)
    assert not DisputeEvent.objects.filter(note__in=[REASON, "Rules are rules."]).exists()


def test_a_member_of_staff_is_exported_and_erased_through_the_api(
    chain: Chain, reviewed: Review
) -> None:
    api = admin_api()
    body = api.get(f"/api/v1/staff/{chain.agent.pk}/export/").json()
    assert body["staff"]["username"] == chain.agent.username
    assert [r["comment"] for r in body["reviews_of_their_work"]] == [COMMENT]
    assert body["disputes"][0]["reason"] == REASON
    assert [n["note"] for n in body["coaching_notes"]] == [COACHING]
    given = api.get(f"/api/v1/staff/{chain.regional.pk}/export/").json()["reviews_they_gave"]
    assert [r["id"] for r in given] == [reviewed.pk]

    erased = api.post(f"/api/v1/staff/{chain.agent.pk}/erase/")
    assert erased.status_code == 200
    person = User.objects.get(pk=chain.agent.pk)
    assert (person.first_name, person.email, person.is_active) == ("", "", False)
    assert not person.has_usable_password()
    assert CoachingNote.objects.get().note == ERASED_TEXT
    reviewed.refresh_from_db()
    assert (reviewed.comment, reviewed.score, reviewed.agent_id) == (ERASED_TEXT, 0.0, person.pk)
    assert api.post(f"/api/v1/staff/{chain.agent.pk}/erase/").status_code == 400


def test_staff_privacy_is_for_unlimited_admin_keys_and_hq_only(
    chain: Chain, reviewed: Review
) -> None:
    assert (
        admin_api(["staff:read"]).get(f"/api/v1/staff/{chain.agent.pk}/export/").status_code == 403
    )
    limited = admin_api(["admin"], ["n-a"])
    assert limited.get(f"/api/v1/staff/{chain.agent.pk}/export/").status_code == 403
    assert limited.post(f"/api/v1/staff/{chain.agent.pk}/erase/").status_code == 403
    assert admin_api().get("/api/v1/staff/999999/export/").status_code == 404
    assert User.objects.get(pk=chain.agent.pk).is_active


def test_the_gdpr_command_handles_staff(chain: Chain, reviewed: Review, tmp_path: Path) -> None:
    out = tmp_path / "agent.json"
    call_command(
        "gdpr", "export", str(chain.agent.pk), "--staff", f"--by={chain.admin.username}",
        f"--output={out}", verbosity=0,
    )  # fmt: skip
    assert json.loads(out.read_text())["coaching_notes"][0]["note"] == COACHING
    with pytest.raises(CommandError, match="--yes"):
        call_command(
            "gdpr", "erase", str(chain.agent.pk), "--staff", f"--by={chain.admin.username}"
        )
    with pytest.raises(CommandError, match="own account"):
        call_command(
            "gdpr", "erase", str(chain.admin.pk), "--staff", f"--by={chain.admin.username}", "--yes"
        )
    with pytest.raises(CommandError, match="Only HQ admins"):
        call_command(
            "gdpr",
            "erase",
            str(chain.agent.pk),
            "--staff",
            f"--by={chain.regional.username}",
            "--yes",
        )
    with pytest.raises(CommandError, match="No member of staff"):
        call_command("gdpr", "export", "999999", "--staff", f"--by={chain.admin.username}")
    call_command(
        "gdpr", "erase", str(chain.agent.pk), "--staff", f"--by={chain.admin.username}", "--yes",
        verbosity=0,
    )  # fmt: skip
    assert not User.objects.get(pk=chain.agent.pk).is_active
