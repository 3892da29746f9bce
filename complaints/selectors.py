"""Reads of complaints, scoped by branches.access."""

from __future__ import annotations

import importlib
import logging
from datetime import datetime
from typing import Any

from django.db.models import Case, DateTimeField, F, Q, QuerySet, When
from django.utils import timezone

from branches.access import branch_scope
from branches.models import Branch, Role, User
from complaints.models import Complaint, ComplaintEvent, ComplaintType, Status

logger = logging.getLogger(__name__)

SUGGESTIONS_SHOWN = 3


def complaint_list(*, actor: Any) -> QuerySet[Complaint]:
    """The complaints at the branches ``actor`` sees, with what a list shows."""
    return branch_scope(actor).filter(
        Complaint.objects.select_related("branch", "type__area", "owner")
    )


def next_due(complaint: Complaint) -> datetime | None:
    """The next deadline: the acknowledgement while received, then the response; none once
    responded or closed."""
    if complaint.status == Status.RECEIVED:
        return complaint.acknowledge_due
    if complaint.status in {Status.ACKNOWLEDGED, Status.INVESTIGATING}:
        return complaint.respond_due
    return None


def with_next_due(complaints: QuerySet[Complaint]) -> QuerySet[Complaint]:
    """``next_due`` in the database, as ``due_at``: to sort and filter queues by it."""
    return complaints.annotate(
        due_at=Case(
            When(status=Status.RECEIVED, then=F("acknowledge_due")),
            When(status__in=[Status.ACKNOWLEDGED, Status.INVESTIGATING], then=F("respond_due")),
            default=None,
            output_field=DateTimeField(),
        )
    )


def overdue_q(now: datetime) -> Q:
    """Open complaints past their next deadline: not acknowledged in time, or not yet
    responded to in time."""
    return Q(status=Status.RECEIVED, acknowledge_due__lt=now) | Q(
        status__in=[Status.ACKNOWLEDGED, Status.INVESTIGATING], respond_due__lt=now
    )


def overdue_complaints(*, actor: Any, now: datetime | None = None) -> QuerySet[Complaint]:
    """The overdue complaints at the branches ``actor`` sees (managers' home page)."""
    return complaint_list(actor=actor).filter(overdue_q(now or timezone.now()))


def complaint_events(complaint: Complaint) -> QuerySet[ComplaintEvent]:
    """Every step of a complaint's handling, oldest first, with who took it."""
    return complaint.events.select_related("actor").order_by("at", "id")


def complaint_owner_choices(branch: Branch) -> QuerySet[User]:
    """Who may own a complaint at ``branch``: active staff who see it (its own staff, the
    managers of its region, HQ)."""
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(branches=branch)
            | Q(role=Role.REGIONAL_MANAGER, regions=branch.region_id)
            | Q(role=Role.ADMIN)
        )
        .distinct()
        .order_by("username")
    )


def live_types() -> QuerySet[ComplaintType]:
    """The types staff may give a complaint now, by area."""
    return (
        ComplaintType.objects.filter(retired_at__isnull=True)
        .select_related("area")
        .order_by("area__position", "area__code", "code")
    )


def type_suggestions(complaint: Complaint, k: int = SUGGESTIONS_SHOWN) -> list[Any]:
    """Up to ``k`` types the classifier suggests for the complaint's text, most likely
    first (each with ``.type`` and ``.probability``); none while no classifier is trained,
    installed or sure of anything. Staff confirm: a suggestion is never applied alone."""
    if not complaint.text.strip():
        return []
    try:
        classifier = importlib.import_module("complaints.classifier")
    except ImportError:  # the classifier is an optional part (scikit-learn)
        return []
    try:
        suggestions = classifier.suggest(complaint.text, k=k)
    except Exception:  # a broken model must not take the complaint's page down
        logger.exception("Complaint type suggestions failed for complaint %s", complaint.pk)
        return []
    return [s for s in suggestions if s.type.retired_at is None][:k]
