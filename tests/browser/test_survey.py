"""In a real browser: a customer answers the survey in Indonesian on a phone-sized
screen, and their low score opens a follow-up for the branch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from feedback.models import FollowUp, InvitationStatus, SurveyInvitation
from feedback.tokens import token_new
from interactions.models import Interaction
from tests.factories import BranchFactory, CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_indonesian_customer_answers_on_a_phone(site: Page) -> None:
    branch = BranchFactory.create(name="Kemang Raya", timezone="Asia/Jakarta")
    customer = CustomerFactory.create(name="Dewi", language="id", consent_surveys=True)
    interaction = Interaction.objects.create(
        branch=branch, customer=customer, channel="in_person", outcome="resolved",
        occurred_at=timezone.now() - timedelta(hours=3), wait_seconds=400, handle_seconds=300,
    )  # fmt: skip
    token, digest = token_new()
    SurveyInvitation.objects.create(
        interaction=interaction, customer=customer, branch=branch, status=InvitationStatus.SENT,
        due_at=timezone.now(), sent_at=timezone.now(), token_hash=digest, language="id",
        expires_at=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    site.set_viewport_size({"width": 390, "height": 844})
    site.goto(f"/s/{token}/")
    expect(site.get_by_role("heading", level=1)).to_have_text("Kunjungan Anda ke Kemang Raya")
    assert site.evaluate("document.documentElement.lang") == "id"
    assert site.evaluate("document.documentElement.scrollWidth") <= 390
    nps = site.get_by_role("group", name="Seberapa besar kemungkinan Anda merekomendasikan kami")
    nps.get_by_text("3", exact=True).click()
    site.get_by_label("2: tidak puas").check()
    site.get_by_label("Ada yang ingin Anda sampaikan").fill("Antrian terlalu lama")
    site.get_by_role("button", name="Kirim jawaban saya").click()
    expect(site.get_by_role("heading", level=1)).to_have_text("Terima kasih!")
    follow_up = FollowUp.objects.get()
    assert (follow_up.branch, follow_up.reason) == (branch, "NPS 3, CSAT 2")
    site.goto(f"/s/{token}/")
    expect(site.get_by_role("heading", level=1)).to_have_text("Survei ini sudah dijawab")
