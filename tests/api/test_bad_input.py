"""Input that used to end in a 500: each is a 400 problem+json naming what is wrong."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import InteractionFactory

CALL = {
    "source": "cc",
    "external_id": "call-1",
    "branch": "n-a",
    "channel": "phone",
    "wait_seconds": 12,
    "outcome": "resolved",
}


def _problem(response: object, status: int = 400) -> dict:
    assert response.status_code == status, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/problem+json"  # type: ignore[index]
    return response.json()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ref", "missing"),
    [({"source": "pos"}, "external_id"), ({"external_id": "C-1"}, "source"), ({}, "source")],
)
def test_a_partial_customer_ref_is_a_field_error(
    chain: Chain, api: APIClient, ref: dict, missing: str
) -> None:
    interaction = InteractionFactory.create(branch=chain.north_a)
    url = f"/api/v1/interactions/{interaction.pk}/"
    for method in (api.patch, api.put):
        body = _problem(method(url, {"customer_ref": ref}, format="json"))
        assert missing in body["errors"]["customer_ref"]
    put = api.put(
        "/api/v1/interactions/by-external-id/cc/x/",
        {**CALL, "occurred_at": "2026-11-02T09:00:00Z", "customer_ref": ref},
        format="json",
    )
    assert missing in _problem(put)["errors"]["customer_ref"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/interactions/by-external-id/cc/ab%00c/",
        "/api/v1/customers/by-external-id/p%00s/C-1/",
        "/api/v1/customers/?q=ad%00a",
        "/api/v1/webhooks/deliveries/?status=pen%00ding",
    ],
)
def test_a_nul_character_in_the_address_is_a_400(chain: Chain, api: APIClient, path: str) -> None:
    _problem(api.get(path))
    if "by-external-id" in path:
        _problem(api.put(path, {"name": "Ada"}, format="json"))


def test_a_nul_character_on_a_page_is_a_400(chain: Chain) -> None:
    client = Client()
    client.force_login(chain.agent)
    assert client.get("/customers/?q=a%00b").status_code == 400


def test_json_nested_thousands_deep_is_a_400(chain: Chain, api: APIClient) -> None:
    deep = "[" * 2000 + "]" * 2000
    for url in ("/api/v1/interactions/", "/api/v1/interactions/bulk/", "/api/v1/customers/"):
        body = _problem(api.post(url, deep, content_type="application/json"))
        assert "nested" in body["detail"]
    moderately = '{"notes": ' + "[" * 40 + "]" * 40 + "}"
    assert (
        "nested"
        in _problem(api.post("/api/v1/customers/", moderately, content_type="application/json"))[
            "detail"
        ]
    )


@pytest.mark.parametrize(
    ("occurred_at", "message"),
    [
        ("2026-11-02T09:00:00", "time zone"),
        ("2026-11-02 09:00", "time zone"),
        ("1899-12-31T23:00:00Z", "1900"),
        ("0001-01-01T00:00:00+14:00", "1900"),
    ],
)
def test_occurred_at_needs_a_zone_and_a_plausible_year(
    chain: Chain, api: APIClient, occurred_at: str, message: str
) -> None:
    body = _problem(
        api.post("/api/v1/interactions/", {**CALL, "occurred_at": occurred_at}, format="json")
    )
    assert message in body["errors"]["occurred_at"][0]
    bulk = api.post(
        "/api/v1/interactions/bulk/", [{**CALL, "occurred_at": occurred_at}], format="json"
    ).json()
    assert "occurred_at" in bulk["results"][0]["errors"]
    assert not Interaction.objects.exists()
    accepted = api.post(
        "/api/v1/interactions/", {**CALL, "occurred_at": "2026-11-02T09:00:00+07:00"}, format="json"
    )
    assert accepted.status_code == 201


def test_feedback_at_is_null_until_feedback_arrives(chain: Chain, api: APIClient) -> None:
    made = api.post(
        "/api/v1/interactions/", {**CALL, "occurred_at": "2026-11-02T09:00:00Z"}, format="json"
    )
    assert made.json()["feedback_at"] is None


@pytest.mark.parametrize("field", ["moment", "customer"])
def test_an_id_of_zero_is_a_field_error(chain: Chain, api: APIClient, field: str) -> None:
    body = {**CALL, "occurred_at": "2026-11-02T09:00:00Z", field: 0}
    put = api.put("/api/v1/interactions/by-external-id/cc/zero/", body, format="json")
    assert field in _problem(put)["errors"]
    bulk = api.post("/api/v1/interactions/bulk/", [body], format="json").json()
    assert field in bulk["results"][0]["errors"]
    assert not Interaction.objects.exists()
