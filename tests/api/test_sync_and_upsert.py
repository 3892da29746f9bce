"""Incremental sync in pages, upsert by external id, ETag/If-Match."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rest_framework.test import APIClient

from customers.models import Customer
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory


def pull_all(
    client: APIClient,
    url: str,
    mirror: dict[int, dict[str, Any]],
    cursor: str | None = None,
    between_pages: Any = None,
) -> str | None:
    """Follow the feed to its end, applying rows (and tombstones) to ``mirror``."""
    params: dict[str, str] = {"page_size": "3", "include_deleted": "true"}
    while True:
        page = client.get(url, {**params, **({"cursor": cursor} if cursor else {})}).json()
        for row in page["results"]:
            if row["deleted"]:
                mirror.pop(row["id"], None)
            else:
                mirror[row["id"]] = row
        cursor = page["cursor"]
        if between_pages:
            between_pages()
            between_pages = None
        if page["next"] is None:
            return cursor


def test_a_mirror_stays_exact_while_writes_happen_between_pages(
    chain: Chain, api: APIClient
) -> None:
    customers = CustomerFactory.create_batch(8)
    mirror: dict[int, dict[str, Any]] = {}

    def meanwhile() -> None:  # after the first page: an edit, a deletion, a new record
        api.patch(f"/api/v1/customers/{customers[0].pk}/", {"notes": "edited"}, format="json")
        api.delete(f"/api/v1/customers/{customers[5].pk}/")
        api.post("/api/v1/customers/", {"name": "Late arrival"}, format="json")

    cursor = pull_all(api, "/api/v1/customers/", mirror, between_pages=meanwhile)
    live = {c.pk: c for c in Customer.objects.alive()}
    assert set(mirror) == set(live)
    assert mirror[customers[0].pk]["notes"] == "edited"
    assert customers[5].pk not in mirror

    # Later: resume from the stored cursor and get only what changed since.
    api.patch(f"/api/v1/customers/{customers[1].pk}/", {"name": "Renamed"}, format="json")
    api.delete(f"/api/v1/customers/{customers[2].pk}/")
    assert cursor is not None
    page = api.get("/api/v1/customers/", {"cursor": cursor, "include_deleted": "true"}).json()
    assert [(r["id"], r["deleted"]) for r in page["results"]] == [
        (customers[1].pk, False),
        (customers[2].pk, True),
    ]


def test_deleted_rows_are_left_out_unless_asked_for(chain: Chain, api: APIClient) -> None:
    kept, gone = InteractionFactory.create_batch(2, branch=chain.north_a)
    api.delete(f"/api/v1/interactions/{gone.pk}/")
    assert [r["id"] for r in api.get("/api/v1/interactions/").json()["results"]] == [kept.pk]
    assert Interaction.objects.get(pk=gone.pk).deleted_at is not None  # soft
    assert api.get(f"/api/v1/interactions/{gone.pk}/").status_code == 404


def test_updated_after_and_filters(chain: Chain, api: APIClient) -> None:
    old = InteractionFactory.create(branch=chain.north_a, channel="phone", is_complaint=True)
    InteractionFactory.create(branch=chain.south_a, channel="email")
    since = Interaction.objects.get(pk=old.pk).updated_at
    newer = InteractionFactory.create(branch=chain.north_a, channel="chat")

    def ids(**params: str) -> list[int]:
        return [r["id"] for r in api.get("/api/v1/interactions/", params).json()["results"]]

    assert old.pk not in ids(updated_after=(since.replace(microsecond=999_999)).isoformat())
    assert newer.pk in ids(updated_after=since.isoformat())
    assert ids(branch="n-a", channel="phone", is_complaint="true") == [old.pk]
    bad = api.get("/api/v1/interactions/", {"channel": "fax", "updated_after": "yesterday"})
    assert bad.status_code == 400
    assert {"channel", "updated_after"} <= set(bad.json()["errors"])
    assert api.get("/api/v1/interactions/", {"page_size": "5000"}).status_code == 400
    assert api.get("/api/v1/interactions/", {"cursor": "garbage!"}).status_code == 400


def test_times_with_any_offset_are_compared_in_utc(chain: Chain, api: APIClient) -> None:
    call = InteractionFactory.create(
        branch=chain.north_a, occurred_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    )

    def ids(**params: str) -> list[int]:
        response = api.get("/api/v1/interactions/", params)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    # 12:00 UTC is 08:24 at -03:36 and 23:59 at +11:59: offsets PostgreSQL cannot parse.
    assert ids(occurred_after="2026-03-01T08:24:00-03:36") == [call.pk]
    assert ids(occurred_after="2026-03-01T08:25:00-03:36") == []
    before = "2026-03-01T23:59:01+11:59"
    assert ids(occurred_before=before, updated_after="0887-01-23T16:25-20:36") == [call.pk]
    assert ids(occurred_before="2026-03-01T23:59:00+11:59") == []
    out_of_range = api.get("/api/v1/interactions/", {"updated_after": "0001-01-01T00:00+05:00"})
    assert out_of_range.status_code == 400
    assert "updated_after" in out_of_range.json()["errors"]


def test_customer_search_by_name_email_or_phone(chain: Chain, api: APIClient) -> None:
    CustomerFactory.create(name="Ada Lovelace", email="ada@example.com", phone="+442079460018")
    CustomerFactory.create(name="Alan Turing", email="alan@example.org", phone="+441615550100")

    def names(**params: str) -> list[str]:
        return [r["name"] for r in api.get("/api/v1/customers/", params).json()["results"]]

    assert names(q="lovel") == ["Ada Lovelace"]
    assert names(q="7946 0018") == ["Ada Lovelace"]
    assert names(email="ALAN@example.org") == ["Alan Turing"]


def test_put_by_external_id_creates_then_updates(chain: Chain, api: APIClient) -> None:
    url = "/api/v1/customers/by-external-id/pos/C-1/"
    created = api.put(url, {"name": "Ada", "home_branch": "n-a"}, format="json")
    assert created.status_code == 201
    assert created.json()["home_branch"] == "n-a"
    updated = api.put(url, {"name": "Ada Lovelace"}, format="json")
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert Customer.objects.get(external_id="C-1").name == "Ada Lovelace"

    call = {
        "branch": "n-a",
        "customer_ref": {"source": "pos", "external_id": "C-1"},
        "channel": "phone",
        "occurred_at": "2026-11-02T09:00:00Z",
        "wait_seconds": 40,
        "outcome": "resolved",
    }
    first = api.put("/api/v1/interactions/by-external-id/callcentre/K-9/", call, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["customer"] == created.json()["id"]
    assert first.json()["customer_ref"] == {"source": "pos", "external_id": "C-1"}
    again = api.put(
        "/api/v1/interactions/by-external-id/callcentre/K-9/", {**call, "csat": 4}, format="json"
    )
    assert again.status_code == 200
    assert Interaction.objects.get(external_id="K-9").csat == 4
    unknown = api.put(
        "/api/v1/interactions/by-external-id/callcentre/K-10/",
        {**call, "customer_ref": {"source": "pos", "external_id": "nobody"}},
        format="json",
    )
    assert unknown.status_code == 400
    assert "customer_ref" in unknown.json()["errors"]


def test_post_refuses_an_existing_external_reference(chain: Chain, api: APIClient) -> None:
    assert (
        api.post(
            "/api/v1/customers/", {"name": "A", "source": "pos", "external_id": "1"}, format="json"
        ).status_code
        == 201
    )
    again = api.post(
        "/api/v1/customers/", {"name": "B", "source": "pos", "external_id": "1"}, format="json"
    )
    assert again.status_code == 400
    assert "external_id" in again.json()["errors"]
    assert Customer.objects.count() == 1


def test_etag_and_if_match_prevent_lost_updates(chain: Chain, api: APIClient) -> None:
    interaction = InteractionFactory.create(branch=chain.north_a)
    url = f"/api/v1/interactions/{interaction.pk}/"
    etag = api.get(url)["ETag"]
    first = api.patch(url, {"topic": "mine"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200
    assert first["ETag"] != etag
    stale = api.patch(url, {"topic": "theirs"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale["Content-Type"] == "application/problem+json"
    assert Interaction.objects.get(pk=interaction.pk).topic == "mine"
    fresh = api.patch(url, {"topic": "theirs"}, format="json", HTTP_IF_MATCH=first["ETag"])
    assert fresh.status_code == 200
