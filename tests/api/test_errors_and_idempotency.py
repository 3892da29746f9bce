"""problem+json errors, Idempotency-Key replays and conflicts, throttling."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm.models import IdempotencyRecord
from customers.models import Customer
from tests.conftest import Chain


def test_unparseable_json_and_wrong_content_type(chain: Chain, api: APIClient) -> None:
    broken = api.post("/api/v1/customers/", "{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken["Content-Type"] == "application/problem+json"
    assert "JSON" in broken.json()["detail"]
    form = api.post(
        "/api/v1/customers/", "name=Ada", content_type="application/x-www-form-urlencoded"
    )
    assert form.status_code == 415
    assert form.json()["title"] == "Unsupported Media Type"


def test_unknown_fields_and_out_of_range_values_are_named(chain: Chain, api: APIClient) -> None:
    response = api.post(
        "/api/v1/interactions/",
        {
            "branch": "n-a",
            "channel": "phone",
            "occurred_at": "2026-11-02T09:00:00Z",
            "outcome": "resolved",
            "nps": 11,
            "wait_seconds": -4,
            "mood": "grumpy",
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "urn:crm:problem:validation-error"
    assert set(body["errors"]) == {"mood"}  # unknown fields are refused first
    response = api.post(
        "/api/v1/interactions/",
        {
            "branch": "n-a",
            "channel": "phone",
            "occurred_at": "2026-11-02T09:00:00Z",
            "outcome": "resolved",
            "nps": 11,
            "wait_seconds": -4,
        },
        format="json",
    )
    assert set(response.json()["errors"]) == {"nps", "wait_seconds"}


def test_model_rules_come_back_as_field_errors(chain: Chain, api: APIClient) -> None:
    response = api.post(
        "/api/v1/interactions/",
        {
            "branch": "n-a",
            "channel": "email",
            "occurred_at": "2099-01-01T00:00:00Z",
            "outcome": "abandoned",
        },
        format="json",
    )
    assert response.status_code == 400
    assert {"occurred_at", "outcome"} <= set(response.json()["errors"])


def test_unknown_endpoint_is_a_problem_404(chain: Chain, api: APIClient) -> None:
    response = api.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_idempotency_key_replays_and_conflicts(chain: Chain, api: APIClient) -> None:
    first = api.post(
        "/api/v1/customers/", {"name": "Ada"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert first.status_code == 201
    replay = api.post(
        "/api/v1/customers/", {"name": "Ada"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1
    other = api.post(
        "/api/v1/customers/", {"name": "Bob"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 422
    assert other["Content-Type"] == "application/problem+json"
    assert Customer.objects.count() == 1
    # Another caller may use the same key for its own request.
    assert api.post("/api/v1/customers/", {"name": "Ada"}, format="json").status_code == 201


def test_idempotency_key_still_in_flight_is_a_409(chain: Chain, api: APIClient) -> None:
    api.post("/api/v1/customers/", {"name": "Ada"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    IdempotencyRecord.objects.filter(key="k-2").update(response_status=None)  # as if still running
    response = api.post(
        "/api/v1/customers/", {"name": "Ada"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert response.status_code == 409
    assert Customer.objects.count() == 1


def test_failed_validation_is_replayed_too_but_a_new_key_can_retry(
    chain: Chain, api: APIClient
) -> None:
    bad = api.post("/api/v1/customers/", {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert bad.status_code == 400
    assert (
        api.post(
            "/api/v1/customers/", {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
        ).status_code
        == 400
    )
    assert (
        api.post(
            "/api/v1/customers/", {"name": "Ok"}, format="json", HTTP_IDEMPOTENCY_KEY="k-4"
        ).status_code
        == 201
    )


def test_throttled_keys_get_429_with_retry_after(
    chain: Chain, api: APIClient, settings: pytest.FixtureRequest
) -> None:
    settings.API_THROTTLE_RATE = "3/min"  # type: ignore[attr-defined]
    codes = [api.get("/api/v1/customers/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = api.get("/api/v1/customers/")
    assert limited["Content-Type"] == "application/problem+json"
    assert int(limited["Retry-After"]) > 0
