"""API keys, scopes, branch limits and sessions: 401, 403 and 404 where each belongs."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from crm.models import ApiKey
from crm.services import api_key_revoke
from interactions.models import Interaction
from tests.api.conftest import KeyClient
from tests.conftest import Chain
from tests.factories import InteractionFactory

CALL = {
    "branch": "n-a",
    "channel": "phone",
    "occurred_at": "2026-11-02T09:00:00Z",
    "wait_seconds": 12,
    "outcome": "resolved",
}


def test_create_api_key_prints_a_key_that_works_and_stores_only_its_hash(chain: Chain) -> None:
    out = io.StringIO()
    call_command(
        "create_api_key",
        "--name",
        "Call centre",
        "--scopes",
        "interactions:read",
        "--branches",
        "n-a",
        stdout=out,
    )
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("crm_")
    stored = ApiKey.objects.get()
    assert key not in {stored.hashed_key, stored.prefix}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    me = client.get("/api/v1/integration/").json()
    assert (me["name"], me["scopes"], me["branches"]) == (
        "Call centre",
        ["interactions:read"],
        ["n-a"],
    )
    assert client.get("/api/v1/interactions/").status_code == 200
    assert client.get("/api/v1/customers/").status_code == 403


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "X"], "needs --scopes"),
        (["--name", "X", "--scopes", "everything"], "Unknown scope"),
        (["--name", "X", "--scopes", "customers:read", "--branches", "nowhere"], "nowhere"),
    ],
)
def test_create_api_key_refuses_bad_input(chain: Chain, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("create_api_key", *args)
    assert not ApiKey.objects.exists()


def test_missing_unknown_and_revoked_keys_get_401_problem(chain: Chain, api: APIClient) -> None:
    anonymous = APIClient().get("/api/v1/customers/")
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/problem+json"
    assert anonymous["WWW-Authenticate"].startswith("Api-Key")
    assert anonymous.json()["status"] == 401
    wrong = APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Api-Key crm_000000000000_nope")
    assert wrong.get("/api/v1/customers/").status_code == 401
    assert api.get("/api/v1/customers/").status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get(integration=api.integration))  # type: ignore[attr-defined]
    assert api.get("/api/v1/customers/").status_code == 401


def test_a_key_without_the_scope_is_refused(chain: Chain, key_client: KeyClient) -> None:
    reader = key_client(scopes=["customers:read"])
    assert reader.get("/api/v1/customers/").status_code == 200
    refused = reader.post("/api/v1/customers/", {"name": "Eve"}, format="json")
    assert refused.status_code == 403
    assert "scope" in refused.json()["detail"]
    assert reader.get("/api/v1/interactions/").status_code == 403
    assert reader.get("/api/v1/webhooks/subscriptions/").status_code == 403


def test_a_key_limited_to_one_branch_cannot_reach_others(
    chain: Chain, key_client: KeyClient
) -> None:
    mine = InteractionFactory.create(branch=chain.north_a)
    theirs = InteractionFactory.create(branch=chain.south_a)
    limited = key_client(branches=["n-a"])
    listed = limited.get("/api/v1/interactions/").json()["results"]
    assert [row["id"] for row in listed] == [mine.pk]
    assert limited.get(f"/api/v1/interactions/{theirs.pk}/").status_code == 404
    assert (
        limited.patch(f"/api/v1/interactions/{theirs.pk}/", {"csat": 1}, format="json").status_code
        == 404
    )
    assert (
        limited.post("/api/v1/interactions/", {**CALL, "branch": "s-a"}, format="json").status_code
        == 403
    )
    assert [b["code"] for b in limited.get("/api/v1/branches/").json()] == ["n-a"]
    assert limited.get(f"/api/v1/branches/{chain.south_a.pk}/").status_code == 404
    bulk = limited.post(
        "/api/v1/interactions/bulk/",
        [
            {**CALL, "source": "cc", "external_id": "mine"},
            {**CALL, "branch": "s-a", "source": "cc", "external_id": "theirs"},
        ],
        format="json",
    ).json()
    assert [r["status"] for r in bulk["results"]] == ["created", "error"]
    assert Interaction.objects.filter(branch=chain.south_a).count() == 1


def test_staff_sessions_follow_their_role(chain: Chain) -> None:
    InteractionFactory.create(branch=chain.north_a)
    InteractionFactory.create(branch=chain.south_a)
    client = APIClient()
    client.force_login(chain.agent)
    assert {r["branch"] for r in client.get("/api/v1/interactions/").json()["results"]} == {"n-a"}
    assert (
        client.post(
            "/api/v1/branches/", {"region": "north", "code": "x", "name": "X"}, format="json"
        ).status_code
        == 403
    )
    client.force_login(chain.admin)
    created = client.post(
        "/api/v1/branches/",
        {"region": "north", "code": "n-new", "name": "New", "timezone": "Europe/Oslo"},
        format="json",
    )
    assert created.status_code == 201
    bad_zone = client.post(
        "/api/v1/branches/",
        {"region": "north", "code": "n-bad", "name": "Bad", "timezone": "Mars/Olympus"},
        format="json",
    )
    assert bad_zone.status_code == 400
    assert "timezone" in bad_zone.json()["errors"]


def test_keys_cannot_change_the_chain_structure(chain: Chain, api: APIClient) -> None:
    assert api.get("/api/v1/regions/").status_code == 200
    assert (
        api.post("/api/v1/regions/", {"code": "x", "name": "X"}, format="json").status_code == 403
    )
