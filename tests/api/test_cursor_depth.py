"""Cursor pages read from where the last page ended: on PostgreSQL the cursor is an index
condition, so a page deep in a large table costs what the first one does."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from rest_framework.test import APIClient

from common.api.pagination import SYNC_ORDER, after, encode_cursor
from interactions.models import Interaction
from interactions.selectors import interaction_feed
from tests.conftest import Chain
from tests.factories import InteractionFactory

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")


@pytest.mark.parametrize("values", [["not a time", 1], ["2026-11-02T09:00:00Z", "x"]])
def test_a_cursor_with_values_of_the_wrong_kind_is_a_400(
    chain: Chain, api: APIClient, values: list[object]
) -> None:
    response = api.get("/api/v1/interactions/", {"cursor": encode_cursor(values)})
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_pages_with_equal_timestamps_neither_skip_nor_repeat(chain: Chain, api: APIClient) -> None:
    moment = datetime(2026, 11, 2, 9, tzinfo=UTC)
    made = InteractionFactory.create_batch(7, branch=chain.north_a)
    Interaction.objects.update(updated_at=moment)  # one timestamp: only the id orders them
    InteractionFactory.create(branch=chain.north_a)
    seen: list[int] = []
    page = api.get("/api/v1/interactions/", {"page_size": 3}).json()
    while True:
        seen += [row["id"] for row in page["results"]]
        if not page["next"]:
            break
        page = api.get(page["next"]).json()
    assert len(seen) == len(set(seen)) == 8
    assert seen[:7] == sorted(i.pk for i in made)


def indexes_used(plan: str) -> set[str]:
    """The indexes a plan scans, each partition's index named by the table's own index it
    belongs to (interactions are partitioned by month on PostgreSQL)."""
    names = re.findall(r"Index (?:Only )?Scan (?:Backward )?using (\S+)", plan)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(parent.relname, child.relname) FROM pg_class child "
            "LEFT JOIN pg_inherits link ON link.inhrelid = child.oid "
            "LEFT JOIN pg_class parent ON parent.oid = link.inhparent "
            "WHERE child.relname = ANY(%s)",
            [names],
        )
        return {name for (name,) in cursor.fetchall()}


@postgres_only
@pytest.mark.parametrize("limited", [False, True])
def test_the_cursor_is_an_index_condition_in_the_plan(chain: Chain, limited: bool) -> None:
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    for k in range(30):
        InteractionFactory.create(branch=chain.north_a, occurred_at=start + timedelta(minutes=k))
    position = Interaction.objects.order_by("updated_at", "id")[10]
    actor = chain.agent if limited else chain.admin
    rows = (
        interaction_feed(actor=actor)
        .filter(deleted_at__isnull=True)
        .filter(after(SYNC_ORDER, [position.updated_at.isoformat(), position.pk]))
        .order_by(*SYNC_ORDER)[:101]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: show the index path
        cursor.execute("SET LOCAL enable_sort = off")
        plan = rows.explain()
    index_lines = [line for line in plan.splitlines() if "Index Cond" in line]
    assert any("ROW(updated_at, id) > ROW(" in line for line in index_lines), plan
    assert "interaction_sync_idx" in indexes_used(plan), plan
    filters = [line for line in plan.splitlines() if "Filter:" in line]
    assert not any("updated_at" in line for line in filters), plan
