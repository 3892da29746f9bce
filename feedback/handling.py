"""The customer's word on how their complaint was handled (SPEC §10, ISO 10002's "analyse"):
once a complaint is closed, its customer is asked "How well did we handle your complaint?"
(1-5) and "What could we do better?".

The question has a survey of its own, not a place in the visit's: the visit was most
likely surveyed already (often it is how the complaint came in), and its CSAT and NPS
measure the visit, not the handling that followed days later. So a closed complaint gets
its own invitation (``SurveyInvitation.complaint``), sent like every other one by the
beat task, and its answer sets ``FeedbackResponse.handling`` and ``handling_comment``
only: the interaction's numbers stay the visit's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from complaints.models import Complaint
from feedback.models import SurveyInvitation, SurveyRule
from feedback.services import survey_rules

logger = logging.getLogger(__name__)


def rule_for_channel(channel: str, rules: Sequence[SurveyRule]) -> SurveyRule | None:
    """The first active rule that surveys the channel (the rules come by priority)."""
    return next((r for r in rules if not r.channels or channel in r.channels), None)


def handling_invitations_plan(complaints: Iterable[Complaint]) -> list[SurveyInvitation]:
    """Queue the handling survey of each closed complaint, for the customer of its
    interaction, when an active rule surveys that channel. The rule's outcomes and
    sampling select visits, so they do not apply: every closed complaint's customer is
    asked. The rule gives the delay (from the close), the link's life and the frequency
    cap; consent and e-mail are checked when it is due, as for every invitation. One per
    complaint, ever: closing a reopened complaint again plans nothing new."""
    rules = survey_rules()
    if not rules:
        return []
    now = timezone.now()
    planned = []
    for complaint in complaints:
        interaction = complaint.interaction
        if interaction.customer_id is None or interaction.is_deleted:
            continue
        rule = rule_for_channel(interaction.channel, rules)
        if rule is None:
            continue
        planned.append(
            SurveyInvitation(
                interaction=interaction,
                complaint=complaint,
                customer_id=interaction.customer_id,
                branch_id=complaint.branch_id,
                rule=rule,
                due_at=(complaint.closed_at or now) + timedelta(minutes=rule.delay_minutes),
            )
        )
    return SurveyInvitation.objects.bulk_create(planned, ignore_conflicts=True)


def handling_invitations_for_events(
    sender: Any, events: Sequence[tuple[str, Any]], **kwargs: Any
) -> None:
    """Receiver of ``common.events.domain_events``: a closed complaint gets its handling
    survey, stored with the close; the e-mail leaves after the close commits, once the
    invitation is due (``feedback.invitations_send_due``). Planning is a side effect:
    whatever goes wrong is logged, and the close stands."""
    closed = [c for kind, c in events if kind == "complaint.closed" and isinstance(c, Complaint)]
    if not closed:
        return
    try:
        with transaction.atomic():  # a savepoint: a failed plan leaves the close's work whole
            handling_invitations_plan(closed)
    except Exception:
        logger.exception(
            "Planning the handling survey of complaints %s failed", [c.pk for c in closed]
        )
