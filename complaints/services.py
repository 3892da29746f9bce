"""Writes of complaints: recording one (with its reference and due dates), typing it, and
each step of its handling, checked under the complaint's row lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import IntegrationPrincipal, branch_scope, is_manager
from branches.directory import branch_directory
from branches.models import User
from common.audit import current_audit
from common.events import emit
from complaints import policy
from complaints.models import (
    Complaint,
    ComplaintEvent,
    ComplaintType,
    HandlingPolicy,
    Severity,
    Status,
)
from complaints.selectors import complaint_owner_choices
from interactions.models import Interaction

# Used where HQ has set no policy for a severity: (acknowledge, respond) in working days.
DEFAULT_DAYS = {
    Severity.LOW: (2, 10),
    Severity.MEDIUM: (1, 5),
    Severity.HIGH: (1, 3),
    Severity.CRITICAL: (0, 1),
}


@dataclass(frozen=True)
class Step:
    allowed_from: frozenset[str]
    to: str
    managers_only: bool = False
    needs_response: bool = False
    needs_note: bool = False


STEPS = {
    "acknowledge": Step(frozenset({Status.RECEIVED}), Status.ACKNOWLEDGED),
    "investigate": Step(frozenset({Status.ACKNOWLEDGED}), Status.INVESTIGATING),
    "respond": Step(
        frozenset({Status.ACKNOWLEDGED, Status.INVESTIGATING}),
        Status.RESPONDED,
        needs_response=True,
    ),
    "close": Step(frozenset({Status.RESPONDED}), Status.CLOSED, managers_only=True),
    "reopen": Step(
        frozenset({Status.RESPONDED, Status.CLOSED}),
        Status.INVESTIGATING,
        managers_only=True,
        needs_note=True,
    ),
}


def _days(severity: str) -> tuple[int, int]:
    row = HandlingPolicy.objects.filter(severity=severity).first()
    if row is not None:
        return row.acknowledge_days, row.respond_days
    return DEFAULT_DAYS[Severity(severity)]


def due_dates_set(complaint: Complaint, zone: str) -> None:
    """The due dates of the complaint's severity, counted from when it was received."""
    acknowledge, respond = _days(complaint.severity)
    complaint.acknowledge_due = policy.due_at(complaint.received_at, acknowledge, zone)
    complaint.respond_due = policy.due_at(complaint.received_at, respond, zone)


def step_record(complaint: Complaint, actor: Any, action: str, before: str, note: str = "") -> None:
    ComplaintEvent.objects.create(
        complaint=complaint,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        from_status=before,
        to_status=complaint.status,
        note=note,
        **current_audit().stamp(),
    )


@transaction.atomic
def complaint_record(
    *,
    actor: Any,
    interaction: Interaction,
    severity: str = Severity.MEDIUM,
    complaint_type: ComplaintType | None = None,
    text: str = "",
    remedy: str = "",
    source: str = "",
    external_id: str = "",
) -> Complaint:
    """Record the complaint an interaction carries: a unique reference, due dates from the
    severity's policy (working days on the branch's calendar), status "received".
    ``source`` and ``external_id``: the integration's own reference of it, if any."""
    if not branch_scope(actor, for_write=True).allows(interaction.branch_id):
        raise PermissionDenied(_("You may not record complaints at this branch."))
    if severity not in Severity.values:
        raise ValidationError({"severity": [_("Choose a severity.")]})
    if complaint_type is not None and complaint_type.retired_at is not None:
        raise ValidationError({"type": [_("This type is retired: choose a current one.")]})
    acknowledge, respond = _days(severity)
    zone = interaction.branch.timezone
    received = interaction.occurred_at
    complaint = Complaint(
        reference=reference_of(interaction),
        interaction=interaction,
        branch_id=interaction.branch_id,
        received_at=received,
        type=complaint_type,
        severity=severity,
        text=text.strip(),
        remedy=remedy.strip(),
        source=source,
        external_id=external_id,
        acknowledge_due=policy.due_at(received, acknowledge, zone),
        respond_due=policy.due_at(received, respond, zone),
    )
    complaint.full_clean(exclude=["interaction", "reference"])
    try:
        with transaction.atomic():
            complaint.save()
    except IntegrityError:
        raise ValidationError(
            {"interaction": [_("This interaction has a complaint already.")]}
        ) from None
    step_record(complaint, actor, "received", "")
    emit([("complaint.created", complaint)], actor=actor)
    return complaint


def reference_of(interaction: Interaction) -> str:
    """The complaint's unique reference, known before it is saved (one complaint per
    interaction): CMP-<year>-<interaction id>."""
    return f"CMP-{interaction.occurred_at:%Y}-{interaction.pk:08d}"


def complaints_for_events(
    sender: Any, events: Sequence[tuple[str, Any]], actor: Any = None, **kwargs: Any
) -> list[Complaint]:
    """Receiver of ``common.events.domain_events``: an interaction created or changed with
    ``is_complaint`` gets its complaint (once), received when the interaction happened, of
    medium severity until someone says otherwise. A batch costs two statements and two
    INSERTs, whatever its size; a write without complaints costs nothing."""
    flagged = {
        i.pk: i
        for kind, i in events
        if kind in {"interaction.created", "interaction.updated"}
        and isinstance(i, Interaction)
        and i.is_complaint
        and i.deleted_at is None
    }
    if not flagged:
        return []
    known = set(
        Complaint.objects.filter(interaction_id__in=flagged).values_list(
            "interaction_id", flat=True
        )
    )
    new = [i for pk, i in sorted(flagged.items()) if pk not in known]
    if not new:
        return []
    acknowledge, respond = _days(Severity.MEDIUM)
    zones = branch_directory().timezones
    complaints = Complaint.objects.bulk_create(
        Complaint(
            reference=reference_of(i),
            interaction_id=i.pk,
            branch_id=i.branch_id,
            received_at=i.occurred_at,
            severity=Severity.MEDIUM,
            acknowledge_due=policy.due_at(i.occurred_at, acknowledge, zones[i.branch_id]),
            respond_due=policy.due_at(i.occurred_at, respond, zones[i.branch_id]),
        )
        for i in new
    )
    who = (
        actor
        if getattr(actor, "pk", None) and not isinstance(actor, IntegrationPrincipal)
        else None
    )
    ComplaintEvent.objects.bulk_create(
        ComplaintEvent(
            complaint=c, actor=who, action="received", to_status=Status.RECEIVED, **stamp
        )
        for c in complaints
        for stamp in [current_audit().stamp()]
    )
    return complaints


@transaction.atomic
def complaint_transition(
    *, actor: Any, complaint: Complaint, action: str, note: str = "", response: str = ""
) -> Complaint:
    """One step of the handling, decided on the row as it is once locked: two people acting
    at once cannot both move it."""
    step = STEPS.get(action)
    if step is None:
        raise ValidationError({"action": [_("No such step.")]})
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if not branch_scope(actor, for_write=True).allows(complaint.branch_id):
        raise PermissionDenied(_("You may not handle complaints at this branch."))
    if step.managers_only and not is_manager(actor):
        raise PermissionDenied(_("Only a manager closes or reopens a complaint."))
    if complaint.status not in step.allowed_from:
        raise ValidationError(
            _("A %(status)s complaint cannot be moved that way.")
            % {"status": complaint.get_status_display().lower()}
        )
    if step.needs_response and not response.strip():
        raise ValidationError({"response": [_("Write the response the customer was given.")]})
    if step.needs_note and not note.strip():
        raise ValidationError({"note": [_("Say why it is reopened.")]})
    before, now = complaint.status, timezone.now()
    complaint.status = step.to
    if action == "acknowledge":
        complaint.acknowledged_at = now
    elif action == "respond":
        complaint.responded_at, complaint.response = now, response.strip()
    elif action == "close":
        complaint.closed_at = now
    elif action == "reopen":
        complaint.closed_at = None
    complaint.updated_at = now
    complaint.save()
    step_record(complaint, actor, action, before, note.strip())
    if action == "close":  # feedback asks the customer how the handling went
        emit([("complaint.closed", complaint)], actor=actor)
    return complaint


@transaction.atomic
def complaint_type_set(*, actor: Any, complaint: Complaint, complaint_type: ComplaintType) -> None:
    """Staff confirm (or correct) a complaint's type; the step is kept."""
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if not branch_scope(actor, for_write=True).allows(complaint.branch_id):
        raise PermissionDenied(_("You may not handle complaints at this branch."))
    if complaint_type.retired_at is not None:
        raise ValidationError({"type": [_("This type is retired: choose a current one.")]})
    complaint.type, complaint.updated_at = complaint_type, timezone.now()
    complaint.save(update_fields=["type", "updated_at"])
    step_record(complaint, actor, "typed", complaint.status, complaint_type.code)
    emit([("complaint.typed", complaint)], actor=actor)


def _locked(complaint: Complaint, actor: Any) -> Complaint:
    """The complaint under its row lock, if ``actor`` may handle complaints at its branch."""
    complaint = (
        Complaint.objects.select_for_update(of=("self",))
        .select_related("branch")
        .get(pk=complaint.pk)
    )
    if not branch_scope(actor, for_write=True).allows(complaint.branch_id):
        raise PermissionDenied(_("You may not handle complaints at this branch."))
    return complaint


@transaction.atomic
def complaint_assign(
    *, actor: Any, complaint: Complaint, owner: User | None, severity: str
) -> Complaint:
    """Give a complaint its owner (someone who sees its branch, or nobody) and its severity.
    A new severity moves both due dates, counted as at first from when the complaint was
    received. The step is kept; a form sent back unchanged changes nothing."""
    complaint = _locked(complaint, actor)
    if severity not in Severity.values:
        raise ValidationError({"severity": [_("Choose a severity.")]})
    owners = complaint_owner_choices(complaint.branch)
    if owner is not None and not owners.filter(pk=owner.pk).exists():
        raise ValidationError(
            {"owner": [_("Choose someone who works at this branch or oversees it.")]}
        )
    changes = []
    if (owner.pk if owner else None) != complaint.owner_id:
        before = complaint.owner.username if complaint.owner else "-"
        changes.append(f"owner {before} → {owner.username if owner else '-'}")
        complaint.owner = owner
    if severity != complaint.severity:
        changes.append(f"severity {complaint.severity} → {severity}")
        complaint.severity = severity
        due_dates_set(complaint, complaint.branch.timezone)
    if changes:
        complaint.save()
        step_record(complaint, actor, "assigned", complaint.status, "; ".join(changes))
    return complaint
