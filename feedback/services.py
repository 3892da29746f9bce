"""Writes of the feedback loop: plan and send survey invitations, record answers (from the
survey page or the API), and work the follow-ups of unhappy customers."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from branches.access import branch_scope, is_manager
from common.events import emit
from common.memo import memoized
from feedback.models import (
    FeedbackResponse,
    FollowUp,
    FollowUpNote,
    FollowUpStatus,
    InvitationStatus,
    SurveyInvitation,
    SurveyRule,
)
from feedback.tokens import sampled, token_new
from interactions.models import Interaction
from interactions.services import interaction_feedback_from_customer

logger = logging.getLogger(__name__)
FOLLOW_UP_HOURS = 48
SEND_BATCH = 200


# --- planning ----------------------------------------------------------------------------


def _rule_for(interaction: Interaction, rules: Sequence[SurveyRule]) -> SurveyRule | None:
    for rule in rules:
        if rule.channels and interaction.channel not in rule.channels:
            continue
        if rule.outcomes and interaction.outcome not in rule.outcomes:
            continue
        return rule
    return None


def _active_rules() -> list[SurveyRule]:
    return list(SurveyRule.objects.filter(is_active=True))


def survey_rules() -> list[SurveyRule]:
    """The active rules, by priority (this process's copy)."""
    return memoized("feedback.survey_rules", _active_rules)


def invitations_plan(interactions: Iterable[Interaction]) -> list[SurveyInvitation]:
    """Queue a survey for each new interaction with a customer that an active rule picks
    (channel, outcome, sample). Consent, e-mail and the frequency cap are checked when it
    is due, since they may change until then. Planning twice plans nothing new."""
    rules = survey_rules()
    if not rules:
        return []
    planned = []
    for interaction in interactions:
        if interaction.customer_id is None or interaction.is_deleted:
            continue
        rule = _rule_for(interaction, rules)
        if rule is None or not sampled(rule.pk, interaction.pk, rule.sampling_rate):
            continue
        planned.append(
            SurveyInvitation(
                interaction=interaction,
                customer_id=interaction.customer_id,
                branch_id=interaction.branch_id,
                rule=rule,
                due_at=interaction.occurred_at + timedelta(minutes=rule.delay_minutes),
            )
        )
    return SurveyInvitation.objects.bulk_create(planned, ignore_conflicts=True)


def invitations_plan_for_events(
    sender: Any, events: Sequence[tuple[str, Any]], **kwargs: Any
) -> None:
    """Receiver of ``common.events.domain_events``: plan surveys for new interactions."""
    created = [i for kind, i in events if kind == "interaction.created"]
    if created:
        invitations_plan(created)


# --- sending -----------------------------------------------------------------------------


@dataclass
class SendResult:
    sent: int = 0
    skipped: int = 0


def _skip_reason(invitation: SurveyInvitation, now: datetime, asked: set[tuple[int, bool]]) -> str:
    """Why a due invitation is not sent, or "". The frequency cap keeps the two surveys
    apart: a visit survey waits for any survey sent within the cap, a complaint's handling
    survey only for another handling survey (the complaint's own visit was most likely
    surveyed within the cap, and the customer expects to be asked about their complaint)."""
    customer = invitation.customer
    if customer.is_deleted:
        return "customer deleted"
    if not customer.consent_surveys:
        return "no consent to surveys"
    if not customer.email:
        return "no e-mail address"
    rule = invitation.rule
    cap = timedelta(days=rule.min_days_between if rule else 0)
    handling = invitation.is_about_handling
    earlier = SurveyInvitation.objects.filter(customer=customer, sent_at__gt=now - cap)
    if handling:
        earlier = earlier.filter(complaint__isnull=False)
    if (customer.pk, handling) in asked or (cap and earlier.exclude(pk=invitation.pk).exists()):
        return "surveyed recently"
    if invitation.interaction.is_deleted:
        return "interaction deleted"
    return ""


def survey_url(token: str) -> str:
    return settings.SURVEY_BASE_URL.rstrip("/") + reverse("survey", args=[token])


def _message(invitation: SurveyInvitation, token: str) -> mail.EmailMessage:
    customer = invitation.customer
    kind = "handling_invitation" if invitation.is_about_handling else "invitation"
    with translation.override(invitation.language or settings.LANGUAGE_CODE):
        context = {
            "customer": customer,
            "branch": invitation.branch,
            "complaint": invitation.complaint,
            "url": survey_url(token),
            "expires_at": invitation.expires_at,
        }
        subject = render_to_string(f"feedback/{kind}_subject.txt", context).strip()
        body = render_to_string(f"feedback/{kind}_email.txt", context)
    return mail.EmailMessage(subject, body, to=[customer.email])


def invitations_send_due(*, now: datetime | None = None, batch: int = SEND_BATCH) -> SendResult:
    """Send the invitations that are due, a batch at a time. Each is marked sent in the
    same transaction that claims it, before its e-mail leaves: a task run twice, or two
    workers at once, never send an invitation twice (a failed send is logged and the
    invitation stays sent; the customer is not asked again)."""
    now = now or timezone.now()
    result = SendResult()
    while True:
        messages: list[mail.EmailMessage] = []
        with transaction.atomic():
            due = list(
                SurveyInvitation.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=InvitationStatus.PENDING, due_at__lte=now)
                .select_related("customer", "branch", "rule", "interaction", "complaint")
                .order_by("due_at", "id")[:batch]
            )
            if not due:
                break
            asked: set[tuple[int, bool]] = set()  # (customer, handling survey) in this batch
            for invitation in due:
                reason = _skip_reason(invitation, now, asked)
                if reason:
                    invitation.status, invitation.skip_reason = InvitationStatus.SKIPPED, reason
                    result.skipped += 1
                else:
                    token, invitation.token_hash = token_new()
                    invitation.status, invitation.sent_at = InvitationStatus.SENT, now
                    rule_days = invitation.rule.expiry_days if invitation.rule else 7
                    invitation.expires_at = now + timedelta(days=rule_days)
                    invitation.language = invitation.customer.language
                    asked.add((invitation.customer_id, invitation.is_about_handling))
                    messages.append(_message(invitation, token))
                    result.sent += 1
            SurveyInvitation.objects.bulk_update(
                due,
                ["status", "skip_reason", "token_hash", "sent_at", "expires_at", "language"],
            )
        try:
            with mail.get_connection() as connection:
                connection.send_messages(messages)
        except Exception:  # the mail server failed: say so, do not ask the customers twice
            logger.exception("Sending %d survey invitations failed", len(messages))
        if len(due) < batch:
            break
    return result


# --- answers -----------------------------------------------------------------------------


def follow_up_fields(response: FeedbackResponse) -> dict[str, Any]:
    """What a follow-up of an unhappy answer holds: the answer, why, and when it is due."""
    scores = [
        f"{name} {score}"
        for name, score in (("NPS", response.nps), ("CSAT", response.csat))
        if score is not None
    ]
    return {
        "branch_id": response.branch_id,
        "response": response,
        "reason": ", ".join(scores),
        "opened_at": response.received_at,
        "due_at": response.received_at + timedelta(hours=FOLLOW_UP_HOURS),
    }


def _response_save(response: FeedbackResponse) -> FeedbackResponse:
    """Store an answer, put its CSAT, NPS and comment into the interaction's numbers (which
    marks its branch-day for the rollups), open a follow-up for an unhappy customer, and
    announce it. A complaint handling answer alone leaves the interaction as it is: it is
    a measure of its own, counted from the responses."""
    response.full_clean()
    response.save()
    if response.csat is not None or response.nps is not None or response.comment:
        interaction_feedback_from_customer(
            interaction=response.interaction,
            csat=response.csat,
            nps=response.nps,
            comment=response.comment,
        )
    if response.needs_follow_up:
        FollowUp.objects.get_or_create(
            interaction=response.interaction, defaults=follow_up_fields(response)
        )
    emit([("feedback.received", response)])
    return response


@transaction.atomic
def survey_answer(
    *,
    invitation: SurveyInvitation,
    nps: int | None = None,
    csat: int | None = None,
    comment: str = "",
    handling: int | None = None,
    handling_comment: str = "",
) -> FeedbackResponse:
    """The customer answered through their link: once, before it expires. A visit survey
    answers NPS and CSAT, a complaint's handling survey ``handling`` (1-5)."""
    invitation = SurveyInvitation.objects.select_for_update().get(pk=invitation.pk)
    now = timezone.now()
    if invitation.status == InvitationStatus.RESPONDED:
        raise ValidationError("This survey has already been answered.", code="used")
    if invitation.status != InvitationStatus.SENT or (
        invitation.expires_at and invitation.expires_at <= now
    ):
        raise ValidationError("This survey link has expired.", code="expired")
    invitation.status, invitation.responded_at = InvitationStatus.RESPONDED, now
    invitation.save(update_fields=["status", "responded_at"])
    return _response_save(
        FeedbackResponse(
            interaction_id=invitation.interaction_id,
            branch_id=invitation.branch_id,
            invitation=invitation,
            source="survey",
            nps=nps,
            csat=csat,
            comment=comment.strip(),
            handling=handling,
            handling_comment=handling_comment.strip(),
            received_at=now,
        )
    )


@transaction.atomic
def feedback_record(
    *,
    actor: Any,
    interaction: Interaction,
    nps: int | None = None,
    csat: int | None = None,
    comment: str = "",
    handling: int | None = None,
    handling_comment: str = "",
    source: str,
    external_id: str = "",
) -> tuple[FeedbackResponse, bool]:
    """An answer collected by another system. The same (source, external_id) again returns
    the first answer, changing nothing. Returns the response and whether it is new."""
    if not branch_scope(actor, for_write=True).allows(interaction.branch_id):
        raise PermissionDenied("You may not record feedback at this branch.")
    if external_id:
        existing = FeedbackResponse.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            return existing, False
    response = _response_save(
        FeedbackResponse(
            interaction=interaction,
            branch_id=interaction.branch_id,
            source=source,
            external_id=external_id,
            nps=nps,
            csat=csat,
            comment=comment.strip(),
            handling=handling,
            handling_comment=handling_comment.strip(),
            received_at=timezone.now(),
        )
    )
    return response, True


# --- follow-ups --------------------------------------------------------------------------

FOLLOW_UP_ACTIONS = {
    "claim": ({FollowUpStatus.OPEN}, FollowUpStatus.CLAIMED),
    "note": ({FollowUpStatus.OPEN, FollowUpStatus.CLAIMED, FollowUpStatus.CLOSED}, None),
    "close": ({FollowUpStatus.OPEN, FollowUpStatus.CLAIMED}, FollowUpStatus.CLOSED),
}


@transaction.atomic
def follow_up_act(*, actor: Any, follow_up: FollowUp, action: str, text: str = "") -> FollowUp:
    """Claim a follow-up (it becomes yours), add a note, or close it saying what was done.
    Managers who may write at its branch do it; every step is kept with who and when."""
    if not is_manager(actor) or not branch_scope(actor, for_write=True).allows(follow_up.branch_id):
        raise PermissionDenied("Only the branch's managers work its follow-ups.")
    if action not in FOLLOW_UP_ACTIONS:
        raise ValidationError({"action": [f"Unknown action '{action}'."]})
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    allowed, to_status = FOLLOW_UP_ACTIONS[action]
    if follow_up.status not in allowed:
        raise ValidationError(f"A {follow_up.status} follow-up cannot be sent to '{action}'.")
    if action in {"note", "close"} and not text.strip():
        raise ValidationError(
            {"text": ["Say what was done." if action == "close" else "Write the note."]}
        )
    now = timezone.now()
    if action == "claim":
        follow_up.owner = actor
    if to_status:
        follow_up.status = to_status
    if action == "close":
        follow_up.closed_at = now
    follow_up.save()
    FollowUpNote.objects.create(
        follow_up=follow_up, author=actor, action=action, text=text.strip(), at=now
    )
    return follow_up
