"""Surveys for the demo chain: invitations on its last two weeks, the answers it already
holds as survey responses, follow-ups for its unhappy customers, and a few live links;
and, for the complaints demo, its closed complaints' handling surveys and their answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Mod
from django.utils import timezone

from complaints.models import Complaint, Status
from customers.models import Customer
from feedback.handling import rule_for_channel
from feedback.models import (
    HANDLING_SATISFIED,
    FeedbackResponse,
    FollowUp,
    InvitationStatus,
    SurveyInvitation,
    SurveyRule,
)
from feedback.services import follow_up_fields, survey_rules, survey_url
from feedback.tokens import sampled, token_new
from interactions.models import Interaction

DEMO_DAYS = 14
ANSWER_DELAY = timedelta(hours=3)


@dataclass
class SurveyDemo:
    invitations: int = 0
    responses: int = 0
    follow_ups: int = 0
    links: list[tuple[str, str]] = field(default_factory=list)  # (description, url)


def demo_surveys_loaded() -> bool:
    """Whether the visit surveys are seeded (the complaints demo's handling surveys aside)."""
    return SurveyInvitation.objects.filter(complaint__isnull=True).exists()


@transaction.atomic
def demo_surveys_seed(*, live_links: int = 3) -> SurveyDemo:
    result = SurveyDemo()
    rule = SurveyRule.objects.filter(is_active=True).first()
    last = Interaction.objects.aggregate(last=Max("occurred_at"))["last"]
    if rule is None or last is None:
        return result
    # One customer in five writes in Indonesian.
    Customer.objects.annotate(fifth=Mod("id", 5)).filter(fifth=0).update(language="id")
    now = timezone.now()
    recent = (
        Interaction.objects.alive()
        .filter(occurred_at__gte=last - timedelta(days=DEMO_DAYS), customer__consent_surveys=True)
        .exclude(Q(customer__email="") | Q(outcome="abandoned"))
        .select_related("customer")
        .order_by("occurred_at", "id")
    )
    invitations, answers, asked = [], [], set()
    for interaction in recent.iterator(chunk_size=2000):
        customer = interaction.customer
        if customer is None or customer.pk in asked:
            continue
        if not sampled(rule.pk, interaction.pk, rule.sampling_rate):
            continue
        asked.add(customer.pk)
        sent = interaction.occurred_at + timedelta(minutes=rule.delay_minutes)
        answered = interaction.csat is not None or interaction.nps is not None
        invitation = SurveyInvitation(
            interaction=interaction,
            customer=customer,
            branch_id=interaction.branch_id,
            rule=rule,
            status=InvitationStatus.RESPONDED if answered else InvitationStatus.SENT,
            due_at=sent,
            sent_at=sent,
            expires_at=sent + timedelta(days=rule.expiry_days),
            responded_at=sent + ANSWER_DELAY if answered else None,
            language=customer.language,
        )
        invitations.append(invitation)
        if answered:
            answers.append((invitation, interaction))
    SurveyInvitation.objects.bulk_create(invitations)
    responses = FeedbackResponse.objects.bulk_create(
        FeedbackResponse(
            interaction=interaction,
            branch_id=interaction.branch_id,
            invitation=invitation,
            source="survey",
            nps=interaction.nps,
            csat=interaction.csat,
            comment=interaction.feedback_comment,
            received_at=invitation.responded_at or now,
        )
        for invitation, interaction in answers
    )
    follow_ups = FollowUp.objects.bulk_create(
        FollowUp(interaction_id=response.interaction_id, **follow_up_fields(response))
        for response in responses
        if response.needs_follow_up
    )
    # A few links that work now (the others were e-mailed in the story, and only their
    # hashes exist): open ones, one of them for a customer who reads Indonesian.
    waiting = [i for i in invitations if i.status == InvitationStatus.SENT]
    chosen = [i for i in waiting if i.language == "id"][:1]
    chosen += [i for i in waiting if i.language != "id"][: max(live_links - len(chosen), 0)]
    for invitation in chosen:
        token, invitation.token_hash = token_new()
        invitation.expires_at = now + timedelta(days=rule.expiry_days)
        invitation.save(update_fields=["token_hash", "expires_at"])
        language = "Indonesian" if invitation.language == "id" else "English"
        result.links.append(
            (
                f"{invitation.customer.name} at {invitation.branch.code} ({language})",
                survey_url(token),
            )
        )
    result.invitations, result.responses, result.follow_ups = (
        len(invitations), len(responses), len(follow_ups),
    )  # fmt: skip
    links_file = settings.DEMO_TRUTH_FILE.parent / "demo_surveys.txt"
    links_file.parent.mkdir(parents=True, exist_ok=True)
    links_file.write_text("".join(f"{label}: {url}\n" for label, url in result.links))
    return result


# --- complaint handling ------------------------------------------------------------------

# About three in five customers answer; most think the complaint was handled well.
HANDLING_ANSWER_SHARE = 0.6
HANDLING_SCORES = [1, 2, 3, 4, 5]
HANDLING_WEIGHTS = [0.07, 0.08, 0.12, 0.33, 0.40]
LOW_HANDLING_COMMENTS = {
    "id": [
        "Lama bgt baru ada yang balas, harus telepon berkali-kali.",
        "Tidak ada yang menghubungi saya kembali.",
        "Masalahnya belum benar-benar selesai.",
        "Tolong kabari perkembangannya, jangan diam saja.",
        "Jawabannya cuma template, gk menjawab keluhan saya.",
    ],
    "en": [
        "It took far too long to hear back.",
        "Nobody called me back, I had to chase it myself.",
        "The problem is still not really fixed.",
        "Please keep me posted while you look into it.",
        "The reply felt like a form letter.",
    ],
}


@dataclass
class HandlingDemo:
    invited: int = 0  # closed complaints whose customer could be asked
    answered: int = 0
    satisfied: int = 0  # answers of 4 or 5


def demo_handling_answers(
    complaints: Iterable[Complaint], rng: np.random.Generator
) -> HandlingDemo:
    """The handling surveys of the demo's closed complaints, as if each had been sent when
    the complaint was closed: to customers who agreed to surveys and have an e-mail address,
    on a channel a rule surveys. About 60 % answered, most with 4 or 5; a low answer comes
    with a short comment in the customer's language. Complaints that have their survey
    already are left alone. Written in bulk; the answers do not touch the interactions."""
    result = HandlingDemo()
    closed = [c for c in complaints if c.status == Status.CLOSED and c.closed_at is not None]
    rules = survey_rules()
    if not closed or not rules:
        return result
    surveyed = set(  # every complaint's survey: fewer rows than ids to send in an IN (...)
        SurveyInvitation.objects.filter(complaint__isnull=False).values_list(
            "complaint_id", flat=True
        )
    )
    interactions = Interaction.objects.select_related("customer").in_bulk(
        [c.interaction_id for c in closed if c.pk not in surveyed]
    )
    now = timezone.now()
    invitations, answers = [], []
    for complaint in closed:
        interaction = interactions.get(complaint.interaction_id)
        customer = interaction.customer if interaction else None
        if interaction is None or customer is None or complaint.pk in surveyed:
            continue
        if customer.is_deleted or not customer.consent_surveys or not customer.email:
            continue
        rule = rule_for_channel(interaction.channel, rules)
        if rule is None or complaint.closed_at is None:
            continue
        sent = complaint.closed_at + timedelta(minutes=rule.delay_minutes)
        if sent > now:
            continue
        responded = sent + timedelta(hours=float(rng.uniform(0.5, 72)))
        answered = bool(rng.random() < HANDLING_ANSWER_SHARE) and responded <= now
        invitation = SurveyInvitation(
            interaction=interaction,
            complaint=complaint,
            customer=customer,
            branch_id=complaint.branch_id,
            rule=rule,
            status=InvitationStatus.RESPONDED if answered else InvitationStatus.SENT,
            due_at=sent,
            sent_at=sent,
            expires_at=sent + timedelta(days=rule.expiry_days),
            responded_at=responded if answered else None,
            language=customer.language,
        )
        invitations.append(invitation)
        if not answered:
            continue
        score = int(rng.choice(HANDLING_SCORES, p=HANDLING_WEIGHTS))
        comments = LOW_HANDLING_COMMENTS["id" if customer.language == "id" else "en"]
        comment = (
            comments[int(rng.integers(len(comments)))]
            if score < HANDLING_SATISFIED and rng.random() < 0.8
            else ""
        )
        answers.append((invitation, score, comment))
    SurveyInvitation.objects.bulk_create(invitations)
    FeedbackResponse.objects.bulk_create(
        FeedbackResponse(
            interaction_id=invitation.interaction_id,
            branch_id=invitation.branch_id,
            invitation=invitation,
            source="survey",
            handling=score,
            handling_comment=comment,
            received_at=invitation.responded_at or now,
        )
        for invitation, score, comment in answers
    )
    result.invited, result.answered = len(invitations), len(answers)
    result.satisfied = sum(1 for _, score, _ in answers if score >= HANDLING_SATISFIED)
    return result
