"""Reads of interactions, scoped by branches.access."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from branches.access import branch_scope
from customers.models import Customer
from customers.selectors import customer_get
from interactions.models import CheckIn, Interaction, InteractionRef


def _with_relations(queryset: QuerySet[Interaction]) -> QuerySet[Interaction]:
    return queryset.select_related("branch", "customer", "staff", "moment", "moment__cycle")


def interaction_list(
    *,
    actor: Any,
    branch_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Interaction]:
    """Live interactions at the branches ``actor`` may see, newest first."""
    interactions = branch_scope(actor).filter(Interaction.objects.alive())
    if branch_id is not None:
        interactions = interactions.filter(branch_id=branch_id)
    if since is not None:
        interactions = interactions.filter(occurred_at__gte=since)
    if until is not None:
        interactions = interactions.filter(occurred_at__lt=until)
    return _with_relations(interactions).order_by("-occurred_at", "-id")


def interaction_feed(*, actor: Any) -> QuerySet[Interaction]:
    """Every interaction at the actor's branches, deleted ones too (sync tombstones)."""
    return _with_relations(branch_scope(actor).filter(Interaction.objects.all()))


def interaction_ids_by_ref(
    refs: Sequence[tuple[str, str]],
) -> dict[tuple[str, str], int] | None:
    """PostgreSQL: the ids these (source, external_id) references name, from
    InteractionRef, one index instead of one per monthly partition. None on SQLite, where
    the interactions table's own unique index answers."""
    if connection.vendor != "postgresql":
        return None
    table = InteractionRef._meta.db_table
    with connection.cursor() as cursor:  # one statement text for any batch: prepared once
        cursor.execute(
            f"SELECT r.source, r.external_id, r.interaction_id FROM {table} r "  # noqa: S608
            "JOIN unnest(%s::text[], %s::text[]) AS wanted(source, external_id) "
            "ON r.source = wanted.source AND r.external_id = wanted.external_id",
            [[source for source, _ in refs], [external_id for _, external_id in refs]],
        )
        return {(source, external_id): pk for source, external_id, pk in cursor.fetchall()}


def customer_timeline(*, actor: Any, customer_id: int) -> tuple[Customer, QuerySet[Interaction]]:
    """The customer and every live touchpoint they had, at every branch, newest first.

    Customers are chain-wide, so the timeline is not limited to the actor's
    branches: seeing the whole history is what lets a branch serve consistently.
    """
    customer = customer_get(actor=actor, customer_id=customer_id)
    interactions = Interaction.objects.alive().filter(customer=customer)
    return customer, _with_relations(interactions).order_by("-occurred_at", "-id")


def check_in_queue(*, actor: Any, branch_id: int) -> QuerySet[CheckIn]:
    """Walk-ins at the branch not yet finished, first come first: waiting, then being served."""
    return (
        branch_scope(actor)
        .filter(CheckIn.objects.filter(branch_id=branch_id, finished_at__isnull=True))
        .select_related("customer", "staff", "branch")
        .order_by("arrived_at", "id")
    )


def check_in_get(*, actor: Any, pk: int) -> CheckIn:
    """A walk-in at a branch the actor may see, or CheckIn.DoesNotExist (a 404)."""
    return branch_scope(actor).filter(CheckIn.objects.select_related("branch")).get(pk=pk)
