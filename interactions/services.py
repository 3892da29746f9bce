"""Writes to interactions. Every write is checked against branches.access first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from branches.access import BranchScope, branch_scope
from branches.directory import branches_by_code
from branches.models import Branch
from common.bulk import NO_SUCH_RECORD, ItemResult, Refusal, bulk_upsert, item_error
from common.events import emit
from common.models import external_ref_filter
from common.validation import reject_unknown_fields
from common.versions import require_version
from customers.models import Channel, Customer
from customers.services import customer_create
from interactions.models import CheckIn, Interaction, Moment, Outcome
from interactions.selectors import interaction_ids_by_ref

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
    return _interaction_change(interaction, data, actor, check_reach=True)


def _interaction_change(
    interaction: Interaction, data: dict[str, Any], actor: Any, *, check_reach: bool
) -> Interaction:
    interaction = Interaction.objects.select_for_update(no_key=True).get(pk=interaction.pk)
    if interaction.is_deleted:
        raise ValidationError("This interaction has been deleted and cannot be edited.")
    if check_reach:
        _require_write_access(actor, interaction.branch)
    for field, value in data.items():
        setattr(interaction, field, value)
    if check_reach:
        _require_write_access(actor, interaction.branch)
    interaction.full_clean()
    interaction.save()
    emit([("interaction.updated", interaction)], actor=actor)
    return interaction


@transaction.atomic
def interaction_delete(
    *, actor: Any, interaction: Interaction, if_match: str | None = None
) -> Interaction:
    """Soft delete: statistics drop it, sync feeds report it as a tombstone. ``if_match``
    (the API's If-Match) must name the version the row has under its lock."""
    interaction = (
        Interaction.objects.select_for_update(of=("self",), no_key=True)
        .select_related("branch")
        .get(pk=interaction.pk)
    )
    _require_write_access(actor, interaction.branch)
    require_version(if_match, interaction)
    if not interaction.is_deleted:
        interaction.deleted_at = timezone.now()
        interaction.save(update_fields=["deleted_at"])
        emit([("interaction.deleted", interaction)], actor=actor)
    return interaction


def _feedback_fields(csat: int | None, nps: int | None, comment: str) -> dict[str, Any]:
    if csat is None and nps is None and not comment:
        raise ValidationError("Give a CSAT score, an NPS score or a comment.")
    data: dict[str, Any] = {"feedback_at": timezone.now()}
    if csat is not None:
        data["csat"] = csat
    if nps is not None:
        data["nps"] = nps
    if comment:
        data["feedback_comment"] = comment
    return data


@transaction.atomic
def interaction_feedback_record(
    *, actor: Any, interaction: Interaction, csat: int | None, nps: int | None, comment: str = ""
) -> Interaction:
    """Attach a customer's CSAT/NPS (and comment) to the touchpoint they rate."""
    data = _feedback_fields(csat, nps, comment)
    return interaction_update(actor=actor, interaction=interaction, data=data)


@transaction.atomic
def interaction_feedback_from_customer(
    *, interaction: Interaction, csat: int | None, nps: int | None, comment: str = ""
) -> Interaction:
    """The customer's own answer (the survey link is their proof, not a staff member's
    reach): the same change as :func:`interaction_feedback_record`, with no actor."""
    data = _feedback_fields(csat, nps, comment)
    return _interaction_change(interaction, data, None, check_reach=False)


def _resolve_references(
    items: list[dict[str, Any]],
) -> tuple[dict[str, Branch], dict[Any, Customer], dict[int, Moment]]:
    """Branches by code, customers by id and by (source, external_id), moments by id:
    branches from the directory, customers and moments in a query or two per batch."""
    branches = branches_by_code({item["branch"] for item in items if item.get("branch")})
    customer_ids = {item["customer"] for item in items if item.get("customer") is not None}
    customers: dict[Any, Customer] = (
        {c.pk: c for c in Customer.objects.filter(pk__in=customer_ids)} if customer_ids else {}
    )
    refs: dict[str, set[str]] = {}
    for item in items:
        if ref := item.get("customer_ref"):
            refs.setdefault(ref["source"], set()).add(ref["external_id"])
    for source, external_ids in refs.items():
        for c in external_ref_filter(Customer.objects, source, external_ids):
            customers[(c.source, c.external_id)] = c
    moment_ids = {item["moment"] for item in items if item.get("moment") is not None}
    moments = {m.pk: m for m in Moment.objects.filter(pk__in=moment_ids)} if moment_ids else {}
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
    elif item.get("customer") is not None:
        data["customer"] = customers.get(item["customer"])
        if data["customer"] is None:
            problems["customer"] = [f"No customer with id {item['customer']}."]
    if item.get("moment") is not None:
        data["moment"] = moments.get(item["moment"])
        if data["moment"] is None:
            problems["moment"] = [f"No moment with id {item['moment']}."]
    return data, problems, forbidden


@transaction.atomic
def interactions_upsert(
    *,
    actor: Any,
    items: list[dict[str, Any]],
    create_only: bool = False,
    if_match: str | None = None,
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
        values.append(data)
    visible = branch_scope(actor)

    def vet(existing: Sequence[Interaction]) -> dict[int, Refusal]:
        """Rows at branches the caller cannot see are answered as missing (as GET does);
        rows it sees but may not write are refused."""
        refusals = {}
        for row in existing:
            if not visible.allows(row.branch_id):
                refusals[row.pk] = Refusal(NO_SUCH_RECORD, hidden=True)
            elif not writable.allows(row.branch_id):
                refusals[row.pk] = Refusal("You may not change interactions at this branch.")
        return refusals

    results = bulk_upsert(
        model=Interaction,
        items=values,
        failed=failed,
        create_only=create_only,
        if_match=if_match,
        editable=sorted(INTERACTION_EDITABLE_FIELDS - {"source", "external_id"}),
        vet=vet,
        create_defaults={"staff": staff},
        ref_index=interaction_ids_by_ref,
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


@transaction.atomic
def interaction_log_with_new_customer(
    *, actor: Any, customer: dict[str, Any], **data: Any
) -> Interaction:
    """Create the customer met at the counter and log the touchpoint with them, together:
    either both are saved or neither. Problems with the customer come back under
    ``customer.<field>``."""
    try:
        new = customer_create(actor=actor, **customer)
    except ValidationError as error:
        raise ValidationError(
            {f"customer.{field}": messages for field, messages in error.message_dict.items()}
        ) from error
    return interaction_log(actor=actor, customer=new, **data)


# --- walk-ins: the check-in queue --------------------------------------------------------


def _locked_check_in(actor: Any, check_in: CheckIn) -> CheckIn:
    locked = (
        CheckIn.objects.select_for_update(of=("self",)).select_related("branch").get(pk=check_in.pk)
    )
    _require_write_access(actor, locked.branch)
    if locked.finished_at is not None:
        raise ValidationError("This walk-in has already been finished.")
    return locked


@transaction.atomic
def check_in_arrive(
    *,
    actor: Any,
    branch: Branch,
    customer: Customer | None = None,
    label: str = "",
    topic: str = "",
    now: datetime | None = None,
) -> CheckIn:
    """A walk-in has arrived: the waiting clock starts now."""
    _require_write_access(actor, branch)
    if customer is not None and customer.is_deleted:
        raise ValidationError({"customer": ["This customer has been deleted."]})
    check_in = CheckIn(
        branch=branch,
        customer=customer,
        label=label.strip(),
        topic=topic.strip(),
        arrived_at=now or timezone.now(),
    )
    check_in.full_clean()
    check_in.save()
    return check_in


@transaction.atomic
def check_in_greet(*, actor: Any, check_in: CheckIn, now: datetime | None = None) -> CheckIn:
    """The first human response: the wait is over, handling starts."""
    check_in = _locked_check_in(actor, check_in)
    if check_in.greeted_at is not None:
        raise ValidationError("This walk-in has already been greeted.")
    check_in.greeted_at = max(now or timezone.now(), check_in.arrived_at)
    check_in.staff = actor if getattr(actor, "pk", None) else None
    check_in.save(update_fields=["greeted_at", "staff"])
    return check_in


@transaction.atomic
def check_in_finish(
    *,
    actor: Any,
    check_in: CheckIn,
    outcome: str,
    is_complaint: bool = False,
    topic: str = "",
    moment: Moment | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> CheckIn:
    """Done: record the face-to-face interaction with the wait and handling time measured
    by the queue (arrived → greeted → done)."""
    check_in = _locked_check_in(actor, check_in)
    if check_in.greeted_at is None:
        raise ValidationError("Greet the customer first: the wait ends with the greeting.")
    if outcome == Outcome.ABANDONED:
        raise ValidationError({"outcome": ["A greeted customer did not abandon: pick another."]})
    finished = max(now or timezone.now(), check_in.greeted_at)
    check_in.interaction = interaction_log(
        actor=actor,
        branch=check_in.branch,
        customer=check_in.customer,
        staff=check_in.staff or (actor if getattr(actor, "pk", None) else None),
        channel=Channel.IN_PERSON,
        occurred_at=check_in.arrived_at,
        wait_seconds=round((check_in.greeted_at - check_in.arrived_at).total_seconds()),
        handle_seconds=round((finished - check_in.greeted_at).total_seconds()),
        outcome=outcome,
        is_complaint=is_complaint,
        topic=(topic or check_in.topic).strip(),
        moment=moment,
        notes=notes.strip(),
    )
    check_in.finished_at = finished
    check_in.save(update_fields=["finished_at", "interaction"])
    return check_in


@transaction.atomic
def check_in_walk_out(*, actor: Any, check_in: CheckIn, now: datetime | None = None) -> CheckIn:
    """The customer left before anyone greeted them: an abandoned contact whose wait is
    the time until they gave up."""
    check_in = _locked_check_in(actor, check_in)
    if check_in.greeted_at is not None:
        raise ValidationError("This customer was greeted: finish the visit instead.")
    left = max(now or timezone.now(), check_in.arrived_at)
    check_in.interaction = interaction_log(
        actor=actor,
        branch=check_in.branch,
        customer=check_in.customer,
        channel=Channel.IN_PERSON,
        occurred_at=check_in.arrived_at,
        wait_seconds=round((left - check_in.arrived_at).total_seconds()),
        outcome=Outcome.ABANDONED,
        topic=check_in.topic,
    )
    check_in.finished_at = left
    check_in.save(update_fields=["finished_at", "interaction"])
    return check_in
