"""Bulk items name their record (id or external reference) so a retried batch creates
nothing twice; a key limited to branches writes only its branches' customers and cannot
tell another branch's record from one that does not exist."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from interactions.models import Interaction
from tests.api.conftest import KeyClient
from tests.api.test_bulk import calls
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory

BULK = {"customers": "/api/v1/customers/bulk/", "interactions": "/api/v1/interactions/bulk/"}
UNNAMED = {
    "customers": {"name": "Ada"},
    "interactions": {
        "branch": "n-a",
        "channel": "phone",
        "occurred_at": "2026-11-02T09:00:00Z",
        "outcome": "resolved",
    },
}


def _count(kind: str) -> int:
    return (Customer if kind == "customers" else Interaction).objects.count()


@pytest.mark.parametrize("kind", ["customers", "interactions"])
def test_an_item_naming_an_id_updates_that_record(chain: Chain, api: APIClient, kind: str) -> None:
    record = (
        CustomerFactory.create(home_branch=chain.north_a)
        if kind == "customers"
        else InteractionFactory.create(branch=chain.north_a)
    )
    before = _count(kind)
    for _ in range(2):  # sent twice: still one record
        body = api.post(BULK[kind], [{"id": record.pk, "notes": "from bulk"}], format="json")
        assert body.status_code == 200
    assert [r["status"] for r in body.json()["results"]] == ["unchanged"]
    assert _count(kind) == before
    record.refresh_from_db()
    assert record.notes == "from bulk"


@pytest.mark.parametrize("kind", ["customers", "interactions"])
@pytest.mark.parametrize("bad", [0, -3, "19", True, 2**63, 1.5])
def test_a_bad_or_unknown_id_is_an_item_error(
    chain: Chain, api: APIClient, kind: str, bad: Any
) -> None:
    body = api.post(BULK[kind], [{"id": bad, "notes": "x"}], format="json").json()
    assert body["errors"] == 1
    assert "id" in body["results"][0]["errors"]
    missing = api.post(BULK[kind], [{"id": 987654, "notes": "x"}], format="json").json()
    assert missing["results"][0]["errors"] == {"id": ["No such record."]}
    assert _count(kind) == 0


@pytest.mark.parametrize("kind", ["customers", "interactions"])
def test_items_without_a_reference_are_refused_so_a_retry_creates_nothing(
    chain: Chain, api: APIClient, kind: str
) -> None:
    for _ in range(2):
        body = api.post(BULK[kind], [UNNAMED[kind]], format="json").json()
        assert body["errors"] == 1
        assert "external_id" in body["results"][0]["errors"]
    assert _count(kind) == 0


@pytest.mark.parametrize("kind", ["customers", "interactions"])
def test_with_an_idempotency_key_unnamed_items_are_created_once(
    chain: Chain, api: APIClient, kind: str
) -> None:
    for _ in range(3):
        response = api.post(
            BULK[kind], [UNNAMED[kind]], format="json", HTTP_IDEMPOTENCY_KEY="batch-1"
        )
        assert response.status_code == 200
        assert response.json()["created"] == 1
    assert _count(kind) == 1


def test_an_update_cannot_change_a_records_external_reference(chain: Chain, api: APIClient) -> None:
    api.post("/api/v1/interactions/bulk/", calls(1), format="json")
    stored = Interaction.objects.get()
    moved = api.patch(f"/api/v1/interactions/{stored.pk}/", {"external_id": "other"}, format="json")
    assert moved.status_code == 400
    assert "external_id" in moved.json()["errors"]
    assert Interaction.objects.get().external_id == "K-0"


def test_a_put_by_external_id_keeps_the_staff_member_who_served(
    chain: Chain, api: APIClient
) -> None:
    interaction = InteractionFactory.create(
        branch=chain.north_a, staff=chain.agent, source="cc", external_id="call-1"
    )
    response = api.put(
        "/api/v1/interactions/by-external-id/cc/call-1/",
        {**UNNAMED["interactions"], "topic": "updated by the call centre"},
        format="json",
    )
    assert response.status_code == 200
    interaction.refresh_from_db()
    assert interaction.staff == chain.agent


# --- a key limited to branches ------------------------------------------------------------


def test_another_branchs_interaction_is_missing_for_get_put_patch_and_bulk_alike(
    chain: Chain, key_client: KeyClient
) -> None:
    """The same answer whether the record is elsewhere or nowhere."""
    limited = key_client(branches=["n-a"])
    InteractionFactory.create(branch=chain.south_a, source="cc", external_id="south-1")
    elsewhere = "/api/v1/interactions/by-external-id/cc/south-1/"
    body = {**UNNAMED["interactions"], "topic": "mine now"}
    assert limited.get(elsewhere).status_code == 404
    assert limited.put(elsewhere, body, format="json").status_code == 404
    bulk = limited.post(
        BULK["interactions"], [{**body, "source": "cc", "external_id": "south-1"}], format="json"
    ).json()
    assert bulk["results"][0]["errors"] == {"external_id": ["No such record."]}
    south = Interaction.objects.get(external_id="south-1")
    by_id = limited.post(BULK["interactions"], [{"id": south.pk, "topic": "x"}], format="json")
    nowhere = limited.post(BULK["interactions"], [{"id": 987654, "topic": "x"}], format="json")
    assert by_id.json()["results"][0]["errors"] == nowhere.json()["results"][0]["errors"]
    assert Interaction.objects.get(external_id="south-1").topic != "mine now"


def test_a_limited_key_creates_customers_only_at_its_branches(
    chain: Chain, key_client: KeyClient
) -> None:
    limited = key_client(branches=["n-a"])
    for body in ({"name": "Nowhere"}, {"name": "Far", "home_branch": "s-a"}):
        refused = limited.post("/api/v1/customers/", body, format="json")
        assert refused.status_code == 403
    made = limited.post("/api/v1/customers/", {"name": "Near", "home_branch": "n-a"}, format="json")
    assert made.status_code == 201
    moved = limited.patch(
        f"/api/v1/customers/{made.json()['id']}/", {"home_branch": "s-a"}, format="json"
    )
    assert moved.status_code == 403
    assert list(Customer.objects.values_list("name", "home_branch__code")) == [("Near", "n-a")]


def test_a_limited_key_changes_only_customers_homed_or_served_at_its_branches(
    chain: Chain, key_client: KeyClient
) -> None:
    limited = key_client(branches=["n-a"])
    homed = CustomerFactory.create(home_branch=chain.north_a)
    served = CustomerFactory.create(home_branch=chain.south_a)
    InteractionFactory.create(branch=chain.north_a, customer=served)
    elsewhere = CustomerFactory.create(home_branch=chain.south_a, source="pos", external_id="S")
    InteractionFactory.create(branch=chain.south_a, customer=elsewhere)
    for customer in (homed, served):
        url = f"/api/v1/customers/{customer.pk}/"
        assert limited.patch(url, {"notes": "ok"}, format="json").status_code == 200
    url = f"/api/v1/customers/{elsewhere.pk}/"
    assert limited.get(url).status_code == 200  # customers are chain-wide to read
    assert limited.patch(url, {"notes": "no"}, format="json").status_code == 403
    assert (
        limited.put(
            "/api/v1/customers/by-external-id/pos/S/", {"notes": "no"}, format="json"
        ).status_code
        == 403
    )
    assert limited.delete(url).status_code == 403
    bulk = limited.post(
        BULK["customers"], [{"id": elsewhere.pk, "notes": "no"}], format="json"
    ).json()
    assert bulk["errors"] == 1
    elsewhere.refresh_from_db()
    assert (elsewhere.notes, elsewhere.deleted_at) == ("", None)
    unlimited = key_client()
    assert unlimited.patch(url, {"notes": "HQ's sync"}, format="json").status_code == 200
