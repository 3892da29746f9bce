"""If-Match is compared under the row lock: of many writers holding the same ETag exactly one
wins, on PATCH, PUT by external id and DELETE, for customers and interactions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from customers.models import Customer
from interactions.models import Interaction
from tests.api.conftest import KeyClient
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory

RACERS = 8


def _record(kind: str, chain: Chain) -> tuple[str, Any]:
    if kind == "customers":
        customer = CustomerFactory.create(home_branch=chain.north_a)
        return f"/api/v1/customers/{customer.pk}/", customer
    interaction = InteractionFactory.create(branch=chain.north_a)
    return f"/api/v1/interactions/{interaction.pk}/", interaction


@pytest.mark.parametrize("kind", ["customers", "interactions"])
def test_a_delete_with_a_stale_etag_is_refused(chain: Chain, api: APIClient, kind: str) -> None:
    url, record = _record(kind, chain)
    stale = api.get(url)["ETag"]
    api.patch(url, {"notes": "changed since"}, format="json")
    refused = api.delete(url, HTTP_IF_MATCH=stale)
    assert refused.status_code == 412
    assert refused["Content-Type"] == "application/problem+json"
    assert type(record).objects.get(pk=record.pk).deleted_at is None
    current = api.get(url)["ETag"]
    assert api.delete(url, HTTP_IF_MATCH=current).status_code == 204
    assert type(record).objects.get(pk=record.pk).deleted_at is not None


@pytest.mark.parametrize("kind", ["customers", "interactions"])
def test_if_match_star_and_lists_of_tags(chain: Chain, api: APIClient, kind: str) -> None:
    url, _ = _record(kind, chain)
    etag = api.get(url)["ETag"]
    assert api.patch(url, {"notes": "a"}, format="json", HTTP_IF_MATCH="*").status_code == 200
    both = f'"0000", {api.get(url)["ETag"]}'
    assert api.patch(url, {"notes": "b"}, format="json", HTTP_IF_MATCH=both).status_code == 200
    assert api.patch(url, {"notes": "c"}, format="json", HTTP_IF_MATCH=etag).status_code == 412


def test_put_by_external_id_with_if_match_on_a_missing_record_is_412(
    chain: Chain, api: APIClient
) -> None:
    """If-Match names a version that must exist: a PUT that would create is refused."""
    url = "/api/v1/customers/by-external-id/pos/C-404/"
    response = api.put(url, {"name": "Ada"}, format="json", HTTP_IF_MATCH='"abc"')
    assert response.status_code == 412
    assert not Customer.objects.filter(external_id="C-404").exists()
    assert api.put(url, {"name": "Ada"}, format="json").status_code == 201
    etag = api.get(url)["ETag"]
    assert api.put(url, {"name": "Ada L."}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    assert api.put(url, {"name": "Ada X"}, format="json", HTTP_IF_MATCH=etag).status_code == 412


def _race(clients: list[APIClient], request: Callable[[APIClient, int], Any]) -> list[int]:
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = [0] * len(clients)

    def run(index: int) -> None:
        barrier.wait()
        try:
            statuses[index] = request(clients[index], index).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent writers: PostgreSQL"
)


@pytest.mark.django_db(transaction=True)
@postgres_only
@pytest.mark.parametrize("kind", ["customers", "interactions"])
@pytest.mark.parametrize("attempt", range(3))
def test_eight_parallel_patches_with_one_etag_have_exactly_one_winner(
    chain: Chain, key_client: KeyClient, kind: str, attempt: int
) -> None:
    url, record = _record(kind, chain)
    clients = [key_client() for _ in range(RACERS)]
    etag = clients[0].get(url)["ETag"]
    statuses = _race(
        clients,
        lambda client, i: client.patch(
            url, {"notes": f"writer {i}"}, format="json", HTTP_IF_MATCH=etag
        ),
    )
    assert sorted(statuses) == [200] + [412] * (RACERS - 1), statuses
    winner = statuses.index(200)
    assert type(record).objects.get(pk=record.pk).notes == f"writer {winner}"


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_parallel_puts_by_external_id_with_one_etag_have_exactly_one_winner(
    chain: Chain, key_client: KeyClient
) -> None:
    clients = [key_client() for _ in range(RACERS)]
    url = "/api/v1/interactions/by-external-id/callcentre/race-1/"
    body = {
        "branch": "n-a",
        "channel": "phone",
        "occurred_at": "2026-11-02T09:00:00Z",
        "outcome": "resolved",
    }
    assert clients[0].put(url, body, format="json").status_code == 201
    etag = clients[0].get(url)["ETag"]
    statuses = _race(
        clients,
        lambda client, i: client.put(
            url, {**body, "topic": f"writer {i}"}, format="json", HTTP_IF_MATCH=etag
        ),
    )
    assert sorted(statuses) == [200] + [412] * (RACERS - 1), statuses
    stored = Interaction.objects.get(external_id="race-1")
    assert stored.topic == f"writer {statuses.index(200)}"


@pytest.mark.django_db(transaction=True)
@postgres_only
def test_a_patch_and_a_delete_racing_on_one_etag_cannot_both_win(
    chain: Chain, key_client: KeyClient
) -> None:
    url, record = _record("customers", chain)
    clients = [key_client() for _ in range(RACERS)]
    etag = clients[0].get(url)["ETag"]
    statuses = _race(
        clients,
        lambda client, i: (
            client.delete(url, HTTP_IF_MATCH=etag)
            if i % 2
            else client.patch(url, {"notes": f"writer {i}"}, format="json", HTTP_IF_MATCH=etag)
        ),
    )
    winners = [s for s in statuses if s in {200, 204}]
    assert len(winners) == 1, statuses
    # A loser is refused: 412 if it reached the row before the winner committed; once a
    # delete has won, a later one finds no such customer (404), which is as true.
    losers = {412, 404} if winners == [204] else {412}
    assert all(s in losers for s in statuses if s not in winners), statuses
    stored = Customer.objects.get(pk=record.pk)
    assert (stored.deleted_at is not None) == (winners == [204])
