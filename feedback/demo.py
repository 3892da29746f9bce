"""Surveys for the demo chain: invitations on its last two weeks, the answers it already
holds as survey responses, follow-ups for its unhappy customers, and a few live links."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Mod
from django.utils import timezone

from customers.models import Customer
from feedback.models import (
    FeedbackResponse,
    FollowUp,
    InvitationStatus,
    SurveyInvitation,
    SurveyRule,
)
from feedback.services import follow_up_fields, survey_url
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
    return SurveyInvitation.objects.exists()


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
