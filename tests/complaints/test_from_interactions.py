"""An interaction marked as a complaint gets its complaint record, once: logged at the
counter, sent in a batch, or marked later; a retried batch adds nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from complaints.models import Complaint, ComplaintEvent, Status
from crm.services import api_key_create, integration_create
from interactions.models import Interaction
from tests.conftest import Chain


@pytest.fixture
def api(chain: Chain) -> APIClient:
    cache.clear()
    integration = integration_create(
        name="till", scopes=["interactions:read", "interactions:write"]
    )
    _, secret = api_key_create(integration=integration)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


def call(n: int, **changes: Any) -> dict[str, Any]:
    return {
        "source": "till",
        "external_id": f"T-{n}",
        "branch": "n-a",
        "channel": "in_person",
        "occurred_at": "2026-11-06T15:00:00Z",  # a Friday, 16:00 in Oslo
        "outcome": "resolved",
        **changes,
    }


def test_a_batch_records_a_complaint_for_each_complaint_once(api: APIClient) -> None:
    batch = [call(1, is_complaint=True), call(2), call(3, is_complaint=True)]
    body = api.post("/api/v1/interactions/bulk/", batch, format="json").json()
    assert body["created"] == 3
    complaints = list(Complaint.objects.order_by("interaction_id"))
    assert [c.interaction.external_id for c in complaints] == ["T-1", "T-3"]
    first = complaints[0]
    assert first.reference == f"CMP-2026-{first.interaction_id:08d}"
    assert (first.status, first.severity) == (Status.RECEIVED, "medium")
    # Medium: acknowledged within 1 working day (Monday), responded within 5 (next Friday),
    # each by the end of that day in Oslo.
    assert first.acknowledge_due.isoformat() == "2026-11-09T23:00:00+00:00"
    assert first.respond_due.isoformat() == "2026-11-13T23:00:00+00:00"
    assert ComplaintEvent.objects.filter(action="received").count() == 2
    assert set(ComplaintEvent.objects.values_list("changed_via", flat=True)) == {"api"}

    api.post("/api/v1/interactions/bulk/", batch, format="json")
    assert Complaint.objects.count() == 2  # a retried batch adds nothing


def test_marking_an_interaction_later_records_its_complaint(api: APIClient) -> None:
    api.post("/api/v1/interactions/bulk/", [call(7)], format="json")
    assert not Complaint.objects.exists()
    api.post("/api/v1/interactions/bulk/", [call(7, is_complaint=True)], format="json")
    complaint = Complaint.objects.get()
    assert complaint.interaction == Interaction.objects.get(external_id="T-7")
    # Unmarking keeps the record: what was received stays received.
    api.post("/api/v1/interactions/bulk/", [call(7, is_complaint=False)], format="json")
    assert Complaint.objects.count() == 1
