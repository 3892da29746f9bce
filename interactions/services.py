"""Writes to interactions. Every write is checked against branches.access first."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from branches.access import BranchScope, branch_scope
from branches.models import Branch
from common.bulk import ItemResult, bulk_upsert, item_error
from common.events import emit
from common.models import external_ref_filter
from common.validation import reject_unknown_fields
from customers.models import Customer
from interactions.models import Interaction, Moment

INTERACTION_EDITABLE_FIELDS = frozenset(
    {
        "customer",
        "branch",
        "staff",
        "channel",
        "direction",
        "occurred_at",
        "wait_seconds",
        "handle_seconds",
        "outcome",
        "topic",
        "is_complaint",
        "notes",
        "moment",
        "csat",
        "nps",
        "feedback_comment",
        "feedback_at",
        "source",
        "external_id",
    }
)


def _require_write_access(actor: Any, branch: Branch | None) -> None:
    if branch is None or not branch_scope(actor, for_write=True).allows(branch.pk):
        raise PermissionDenied("You may not record interactions at this branch.")


@transaction.atomic
def interaction_log(*, actor: Any, **data: Any) -> Interaction:
    """Record a touchpoint. The acting staff member is the default handler."""
    reject_unknown_fields(data, INTERACTION_EDITABLE_FIELDS)
    data.setdefault("staff", actor if getattr(actor, "pk", None) else None)
    interaction = Interaction(**data)
    _require_write_access(actor, data.get("branch"))
    interaction.full_clean()
    interaction.save()
    emit([("interaction.created", interaction)], actor=actor)
    return interaction


@transaction.atomic
def interaction_update(
    *, actor: Any, interaction: Interaction, data: dict[str, Any]
) -> Interaction:
    """Change an interaction; moving it to another branch needs write access at both."""
    reject_unknown_fields(data, INTERACTION_EDITABLE_FIELDS)
    interaction = Interaction.objects.select_for_update().get(pk=interaction.pk)
    if interaction.is_deleted:
        raise ValidationError("This interaction has been deleted and cannot be edited.")
    _require_write_access(actor, interaction.branch)
    for field, value in data.items():
        setattr(interaction, field, value)
    _require_write_access(actor, interaction.branch)
    interaction.full_clean()
    interaction.save()
    emit([("interaction.updated", interaction)], actor=actor)
    return interaction


@transaction.atomic
def interaction_delete(*, actor: Any, interaction: Interaction) -> Interaction:
    """Soft delete: statistics drop it, sync feeds report it as a tombstone."""
    _require_write_access(actor, interaction.branch)
    if not interaction.is_deleted:
        interaction.deleted_at = timezone.now()
        interaction.save(update_fields=["deleted_at"])
        emit([("interaction.deleted", interaction)], actor=actor)
    return interaction


@transaction.atomic
def interaction_feedback_record(
    *, actor: Any, interaction: Interaction, csat: int | None, nps: int | None, comment: str = ""
) -> Interaction:
    """Attach a customer's CSAT/NPS (and comment) to the touchpoint they rate."""
    if csat is None and nps is None and not comment:
        raise ValidationError("Give a CSAT score, an NPS score or a comment.")
    data: dict[str, Any] = {"feedback_at": timezone.now()}
    if csat is not None:
        data["csat"] = csat
    if nps is not None:
        data["nps"] = nps
    if comment:
        data["feedback_comment"] = comment
    return interaction_update(actor=actor, interaction=interaction, data=data)


def _resolve_references(
    items: list[dict[str, Any]],
) -> tuple[dict[str, Branch], dict[Any, Customer], dict[int, Moment]]:
    """Branches by code, customers by id and by (source, external_id), moments by id:
    three or four queries for a whole batch."""
    codes = {item["branch"] for item in items if item.get("branch")}
    branches = {b.code: b for b in Branch.objects.filter(code__in=codes)}
    customer_ids = {item["customer"] for item in items if item.get("customer")}
    customers: dict[Any, Customer] = {c.pk: c for c in Customer.objects.filter(pk__in=customer_ids)}
    refs: dict[str, set[str]] = {}
    for item in items:
        if ref := item.get("customer_ref"):
            refs.setdefault(ref["source"], set()).add(ref["external_id"])
    for source, external_ids in refs.items():
        for c in external_ref_filter(Customer.objects, source, external_ids):
            customers[(c.source, c.external_id)] = c
    moment_ids = {item["moment"] for item in items if item.get("moment")}
    moments = {m.pk: m for m in Moment.objects.filter(pk__in=moment_ids)}
    return branches, customers, moments


def _item_values(
    item: dict[str, Any],
    references: tuple[dict[str, Branch], dict[Any, Customer], dict[int, Moment]],
    writable: BranchScope,
) -> tuple[dict[str, Any], dict[str, list[str]], bool]:
    """Model field values for one API item, its problems, and whether reach is the problem."""
    branches, customers, moments = references
    problems: dict[str, list[str]] = {}
    forbidden = False
    unknown = set(item) - INTERACTION_EDITABLE_FIELDS - {"customer_ref", "id"}
    for name in sorted(unknown):
        problems[name] = ["Unknown field."]
    data = {k: v for k, v in item.items() if k not in unknown and k != "customer_ref"}
    if "branch" in item:
        data["branch"] = branches.get(item["branch"])
        if data["branch"] is None:
            problems["branch"] = [f"No branch with code '{item['branch']}'."]
        elif not writable.allows(data["branch"].pk):
            problems["branch"] = ["You may not record interactions at this branch."]
            forbidden = True
    elif "id" not in item and not item.get("external_id"):
        problems["branch"] = ["This field is required."]
    if ref := item.get("customer_ref"):
        data["customer"] = customers.get((ref["source"], ref["external_id"]))
        if data["customer"] is None:
            problems["customer_ref"] = [
                f"No customer with source '{ref['source']}' and external id '{ref['external_id']}'."
            ]
    elif item.get("customer"):
        data["customer"] = customers.get(item["customer"])
        if data["customer"] is None:
            problems["customer"] = [f"No customer with id {item['customer']}."]
    if item.get("moment"):
        data["moment"] = moments.get(item["moment"])
        if data["moment"] is None:
            problems["moment"] = [f"No moment with id {item['moment']}."]
    return data, problems, forbidden


@transaction.atomic
def interactions_upsert(
    *, actor: Any, items: list[dict[str, Any]], create_only: bool = False
) -> list[ItemResult]:
    """Create or update interactions, each matched by ``id`` or by (source, external_id).

    Items name their branch by code (``branch``), their customer by id (``customer``)
    or by ``customer_ref`` {source, external_id}, and their moment by id. Fields an
    item leaves out keep their value. One result per item, in order.
    """
    writable = branch_scope(actor, for_write=True)
    references = _resolve_references(items)
    staff = actor if getattr(actor, "pk", None) else None
    failed: dict[int, ItemResult] = {}
    values: list[dict[str, Any] | None] = []
    for index, item in enumerate(items):
        data, problems, forbidden = _item_values(item, references, writable)
        if problems:
            failed[index] = item_error(index, problems, forbidden=forbidden)
            values.append(None)
            continue
        if "id" not in data:
            data.setdefault("staff", staff)
        values.append(data)

    def may_change(existing: Interaction) -> str | None:
        if not writable.allows(existing.branch_id):
            return "You may not change interactions at this branch."
        return None

    results = bulk_upsert(
        model=Interaction,
        items=values,
        failed=failed,
        create_only=create_only,
        editable=sorted(INTERACTION_EDITABLE_FIELDS - {"source", "external_id"}),
        may_change=may_change,
    )
    emit(
        [
            (f"interaction.{r.status}", r.instance)
            for r in results
            if r.status in {"created", "updated"}
        ],
        actor=actor,
    )
    return results
