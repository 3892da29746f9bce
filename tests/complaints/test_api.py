"""GET /api/v1/complaints/: each complaint with its type and area codes, status and next
deadline, at the key's branches; filters, CSV and the detail."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from complaints.models import Complaint
from complaints.services import complaint_record, complaint_transition
from crm.services import api_key_create, integration_create
from tests.complaints.test_lifecycle import queue_too_long
from tests.conftest import Chain
from tests.factories import InteractionFactory

URL = "/api/v1/complaints/"


def key(scopes: list[str], branches: tuple[str, ...] = ()) -> APIClient:
    cache.clear()
    integration = integration_create(
        name=f"crm {scopes} {branches}", scopes=scopes, branch_codes=branches
    )
    _, secret = api_key_create(integration=integration)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def complaints(chain: Chain) -> list[Complaint]:
    kind = queue_too_long()
    made = []
    for n, when in enumerate(
        [datetime(2026, 11, 2, 9, tzinfo=UTC), datetime(2099, 1, 5, 9, tzinfo=UTC)]
    ):
        call = InteractionFactory.create(
            branch=chain.north_a, occurred_at=when, external_id=f"c{n}", source="till"
        )
        made.append(
            complaint_record(
                actor=chain.agent, interaction=call, complaint_type=kind, text=f"text {n}"
            )
        )
    complaint_transition(actor=chain.agent, complaint=made[1], action="acknowledge")
    return made


def test_complaints_are_listed_with_codes_status_and_next_deadline(
    chain: Chain, complaints: list[Complaint]
) -> None:
    api = key(["interactions:read"])
    rows = {r["reference"]: r for r in api.get(URL).json()["results"]}
    first, second = (rows[c.reference] for c in complaints)
    assert (first["type"], first["area"], first["status"]) == (
        "queue-too-long",
        "waiting",
        "received",
    )
    assert first["due_at"] == first["acknowledge_due"]
    assert second["status"] == "acknowledged"
    assert second["due_at"] == second["respond_due"]
    assert first["interaction"] == complaints[0].interaction_id
    overdue = api.get(URL, {"overdue": "true"}).json()["results"]
    assert [r["reference"] for r in overdue] == [complaints[0].reference]
    assert [r["reference"] for r in api.get(URL, {"status": "acknowledged"}).json()["results"]] == [
        complaints[1].reference
    ]
    exported = api.get(URL, {"format": "csv"})
    text = b"".join(exported.streaming_content).decode()  # type: ignore[attr-defined]
    assert text.count("CMP-") == 2
    detail = api.get(f"{URL}{complaints[0].pk}/").json()
    assert detail["text"] == "text 0"


def test_complaints_need_the_scope_and_stay_at_the_keys_branches(
    chain: Chain, complaints: list[Complaint]
) -> None:
    assert key(["customers:read"]).get(URL).status_code == 403
    elsewhere = key(["interactions:read"], ("s-a",))
    assert elsewhere.get(URL).json()["results"] == []
    assert elsewhere.get(f"{URL}{complaints[0].pk}/").status_code == 404
    assert key(["interactions:read"]).get(URL, {"status": "lost"}).status_code == 400
