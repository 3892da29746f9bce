"""Reads of the feedback loop, limited to the caller's branches (the survey page aside:
there the token is the only key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from branches.access import branch_scope
from branches.models import Branch
from feedback.models import (
    FeedbackResponse,
    FollowUp,
    FollowUpStatus,
    InvitationStatus,
    SurveyInvitation,
)
from feedback.tokens import token_hash
from interactions.models import Interaction


def invitation_by_token(token: str) -> SurveyInvitation | None:
    """The invitation a link's token opens, or None. Only SHA-256 digests are stored and
    looked up, so how long a lookup takes says nothing about any real token: the check
    cannot be timed character by character."""
    if not token or len(token) > 100:
        return None
    return (
        SurveyInvitation.objects.select_related("branch", "customer", "interaction", "complaint")
        .filter(token_hash=token_hash(token))
        .first()
    )


def follow_up_list(
    *, actor: Any, branch_id: int | None = None, status: str = "", overdue: bool = False
) -> QuerySet[FollowUp]:
    """Follow-ups at the caller's branches, the most urgent first. ``status`` "" means
    open and claimed ones; "all" means every one."""
    follow_ups = branch_scope(actor).filter(FollowUp.objects.all())
    if branch_id is not None:
        follow_ups = follow_ups.filter(branch_id=branch_id)
    if status == "":
        follow_ups = follow_ups.exclude(status=FollowUpStatus.CLOSED)
    elif status != "all":
        follow_ups = follow_ups.filter(status=status)
    if overdue:
        follow_ups = follow_ups.exclude(status=FollowUpStatus.CLOSED).filter(
            due_at__lt=timezone.now()
        )
    return follow_ups.select_related(
        "branch", "owner", "response", "interaction__customer"
    ).order_by("due_at", "id")


def follow_up_get(*, actor: Any, pk: int) -> FollowUp:
    return follow_up_list(actor=actor, status="all").get(pk=pk)


@dataclass(frozen=True)
class ResponseRate:
    branch: Branch
    contacts: int  # interactions with a customer in the period
    invited: int  # invitations sent
    skipped: int  # due but not sent (no consent, no e-mail, asked recently)
    answered: int  # survey answers
    other_feedback: int  # answers collected elsewhere (kiosk, IVR, bot)

    @property
    def rate(self) -> float | None:
        return self.answered / self.invited if self.invited else None

    @property
    def percent(self) -> str:
        return f"{self.rate * 100:.0f} %" if self.rate is not None else "\u2013"


def response_rates(*, actor: Any, since: datetime, until: datetime) -> list[ResponseRate]:
    """Per branch the caller may see: how many customers were asked and how many answered,
    for interactions in [since, until). A branch that never surveys shows 0 invited.
    Visit surveys only: a complaint's handling survey is about its handling, not reach."""
    branches = branch_scope(actor).branches().order_by("code")
    window = Q(interaction__occurred_at__gte=since, interaction__occurred_at__lt=until)
    invitations = {
        row["branch_id"]: row
        for row in SurveyInvitation.objects.filter(
            window, branch__in=branches, complaint__isnull=True
        )
        .values("branch_id")
        .annotate(
            invited=Count("id", filter=Q(sent_at__isnull=False)),
            skipped=Count("id", filter=Q(status=InvitationStatus.SKIPPED)),
            answered=Count("id", filter=Q(status=InvitationStatus.RESPONDED)),
        )
        .order_by()
    }
    others = dict(
        FeedbackResponse.objects.filter(window, branch__in=branches, invitation__isnull=True)
        .values("branch_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("branch_id", "n")
    )
    contacts = dict(
        Interaction.objects.alive()
        .filter(branch__in=branches, occurred_at__gte=since, occurred_at__lt=until)
        .exclude(customer=None)
        .values("branch_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("branch_id", "n")
    )
    rates = []
    for branch in branches:
        row = invitations.get(branch.pk, {})
        rates.append(
            ResponseRate(
                branch=branch,
                contacts=contacts.get(branch.pk, 0),
                invited=row.get("invited", 0),
                skipped=row.get("skipped", 0),
                answered=row.get("answered", 0),
                other_feedback=others.get(branch.pk, 0),
            )
        )
    return rates
