"""Bulk upsert: a result per item, retries create nothing new, overlapping batches race safely."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from customers.models import Customer
from customers.services import customers_upsert
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import CustomerFactory


def calls(count: int, prefix: str = "K", start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "source": "callcentre",
            "external_id": f"{prefix}-{i}",
            "branch": "n-a",
            "channel": "phone",
            "occurred_at": "2026-11-02T09:00:00Z",
            "wait_seconds": 10 + i,
            "outcome": "resolved",
        }
        for i in range(start, start + count)
    ]


REF = {"source": "callcentre", "external_id": "late"}


def test_each_item_gets_a_result_and_valid_ones_are_saved(chain: Chain, api: APIClient) -> None:
    batch = [
        *calls(2),
        {**calls(1, start=2)[0], "csat": 9},  # out of range
        {**calls(1, start=3)[0], "branch": "nowhere"},
        {**calls(1, start=4)[0], "colour": "red"},  # unknown field
        calls(1)[0],  # repeats item 0
        {"channel": "phone", "branch": "n-a", "outcome": "resolved", **REF},  # no occurred_at
    ]
    response = api.post("/api/v1/interactions/bulk/", batch, format="json")
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == [
        "created",
        "created",
        "error",
        "error",
        "error",
        "error",
        "error",
    ]
    assert [r["index"] for r in body["results"]] == list(range(7))
    errors = [r["errors"] for r in body["results"]]
    assert "csat" in errors[2]
    assert "branch" in errors[3]
    assert "colour" in errors[4]
    assert "external_id" in errors[5]
    assert "occurred_at" in errors[6]
    assert (body["created"], body["errors"]) == (2, 5)
    for result, item in zip(body["results"][:2], batch, strict=False):
        saved = Interaction.objects.get(pk=result["id"])
        assert (saved.external_id, saved.wait_seconds) == (
            item["external_id"],
            item["wait_seconds"],
        )
    assert Interaction.objects.count() == 2


def test_new_items_must_carry_required_fields_but_updates_may_send_one(
    chain: Chain, api: APIClient
) -> None:
    api.post("/api/v1/interactions/bulk/", calls(1), format="json")
    missing = {k: v for k, v in calls(1, start=1)[0].items() if k not in {"channel", "outcome"}}
    update = {"source": "callcentre", "external_id": "K-0", "wait_seconds": 99}
    body = api.post("/api/v1/interactions/bulk/", [missing, update], format="json").json()
    assert [r["status"] for r in body["results"]] == ["error", "updated"]
    assert set(body["results"][0]["errors"]) == {"channel", "outcome"}
    saved = Interaction.objects.get(external_id="K-0")
    assert (saved.wait_seconds, saved.channel, saved.outcome) == (99, "phone", "resolved")


def test_a_retried_batch_creates_nothing_new(chain: Chain, api: APIClient) -> None:
    batch = calls(50)
    first = api.post("/api/v1/interactions/bulk/", batch, format="json").json()
    assert first["created"] == 50
    again = api.post("/api/v1/interactions/bulk/", batch, format="json").json()
    assert (again["created"], again["unchanged"]) == (0, 50)
    batch[7]["csat"] = 5
    changed = api.post("/api/v1/interactions/bulk/", batch, format="json").json()
    assert (changed["updated"], changed["unchanged"]) == (1, 49)
    assert [r["id"] for r in changed["results"]] == [r["id"] for r in first["results"]]
    assert Interaction.objects.count() == 50


def test_customers_bulk_accepts_an_items_envelope(chain: Chain, api: APIClient) -> None:
    items = [
        {"source": "pos", "external_id": f"C-{i}", "name": f"Customer {i}", "tags": [f"t{i}"]}
        for i in range(3)
    ]
    body = api.post("/api/v1/customers/bulk/", {"items": items}, format="json").json()
    assert body["created"] == 3
    saved = {c.pk: (c.external_id, c.tags) for c in Customer.objects.filter(source="pos")}
    assert saved == {r["id"]: (f"C-{r['index']}", [f"t{r['index']}"]) for r in body["results"]}


@pytest.mark.parametrize(
    ("payload", "status"),
    [([], 400), ({"nothing": 1}, 400), ("text", 400), ([{}] * 1001, 413)],
    ids=["empty", "not-a-list", "a-string", "too-many"],
)
def test_malformed_batches_are_refused_whole(
    chain: Chain, api: APIClient, payload: Any, status: int
) -> None:
    response = api.post("/api/v1/interactions/bulk/", payload, format="json")
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert Interaction.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent writers: PostgreSQL"
)
def test_concurrent_overlapping_batches_never_duplicate(chain: Chain, key_client: Any) -> None:
    """Four threads send overlapping batches at once; every row exists exactly once."""
    clients = [key_client() for _ in range(4)]
    batches = [calls(300, start=offset) for offset in (0, 100, 200, 50)]
    statuses: list[int] = []
    barrier = threading.Barrier(len(clients))

    def send(client: APIClient, batch: list[dict[str, Any]]) -> None:
        barrier.wait()
        statuses.append(client.post("/api/v1/interactions/bulk/", batch, format="json").status_code)
        connection.close()

    threads = [
        threading.Thread(target=send, args=pair) for pair in zip(clients, batches, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 4
    assert Interaction.objects.count() == 500
    assert Interaction.objects.values("external_id").distinct().count() == 500


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two sessions: PostgreSQL")
def test_a_batch_updating_customers_does_not_block_interactions_that_name_them(
    chain: Chain, api: APIClient
) -> None:
    """A customer batch locks its rows for update while interactions being inserted by
    another batch check those customers (a key-share lock). The two must not wait on each
    other, or crossing batches deadlock."""
    customer = CustomerFactory.create(source="pos", external_id="C-1")
    locked = threading.Event()
    release = threading.Event()

    def update_and_hold() -> None:
        with transaction.atomic():
            customers_upsert(
                actor=chain.admin, items=[{"source": "pos", "external_id": "C-1", "notes": "x"}]
            )
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=update_and_hold)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
            response = api.post(
                "/api/v1/interactions/",
                {**calls(1)[0], "customer": customer.pk},
                format="json",
            )
        assert response.status_code == 201, response.content
    finally:
        release.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
