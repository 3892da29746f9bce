"""Reads of customer records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from branches.access import BranchScope, is_staff_member
from customers.models import Customer


def customer_list(*, actor: Any) -> QuerySet[Customer]:
    if not is_staff_member(actor):
        raise PermissionDenied("Only active staff may read customer records.")
    return Customer.objects.alive().select_related("home_branch")


def customer_feed(*, actor: Any) -> QuerySet[Customer]:
    """Every customer record, deleted ones too (sync feeds report them as tombstones)."""
    if not is_staff_member(actor):
        raise PermissionDenied("Only active staff may read customer records.")
    return Customer.objects.select_related("home_branch")


def customer_get(*, actor: Any, customer_id: int) -> Customer:
    """A live customer or Customer.DoesNotExist (a 404 to the caller)."""
    return customer_list(actor=actor).get(pk=customer_id)


def customer_search(*, actor: Any, query: str, limit: int = 20) -> QuerySet[Customer]:
    """Customers whose name, e-mail or phone matches ``query`` (at the counter, as-you-type).

    Phones are stored as digits, so "+44 20 7946" finds "+442079460000".
    """
    query = query.strip()
    customers = customer_list(actor=actor)
    if not query:
        return customers.none()
    condition = Q(name__icontains=query) | Q(email__icontains=query)
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 3:
        condition |= Q(phone__contains=digits)
    return customers.filter(condition).order_by("name", "id")[:limit]


def customers_within(*, scope: BranchScope, customer_ids: Iterable[int]) -> set[int]:
    """Which of these customers belong to the branches of ``scope``: homed at one of them,
    or with a live touchpoint there (read through the reverse relation by name, so this
    layer still imports nothing of the interactions app)."""
    ids = set(customer_ids)
    if scope.everything or not ids:
        return ids
    homed = Q(home_branch_id__in=scope.branch_ids)
    served = Q(interactions__branch_id__in=scope.branch_ids, interactions__deleted_at__isnull=True)
    return set(
        Customer.objects.filter(Q(pk__in=ids) & (homed | served))
        .values_list("pk", flat=True)
        .distinct()
    )
