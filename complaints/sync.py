"""Integrations' writes of complaints: created or updated by their (source, external_id),
their type, severity, text and remedy only (the handling is staff's)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from branches.access import branch_scope
from common.bulk import lock_external_refs
from common.events import emit
from complaints.models import Complaint, Severity
from complaints.services import complaint_record, due_dates_set, step_record
from interactions.models import Interaction
from interactions.services import interaction_update

UPSERT_FIELDS = ("complaint_type", "severity", "text", "remedy")


@transaction.atomic
def complaint_upsert(
    *,
    actor: Any,
    interaction: Interaction,
    source: str = "",
    external_id: str = "",
    **values: Any,
) -> tuple[Complaint, str]:
    """An integration's complaint about ``interaction``: created, or updated when it is
    known by its (source, external_id) — its type, severity, text and remedy, never its
    handling. The complaint an interaction marked ``is_complaint`` already got (without a
    reference) is taken over; one under another reference is refused. The interaction is
    marked a complaint through its own service, so the statistics and webhooks follow.
    Returns the complaint and "created", "updated" or "unchanged"."""
    unknown = set(values) - set(UPSERT_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    if not branch_scope(actor, for_write=True).allows(interaction.branch_id):
        raise PermissionDenied(_("You may not record complaints at this branch."))
    if bool(source) != bool(external_id):
        raise ValidationError(
            {"external_id": [_("Give source and external_id together, or neither.")]}
        )
    complaint = None
    locked = Complaint.objects.select_for_update(of=("self",)).select_related("branch")
    if external_id:
        lock_external_refs(Complaint, [(source, external_id)])
        complaint = locked.filter(source=source, external_id=external_id).first()
        if complaint is not None and complaint.interaction_id != interaction.pk:
            raise ValidationError(
                {"interaction": [_("This complaint is about another interaction.")]}
            )
    if complaint is None:
        complaint = locked.filter(interaction_id=interaction.pk).first()
        if complaint is not None and complaint.external_id:
            raise ValidationError(
                {
                    "interaction": [
                        _("This interaction has a complaint already, under another external id.")
                    ]
                }
            )
    if complaint is None:
        complaint = complaint_record(
            actor=actor,
            interaction=interaction,
            source=source,
            external_id=external_id,
            **values,
        )
        outcome = "created"
    else:
        changed = _complaint_change(complaint, actor, values, source, external_id)
        outcome = "updated" if changed else "unchanged"
    if not interaction.is_complaint:
        interaction_update(actor=actor, interaction=interaction, data={"is_complaint": True})
    return complaint, outcome


def _complaint_change(
    complaint: Complaint, actor: Any, values: dict[str, Any], source: str, external_id: str
) -> bool:
    """Apply an upsert's values to a locked complaint; whether anything changed."""
    kind = values.get("complaint_type")
    if kind is not None and kind.retired_at is not None and kind.pk != complaint.type_id:
        raise ValidationError({"type": [_("This type is retired: choose a current one.")]})
    severity = values.get("severity", complaint.severity)
    if severity not in Severity.values:
        raise ValidationError({"severity": [_("Choose a severity.")]})
    wanted = {
        "type_id": kind.pk if "complaint_type" in values and kind else complaint.type_id,
        "severity": severity,
        "text": values.get("text", complaint.text).strip(),
        "remedy": values.get("remedy", complaint.remedy).strip(),
        "source": source or complaint.source,
        "external_id": external_id or complaint.external_id,
    }
    changed = [name for name, value in wanted.items() if getattr(complaint, name) != value]
    if not changed:
        return False
    for name in changed:
        setattr(complaint, name, wanted[name])
    if "severity" in changed:
        due_dates_set(complaint, complaint.branch.timezone)
    try:
        with transaction.atomic():
            complaint.save()
    except IntegrityError:
        raise ValidationError(
            {"external_id": [_("Another complaint has this source and external_id.")]}
        ) from None
    step_record(
        complaint,
        actor,
        "updated",
        complaint.status,
        ", ".join("type" if name == "type_id" else name for name in changed),
    )
    if "type_id" in changed:  # the counts by type follow
        emit([("complaint.typed", complaint)], actor=actor)
    return True
