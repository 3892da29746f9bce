"""What managers do with a case: acknowledge it, plan the action (owner, due date, plan),
say the plan is in place (monitoring: the engine re-measures), close it with a note, or
add a note. Each step is checked against the row under its lock and recorded with who,
when, from where and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from branches.access import IntegrationPrincipal, branch_scope, is_manager
from common.audit import current_audit
from common.events import emit
from consistency.models import Case, CaseEvent, CaseStatus

OPEN = Case.OPEN_STATUSES
# action: (the statuses it may start from, where it leads; "" keeps the status)
CASE_ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({CaseStatus.OPEN}), CaseStatus.ACKNOWLEDGED),
    "plan": (frozenset(OPEN), CaseStatus.ACTION_PLANNED),  # a revised plan starts again
    "monitor": (frozenset({CaseStatus.ACTION_PLANNED}), CaseStatus.MONITORING),
    "resolve": (frozenset(OPEN), CaseStatus.RESOLVED),
    "note": (frozenset(CaseStatus.values), ""),
}


def _plan_errors(case: Case, owner: Any, due_date: date | None, plan: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not plan.strip():
        errors["plan"] = [_("Describe the action plan.")]
    if owner is None:
        errors["owner"] = [_("Name who owns the plan.")]
    elif not branch_scope(owner).allows(case.branch_id):
        errors["owner"] = [_("The owner must be able to see this branch.")]
    if due_date is None:
        errors["due_date"] = [_("Give a due date.")]
    elif due_date < timezone.localdate():
        errors["due_date"] = [_("The due date is in the past.")]
    return errors


def case_transition(
    *,
    actor: Any,
    case: Case,
    action: str,
    note: str = "",
    owner: Any = None,
    due_date: date | None = None,
    plan: str = "",
) -> Case:
    """Take one step of the case's lifecycle (CASE_ACTIONS). Managers who may write at the
    case's branch may; API keys may not."""
    if not is_manager(actor) or isinstance(actor, IntegrationPrincipal):
        raise PermissionDenied(_("Only managers work cases."))
    if not branch_scope(actor, for_write=True).allows(case.branch_id):
        raise PermissionDenied(_("This case is outside your branches."))
    if action not in CASE_ACTIONS:
        raise ValidationError({"action": [_("Unknown action '%(action)s'.") % {"action": action}]})
    allowed_from, to_status = CASE_ACTIONS[action]
    errors = _plan_errors(case, owner, due_date, plan) if action == "plan" else {}
    if action in {"resolve", "note"} and not note.strip():
        errors["note"] = [_("Say what was done.") if action == "resolve" else _("Write the note.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        case = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
        if case.status not in allowed_from:
            message = _("A case that is %(status)s cannot be sent to '%(action)s'.")
            raise ValidationError(
                {
                    "status": [
                        message % {"status": case.get_status_display().lower(), "action": action}
                    ]
                }
            )
        previous = case.status
        now = timezone.now()
        if action == "plan":
            case.owner, case.due_date, case.plan = owner, due_date, plan.strip()
        if to_status:
            case.status = to_status
        if to_status == CaseStatus.RESOLVED:
            case.resolved_at = now
        case.updated_at = now
        case.save()
        CaseEvent.objects.create(
            case=case,
            actor=actor,
            action=action,
            from_status=previous,
            to_status=case.status,
            note=note.strip() or (plan.strip() if action == "plan" else ""),
            **current_audit().stamp(),
        )
        emit(
            [("case.resolved" if to_status == CaseStatus.RESOLVED else "case.updated", case)],
            actor=actor,
        )
    return case


def cases_acknowledge(*, actor: Any, cases: Sequence[Case]) -> tuple[list[Case], list[str]]:
    """Acknowledge several cases from the queue; returns those moved and why others were not
    (already past "open", or outside the actor's branches)."""
    moved: list[Case] = []
    problems: list[str] = []
    for case in cases:
        try:
            moved.append(case_transition(actor=actor, case=case, action="acknowledge"))
        except (ValidationError, PermissionDenied) as error:
            message = error.messages[0] if isinstance(error, ValidationError) else str(error)
            problems.append(
                _("%(code)s %(metric)s: %(problem)s")
                % {
                    "code": case.branch.code,
                    "metric": case.get_metric_display(),
                    "problem": message,
                }
            )
    return moved, problems
