"""Writes to customer records. Customers are chain-wide: any active staff member may write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from branches.access import customer_write_limits, is_staff_member
from branches.models import Branch
from common.bulk import ItemResult, Refusal, bulk_upsert, item_error
from common.events import emit
from common.validation import reject_unknown_fields
from common.versions import require_version
from customers.models import Customer
from customers.selectors import customers_within

CUSTOMER_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "email",
        "phone",
        "preferred_channel",
        "home_branch",
        "consent_marketing",
        "consent_surveys",
        "language",
        "tags",
        "notes",
        "source",
        "external_id",
    }
)


HOME_OUTSIDE = (
    "A key limited to branches creates customers at one of its branches: set home_branch "
    "to one of them."
)
OUTSIDE_LIMITS = (
    "A key limited to branches changes only customers homed at its branches or served there."
)


def _require_staff(actor: Any) -> None:
    if not is_staff_member(actor):
        raise PermissionDenied("Only active staff may change customer records.")


def _record_author(customer: Customer, actor: Any) -> None:
    """The staff member the history entry names (an integration's key is not a user)."""
    customer._history_user = actor if getattr(actor, "pk", None) else None  # type: ignore[attr-defined]


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Trim stray whitespace before validation; Customer.clean tidies e-mail and phone."""
    clean = dict(data)
    for field in ("name", "email", "phone", "source", "external_id"):
        if isinstance(clean.get(field), str):
            clean[field] = clean[field].strip()
    return clean


@transaction.atomic
def customer_create(*, actor: Any, **data: Any) -> Customer:
    _require_staff(actor)
    reject_unknown_fields(data, CUSTOMER_EDITABLE_FIELDS)
    customer = Customer(**_normalise(data))
    customer.full_clean()
    _record_author(customer, actor)
    customer.save()
    emit([("customer.created", customer)], actor=actor)
    return customer


@transaction.atomic
def customer_update(*, actor: Any, customer: Customer, data: dict[str, Any]) -> Customer:
    _require_staff(actor)
    reject_unknown_fields(data, CUSTOMER_EDITABLE_FIELDS)
    customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    if customer.is_deleted:
        raise ValidationError("This customer has been deleted and cannot be edited.")
    for field, value in _normalise(data).items():
        setattr(customer, field, value)
    customer.full_clean()
    _record_author(customer, actor)
    customer.save()
    emit([("customer.updated", customer)], actor=actor)
    return customer


@transaction.atomic
def customer_delete(*, actor: Any, customer: Customer, if_match: str | None = None) -> Customer:
    """Soft delete: the record stays for sync feeds and the interactions that point at it.
    ``if_match`` (the API's If-Match) must name the version the row has under its lock."""
    _require_staff(actor)
    customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
    limits = customer_write_limits(actor)
    if limits is not None and not customers_within(scope=limits, customer_ids=[customer.pk]):
        raise PermissionDenied(OUTSIDE_LIMITS)
    require_version(if_match, customer)
    if not customer.is_deleted:
        customer.deleted_at = timezone.now()
        _record_author(customer, actor)
        customer.save(update_fields=["deleted_at"])
        emit([("customer.deleted", customer)], actor=actor)
    return customer


@transaction.atomic
def customers_upsert(
    *,
    actor: Any,
    items: list[dict[str, Any]],
    create_only: bool = False,
    if_match: str | None = None,
) -> list[ItemResult]:
    """Create or update customers, each matched by ``id`` or by (source, external_id).

    ``home_branch`` is a branch code. Fields an item leaves out keep their value (or
    default, for a new customer). A key limited to branches keeps to them
    (``branches.access.customer_write_limits``). Returns one result per item, in order.
    """
    _require_staff(actor)
    limits = customer_write_limits(actor)
    codes = {item["home_branch"] for item in items if item.get("home_branch")}
    branches = {b.code: b for b in Branch.objects.filter(code__in=codes)}
    failed: dict[int, ItemResult] = {}
    values: list[dict[str, Any] | None] = []
    for index, item in enumerate(items):
        unknown = set(item) - CUSTOMER_EDITABLE_FIELDS - {"id"}
        data = _normalise(item)
        if unknown:
            failed[index] = item_error(index, {f: ["Unknown field."] for f in sorted(unknown)})
        elif data.get("home_branch"):
            data["home_branch"] = branches.get(data["home_branch"])
            if data["home_branch"] is None:
                failed[index] = item_error(
                    index, {"home_branch": [f"No branch with code '{item['home_branch']}'."]}
                )
        if index not in failed and limits is not None and "home_branch" in data:
            home = data["home_branch"]
            if home is None or not limits.allows(home.pk):
                failed[index] = item_error(index, {"home_branch": [HOME_OUTSIDE]}, forbidden=True)
        values.append(None if index in failed else data)

    def vet(existing: Sequence[Customer]) -> dict[int, Refusal]:
        if limits is None:
            return {}
        reached = customers_within(scope=limits, customer_ids=[c.pk for c in existing])
        return {c.pk: Refusal(OUTSIDE_LIMITS) for c in existing if c.pk not in reached}

    def may_create(customer: Customer) -> str | None:
        if limits is not None and not limits.allows(customer.home_branch_id):
            return HOME_OUTSIDE
        return None

    results = bulk_upsert(
        model=Customer,
        items=values,
        failed=failed,
        create_only=create_only,
        if_match=if_match,
        editable=sorted(CUSTOMER_EDITABLE_FIELDS - {"source", "external_id"}),
        vet=vet,
        may_create=may_create,
    )
    emit(
        [
            (f"customer.{r.status}", r.instance)
            for r in results
            if r.status in {"created", "updated"}
        ],
        actor=actor,
    )
    return results
