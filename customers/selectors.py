"""Reads of customer records."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Max, Q, QuerySet

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


def phone_patterns(query: str) -> tuple[str, list[str]]:
    """What a phone query matches: (digits found anywhere in a stored number, prefixes a
    stored number may start with), formatting ignored.

    A national number ("0812 345", "(07000) 001-621") is also read as the international one
    of each country of ``settings.PHONE_COUNTRY_CODES`` ("+62812345", "+447000001621"), and
    an international one ("+62 812", "0062 812") also as the national "0812".
    """
    text = re.sub(r"[\s().\-/]", "", query.strip())
    if not re.fullmatch(r"\+?[0-9]+", text):
        return "", []
    digits = text.lstrip("+")
    codes = [str(code) for code in settings.PHONE_COUNTRY_CODES]
    prefixes: list[str] = []
    if text.startswith(("+", "00")):
        international = digits[2:] if text.startswith("00") else digits
        prefixes.append("+" + international)
        prefixes += ["0" + international[len(c) :] for c in codes if international.startswith(c)]
    elif text.startswith("0") and len(digits) > 1:
        prefixes += ["+" + code + digits[1:] for code in codes]
    return digits, prefixes


def _matching(*, actor: Any, query: str) -> QuerySet[Customer]:
    query = query.strip()
    customers = customer_list(actor=actor)
    if not query:
        return customers.none()
    condition = Q(name__icontains=query) | Q(email__icontains=query)
    digits, prefixes = phone_patterns(query)
    if len(digits) >= 3:
        condition |= Q(phone__contains=digits)
        for prefix in prefixes:
            condition |= Q(phone__startswith=prefix)
    return customers.filter(condition).order_by("name", "id")


def customer_search(*, actor: Any, query: str, limit: int = 20) -> QuerySet[Customer]:
    """Customers whose name, e-mail or phone matches ``query`` (at the counter, as-you-type).

    Phones are stored as digits, so "+44 20 7946" finds "+442079460000", and a national
    "020 7946" finds it too (see ``phone_patterns``).
    """
    return _matching(actor=actor, query=query)[:limit]


@dataclass(frozen=True)
class CustomerPick:
    """A match offered to pick from, with what tells namesakes apart."""

    customer: Customer
    last_contact: datetime | None


@dataclass(frozen=True)
class CustomerPicks:
    matches: list[CustomerPick]
    more: bool  # more customers match than are shown: the query wants refining


def customer_picks(*, actor: Any, query: str, limit: int = 8) -> CustomerPicks:
    """The first ``limit`` matches of ``query`` with their last touchpoint, and whether
    there are more. The last contact is read for the shown customers only."""
    found = list(_matching(actor=actor, query=query)[: limit + 1])
    shown = found[:limit]
    last = dict(
        Customer.objects.filter(pk__in=[c.pk for c in shown])
        .annotate(
            last=Max(
                "interactions__occurred_at",
                filter=Q(interactions__deleted_at__isnull=True),
            )
        )
        .values_list("pk", "last")
    )
    return CustomerPicks(
        matches=[CustomerPick(customer=c, last_contact=last.get(c.pk)) for c in shown],
        more=len(found) > limit,
    )


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
