"""The reviews API as a QA tool uses it: scores worked out here, upsert by (source,
external_id), bulk with a result per item, Idempotency-Key, and the staff scopes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from crm.services import api_key_create, integration_create
from interactions.models import Interaction
from quality.models import Review, Scorecard
from tests.conftest import Chain
from tests.factories import InteractionFactory
from tests.quality.scorecards import phone_scorecard

STAFF = ["staff:read", "staff:write"]
KeyClient = Callable[..., APIClient]
URL = "/api/v1/quality/reviews/"


@pytest.fixture(autouse=True)
def _fresh_throttle_budget() -> None:
    cache.clear()


@pytest.fixture
def key(chain: Chain) -> KeyClient:
    made = 0

    def make(scopes: list[str] = STAFF, branches: list[str] = ()) -> APIClient:  # type: ignore[assignment]
        nonlocal made
        made += 1
        integration = integration_create(
            name=f"qa tool {made}", scopes=scopes, branch_codes=branches
        )
        _, secret = api_key_create(integration=integration)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        return client

    return make


@pytest.fixture
def card(chain: Chain) -> Scorecard:
    return phone_scorecard()


@pytest.fixture
def calls(chain: Chain) -> list[Interaction]:
    return [
        InteractionFactory.create(
            branch=chain.north_a,
            staff=chain.agent,
            channel="phone",
            occurred_at=datetime(2026, 11, 2, 9, i, tzinfo=UTC),
            source="callcentre",
            external_id=f"call-{i}",
        )
        for i in range(3)
    ]


def review(i: int, **changes: Any) -> dict[str, Any]:
    return {
        "source": "speechqa",
        "external_id": f"qa-{i}",
        "interaction_ref": {"source": "callcentre", "external_id": f"call-{i % 3}"},
        "scorecard": "phone",
        "answers": {"greets": 1, "tone": 5, "confirms-amount": 1},
        **changes,
    }


def test_a_review_is_scored_here_and_read_back(
    key: KeyClient, card: Scorecard, calls: list[Interaction]
) -> None:
    api = key()
    created = api.post(
        URL, review(0, answers={"greets": 0, "tone": 4, "confirms-amount": None}), format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    # Weighted mean over the applicable items: greets 0 (w1), tone (4-1)/4 (w1); N/A left out.
    assert body["score"] == pytest.approx(0.375)
    assert (body["passed"], body["critical_fail"], body["disputed"]) == (False, False, False)
    assert (body["interaction"], body["agent"], body["branch"]) == (
        calls[0].pk,
        calls[0].staff.username,  # type: ignore[union-attr]
        "n-a",
    )
    assert body["scorecard_version"] == "2020-01-01"
    listed = api.get(URL).json()["results"]
    assert [r["external_id"] for r in listed] == ["qa-0"]
    assert api.get(f"{URL}{body['id']}/").json()["score"] == pytest.approx(0.375)


def test_a_failed_critical_item_scores_zero(
    key: KeyClient, card: Scorecard, calls: list[Interaction]
) -> None:
    body = key().post(
        URL, review(0, answers={"greets": 1, "tone": 5, "confirms-amount": 0}), format="json"
    )
    assert body.json()["score"] == 0
    assert body.json()["critical_fail"] is True


def test_upsert_by_reference_updates_the_same_review(
    key: KeyClient, card: Scorecard, calls: list[Interaction]
) -> None:
    api = key()
    first = api.post(f"{URL}bulk/", [review(0), review(1)], format="json").json()
    assert [r["status"] for r in first["results"]] == ["created", "created"]
    again = api.post(
        f"{URL}bulk/",
        [review(0, answers={"greets": 0, "tone": 5, "confirms-amount": 1}), review(1)],
        format="json",
    ).json()
    assert [r["status"] for r in again["results"]] == ["updated", "unchanged"]
    assert Review.objects.count() == 2
    assert Review.objects.get(external_id="qa-0").score == pytest.approx(0.75)
    # A single POST of an existing reference is refused, not a second review.
    duplicate = api.post(URL, review(0), format="json")
    assert duplicate.status_code in {400, 409}
    assert Review.objects.count() == 2


def test_idempotency_key_replays_a_review(
    key: KeyClient, card: Scorecard, calls: list[Interaction]
) -> None:
    api = key()
    first = api.post(URL, review(2), format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    replay = api.post(URL, review(2), format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Review.objects.count() == 1


def test_bad_items_get_field_errors_and_the_rest_is_saved(
    key: KeyClient, card: Scorecard, calls: list[Interaction]
) -> None:
    batch = [
        review(0),
        review(1, answers={"greets": 1, "tone": 5}),  # a needed answer left out is N/A…
        review(2, answers={"tone": 5, "confirms-amount": 1}),  # …where N/A is not allowed
        review(3, interaction_ref={"source": "callcentre", "external_id": "nope"}),
        review(4, answers={"greets": 2, "tone": 5, "confirms-amount": 1}),
        review(5, answers={"greets": 1, "tone": 5, "confirms-amount": 1, "smile": 1}),
        review(6, scorecard="counter"),
        review(7, interaction=calls[0].pk),  # both id and reference
    ]
    response = key().post(f"{URL}bulk/", batch, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "created", *["error"] * 6]
    errors = [r.get("errors", {}) for r in results]
    assert "greets" in " ".join(errors[2]["answers"])
    assert "interaction_ref" in errors[3]
    assert "greets" in " ".join(errors[4]["answers"])
    assert "smile" in " ".join(errors[5]["answers"])
    assert "scorecard" in errors[6]
    assert "interaction_ref" in errors[7]
    assert Review.objects.count() == 2


def test_single_bad_review_is_a_400_problem(
    key: KeyClient, card: Scorecard, calls: list[Interaction]
) -> None:
    response = key().post(URL, review(0, answers={"greets": 7}), format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "answers" in response.json()["errors"]
    assert not Review.objects.exists()


def test_the_staff_scopes_and_branch_limits_hold(
    chain: Chain, key: KeyClient, card: Scorecard, calls: list[Interaction]
) -> None:
    key().post(URL, review(0), format="json")
    assert key(scopes=["interactions:read", "analytics:read"]).get(URL).status_code == 403
    assert key(scopes=["staff:read"]).post(URL, review(1), format="json").status_code == 403
    assert key(scopes=["staff:write"]).get(URL).status_code == 403
    elsewhere = key(branches=["s-a"])
    assert elsewhere.get(URL).json()["results"] == []
    refused = elsewhere.post(f"{URL}bulk/", [review(1)], format="json").json()["results"][0]
    assert refused["status"] == "error"
    assert refused["errors"] == {"interaction": ["No such interaction."]}
    assert Review.objects.count() == 1
    own = Review.objects.get()
    assert elsewhere.get(f"{URL}{own.pk}/").status_code == 404


def test_a_deleted_interaction_cannot_be_reviewed(
    key: KeyClient, card: Scorecard, calls: list[Interaction]
) -> None:
    calls[0].deleted_at = datetime(2026, 11, 3, tzinfo=UTC)
    calls[0].save()
    response = key().post(URL, review(0), format="json")
    assert response.status_code in {400, 404}
    assert not Review.objects.exists()


def test_signed_in_people_review_through_the_api_as_on_the_page(
    chain: Chain, card: Scorecard, calls: list[Interaction]
) -> None:
    agent, manager = APIClient(), APIClient()
    agent.force_login(chain.agent)
    manager.force_login(chain.regional)
    # The agent of the calls may not score them; nor may any agent.
    refused = agent.post(URL, review(0), format="json")
    assert refused.status_code == 403
    made = manager.post(URL, review(0), format="json")
    assert made.status_code == 201
    assert made.json()["reviewer"] == chain.regional.username
    # Only its reviewer changes it.
    admin = APIClient()
    admin.force_login(chain.admin)
    changed = admin.post(f"{URL}bulk/", [review(0, comment="mine now")], format="json").json()
    assert changed["results"][0]["status"] == "error"
    assert Review.objects.get().comment == ""
