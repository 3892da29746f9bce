"""POST /api/v1/complaints/: an integration records a complaint about an interaction (by
id or by its reference), upserted by the complaint's own (source, external_id); the
interaction is marked a complaint through its service (its day goes stale); bad input is a
400 with field errors, reach a 403 or 404, the scope interactions:write."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from complaints.models import Complaint, ComplaintEvent, ComplaintType, Status
from complaints.services import complaint_transition
from consistency.models import DirtyDay
from interactions.models import Interaction
from tests.complaints.test_api import key
from tests.complaints.test_pages import taxonomy
from tests.conftest import Chain
from tests.factories import InteractionFactory

URL = "/api/v1/complaints/"
RECEIVED = datetime(2026, 11, 3, 9, tzinfo=UTC)  # a Tuesday, 10:00 in Oslo


@pytest.fixture
def kinds(chain: Chain) -> tuple[ComplaintType, ComplaintType]:
    return taxonomy()


@pytest.fixture
def call(chain: Chain) -> Interaction:
    return InteractionFactory.create(
        branch=chain.north_a, occurred_at=RECEIVED, source="till", external_id="T-1"
    )


def ticket(**changes: Any) -> dict[str, Any]:
    return {
        "interaction_ref": {"source": "till", "external_id": "T-1"},
        "type": "queue-too-long",
        "severity": "high",
        "text": "Antre lama bgt, 40 menit",
        "remedy": "Minta maaf",
        "source": "helpdesk",
        "external_id": "TICKET-1",
        **changes,
    }


def post(api: APIClient, body: dict[str, Any]) -> Any:
    return api.post(URL, body, format="json")


def writer() -> APIClient:
    return key(["interactions:read", "interactions:write"])


def test_a_complaint_is_recorded_and_its_interaction_marked(
    chain: Chain, kinds: Any, call: Interaction
) -> None:
    DirtyDay.objects.all().delete()
    response = post(writer(), ticket())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == f"CMP-2026-{call.pk:08d}"
    assert (body["type"], body["area"], body["severity"], body["status"]) == (
        "queue-too-long",
        "waiting",
        "high",
        "received",
    )
    assert (body["source"], body["external_id"]) == ("helpdesk", "TICKET-1")
    assert body["interaction"] == call.pk
    assert body["text"] == "Antre lama bgt, 40 menit"
    # High: acknowledged within a working day, answered within three (Oslo's day ends).
    assert body["acknowledge_due"] == "2026-11-04T23:00:00Z"
    assert body["respond_due"] == "2026-11-06T23:00:00Z"
    assert response["ETag"]
    call.refresh_from_db()
    assert call.is_complaint
    assert DirtyDay.objects.filter(branch=chain.north_a, day=RECEIVED.date()).exists()
    assert Complaint.objects.count() == 1
    assert list(ComplaintEvent.objects.values_list("action", flat=True)) == ["received"]


def test_the_same_reference_again_updates_what_was_said_never_the_handling(
    chain: Chain, kinds: Any, call: Interaction
) -> None:
    api = writer()
    assert post(api, ticket()).status_code == 201
    complaint = Complaint.objects.get()
    complaint_transition(actor=chain.agent, complaint=complaint, action="acknowledge")
    again = post(
        api,
        ticket(
            type="wrong-amount", severity="low", text="Uang kurang", remedy="Kembalikan", status=""
        ),
    )
    assert again.status_code == 400  # status is not the integration's to set
    assert "status" in again.json()["errors"]
    updated = post(api, ticket(type="wrong-amount", severity="low", text="Uang kurang"))
    assert updated.status_code == 200
    body = updated.json()
    assert (body["type"], body["severity"], body["status"]) == (
        "wrong-amount",
        "low",
        "acknowledged",
    )
    assert body["text"] == "Uang kurang"
    assert body["remedy"] == "Minta maaf"  # left out: kept
    # Low: answered within ten working days of when it was received.
    assert body["respond_due"] == "2026-11-17T23:00:00Z"
    assert Complaint.objects.count() == 1
    actions = list(ComplaintEvent.objects.values_list("action", "note"))
    assert actions[-1] == ("updated", "type, severity, text")
    # Sent once more unchanged: nothing moves, no step is added.
    unchanged = post(api, ticket(type="wrong-amount", severity="low", text="Uang kurang"))
    assert unchanged.status_code == 200
    assert ComplaintEvent.objects.count() == len(actions)


def test_the_complaint_an_interaction_already_got_is_taken_over(
    chain: Chain, kinds: Any, call: Interaction
) -> None:
    api = writer()
    marked = api.patch(f"/api/v1/interactions/{call.pk}/", {"is_complaint": True}, format="json")
    assert marked.status_code == 200
    made = Complaint.objects.get()
    assert (made.external_id, made.type) == ("", None)
    response = post(api, {**ticket(), "interaction": call.pk, "interaction_ref": None})
    assert response.status_code == 400  # one way of naming the interaction, not both
    by_id = {k: v for k, v in ticket().items() if k != "interaction_ref"}
    response = post(api, {**by_id, "interaction": call.pk})
    assert response.status_code == 200
    assert response.json()["id"] == made.pk
    made.refresh_from_db()
    assert (made.source, made.external_id, made.type.code if made.type else None) == (
        "helpdesk",
        "TICKET-1",
        "queue-too-long",
    )
    assert made.events.last().note == "type, severity, text, remedy, source, external_id"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "no-such-type"}, "type"),
        ({"type": "old-queue"}, "type"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"external_id": ""}, "external_id"),
        ({"interaction_ref": {"source": "till"}}, "interaction_ref"),
        ({"interaction_ref": None}, "interaction_ref"),
        ({"owner": "someone"}, "owner"),
        ({"text": 42}, "text"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    chain: Chain, kinds: Any, call: Interaction, changes: dict[str, Any], field: str
) -> None:
    ComplaintType.objects.create(
        area=kinds[0].area, code="old-queue", name_en="Old", retired_at=timezone.now()
    )
    body = ticket(**changes)
    if changes.get("interaction_ref", "") is None:
        del body["interaction_ref"]
        field = "interaction"
    response = post(writer(), body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Complaint.objects.exists()
    call.refresh_from_db()
    assert not call.is_complaint


def test_one_complaint_per_interaction_and_a_reference_stays_with_its_interaction(
    chain: Chain, kinds: Any, call: Interaction
) -> None:
    api = writer()
    assert post(api, ticket()).status_code == 201
    other_ref = post(api, ticket(external_id="TICKET-2"))
    assert other_ref.status_code == 400
    assert "another external id" in other_ref.json()["errors"]["interaction"][0]
    InteractionFactory.create(branch=chain.north_a, source="till", external_id="T-2")
    moved = post(api, ticket(interaction_ref={"source": "till", "external_id": "T-2"}))
    assert moved.status_code == 400
    assert "interaction" in moved.json()["errors"]
    assert Complaint.objects.count() == 1


def test_the_scope_and_the_keys_branches_decide(
    chain: Chain, kinds: Any, call: Interaction
) -> None:
    assert post(key(["interactions:read"]), ticket()).status_code == 403
    assert (
        post(key(["interactions:read", "interactions:write"], ("s-a",)), ticket()).status_code
        == 404
    )
    closed = InteractionFactory.create(branch=chain.closed, source="till", external_id="T-9")
    response = post(writer(), ticket(interaction_ref={"source": "till", "external_id": "T-9"}))
    assert response.status_code == 403  # seen, but a closed branch is written no more
    assert not Complaint.objects.exists()
    closed.refresh_from_db()
    assert not closed.is_complaint
    # Staff signed in record too, at their own branches.
    staff = APIClient()
    staff.force_login(chain.agent)
    assert post(staff, ticket()).status_code == 201
    assert Complaint.objects.get().events.get().actor == chain.agent
    assert Complaint.objects.get().status == Status.RECEIVED
