"""GDPR: a customer's data exported (API, command, admin) and erased (API, command, admin).

Export hands over everything, for HQ admins and admin-scope keys without branch limits
only, and is itself recorded. Erasure anonymises the person everywhere the CRM keeps a copy
(the record, its history, the interactions' free text, search, webhook payloads) and leaves
every statistic exactly as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from consistency.models import Flag, Rollup
from consistency.recompute import consistency_recompute
from crm.models import Event, WebhookDelivery, WebhookEvent, WebhookSubscription
from crm.privacy import customer_erase, customer_export, erased_name
from crm.services import integration_create
from customers.models import Customer
from customers.selectors import customer_search
from customers.services import customer_create, customer_update
from feedback.models import FeedbackResponse, FollowUp, FollowUpNote, SurveyInvitation, SurveyRule
from feedback.services import feedback_record, follow_up_act, invitations_send_due, survey_answer
from interactions.models import CheckIn, Interaction
from interactions.services import interaction_delete, interaction_log
from tests.api.conftest import ALL_SCOPES, KeyClient
from tests.conftest import Chain
from tests.factories import CustomerFactory

NAME = "Ada Lovelace"
EMAIL = "ada.lovelace@example.com"
PHONE = "+44 20 7946 0018"
OLD_PHONE = "+44 20 7946 0999"
NOTES = "Prefers the quiet desk; hearing aid"
VISIT_NOTES = {"n-a": "asked about her divorce papers", "s-a": "mortgage arrears call"}
CHAT_NOTES = "chat about a medical bill"
SURVEY_COMMENT = "the clerk laughed at my accent"
KIOSK_COMMENT = "queue smelled of smoke"
FOLLOW_UP_TEXT = "called back, she is moving to Leeds"
# What must not survive an erasure anywhere (phones are stored as digits).
SECRETS = [
    "Ada",
    "Lovelace",
    "ada.lovelace",
    "79460018",
    "79460999",
    "hearing aid",
    "C-1001",
    *VISIT_NOTES.values(),
    CHAT_NOTES,
    SURVEY_COMMENT,
    KIOSK_COMMENT,
    FOLLOW_UP_TEXT,
]
ADMIN_KEY = ["admin"]
EXPORTED, ERASED = "exported (GDPR)", "erased (GDPR)"


@dataclass
class Person:
    customer: Customer
    interactions: dict[str, Interaction]  # by branch code
    subscription: WebhookSubscription


@pytest.fixture
def person(chain: Chain) -> Person:
    """A customer with a history, touchpoints at three branches (one deleted), a survey
    answered with a comment, kiosk feedback, a follow-up note, and a webhook subscriber
    that has been told about all of it."""
    SurveyRule.objects.all().delete()
    SurveyRule.objects.create(
        name="every visit",
        channels=["in_person"],
        outcomes=["resolved", "follow_up", "escalated"],
        delay_minutes=60,
        sampling_rate=1.0,
        min_days_between=30,
        expiry_days=7,
    )
    mirror = integration_create(name="crm mirror", scopes=["customers:read", "interactions:read"])
    subscription = WebhookSubscription.objects.create(
        integration=mirror, url="http://127.0.0.1:9/hook", events=list(Event.values)
    )
    customer = customer_create(
        actor=chain.agent,
        name=NAME,
        email=EMAIL,
        phone=OLD_PHONE,
        notes=NOTES,
        tags=["vip", "hearing aid"],
        source="pos",
        external_id="C-1001",
        consent_surveys=True,
        language="en",
    )
    customer = customer_update(actor=chain.agent, customer=customer, data={"phone": PHONE})
    now = timezone.now()
    visits = {
        "n-a": interaction_log(
            actor=chain.agent,
            customer=customer,
            branch=chain.north_a,
            channel="in_person",
            outcome="resolved",
            occurred_at=now - timedelta(hours=3),
            wait_seconds=40,
            handle_seconds=300,
            notes=VISIT_NOTES["n-a"],
        ),
        "s-a": interaction_log(
            actor=chain.south_agent,
            customer=customer,
            branch=chain.south_a,
            channel="phone",
            outcome="escalated",
            occurred_at=now - timedelta(hours=5),
            wait_seconds=200,
            handle_seconds=90,
            is_complaint=True,
            notes=VISIT_NOTES["s-a"],
        ),
        "n-b": interaction_log(
            actor=chain.manager,
            customer=customer,
            branch=chain.north_b,
            channel="chat",
            outcome="resolved",
            occurred_at=now - timedelta(hours=7),
            wait_seconds=10,
            handle_seconds=100,
            notes=CHAT_NOTES,
        ),
    }
    interaction_delete(actor=chain.manager, interaction=visits["n-b"])
    invitations_send_due()
    invitation = SurveyInvitation.objects.get(customer=customer)
    survey_answer(invitation=invitation, nps=2, csat=2, comment=SURVEY_COMMENT)
    feedback_record(
        actor=chain.admin,
        interaction=visits["s-a"],
        csat=4,
        comment=KIOSK_COMMENT,
        source="kiosk",
        external_id="k-1",
    )
    follow_up_act(
        actor=chain.admin,
        follow_up=FollowUp.objects.get(interaction=visits["n-a"]),
        action="note",
        text=FOLLOW_UP_TEXT,
    )
    CustomerFactory.create(name="Ada Byron", email="byron@example.com")  # a namesake stays
    for interaction in visits.values():
        interaction.refresh_from_db()
    customer.refresh_from_db()
    return Person(customer=customer, interactions=visits, subscription=subscription)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_api(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def history(customer: Customer) -> list[dict[str, Any]]:
    from common.audit import history_entries

    return history_entries(Customer.history.filter(id=customer.pk))


def assert_nothing_erased(person: Person) -> None:
    customer = Customer.objects.get(pk=person.customer.pk)
    assert (customer.name, customer.email, customer.erased_at) == (NAME, EMAIL, None)
    assert customer.deleted_at is None
    assert Interaction.objects.get(pk=person.interactions["n-a"].pk).notes == VISIT_NOTES["n-a"]
    assert not WebhookEvent.objects.filter(event_type="customer.erased").exists()
    assert ERASED not in [e["action"] for e in history(customer)]


def found_by(chain: Chain, query: str) -> list[int]:
    return [c.pk for c in customer_search(actor=chain.agent, query=query)]


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


# --- export -------------------------------------------------------------------------------


def assert_complete_export(data: dict[str, Any], person: Person) -> None:
    profile = data["customer"]
    assert profile["id"] == person.customer.pk
    assert (profile["name"], profile["email"], profile["phone"]) == (NAME, EMAIL, "+442079460018")
    assert profile["notes"] == NOTES
    assert profile["tags"] == ["vip", "hearing aid"]
    assert (profile["source"], profile["external_id"]) == ("pos", "C-1001")
    by_branch = {i["branch"]: i for i in data["interactions"]}
    assert set(by_branch) == {"n-a", "s-a", "n-b"}  # every branch, the deleted one too
    assert {i["id"] for i in data["interactions"]} == {i.pk for i in person.interactions.values()}
    assert by_branch["n-a"]["notes"] == VISIT_NOTES["n-a"]
    assert by_branch["n-a"]["feedback_comment"] == SURVEY_COMMENT
    assert by_branch["s-a"]["notes"] == VISIT_NOTES["s-a"]
    assert by_branch["s-a"]["feedback_comment"] == KIOSK_COMMENT
    assert by_branch["n-b"]["notes"] == CHAT_NOTES
    assert by_branch["n-b"]["deleted_at"] is not None
    assert {(f["interaction"], f["comment"]) for f in data["feedback"]} == {
        (person.interactions["n-a"].pk, SURVEY_COMMENT),
        (person.interactions["s-a"].pk, KIOSK_COMMENT),
    }
    assert [s["interaction"] for s in data["survey_invitations"]] == [person.interactions["n-a"].pk]
    assert data["survey_invitations"][0]["status"] == "responded"
    actions = [entry["action"] for entry in data["profile_history"]]
    assert actions[-1] == "created"
    assert "changed" in actions
    phone_change = next(e for e in data["profile_history"] if "phone" in e["changes"])
    assert phone_change["changes"]["phone"] == ["+442079460999", "+442079460018"]


def test_api_export_holds_everything_and_is_recorded(person: Person, key_client: KeyClient) -> None:
    api = key_client(ADMIN_KEY)
    response = api.get(f"/api/v1/customers/{person.customer.pk}/export/")
    assert response.status_code == 200, response.content
    assert_complete_export(response.json(), person)

    entries = api.get(f"/api/v1/customers/{person.customer.pk}/history/").json()
    assert entries[0]["action"] == EXPORTED
    assert entries[0]["via"] == "api"
    assert entries[0]["integration"] == api.integration.name  # type: ignore[attr-defined]
    assert entries[0]["user"] is None
    # Exporting reads: the profile itself is unchanged.
    assert Customer.objects.get(pk=person.customer.pk).name == NAME


def test_command_export_writes_the_file_and_is_recorded(
    chain: Chain, person: Person, tmp_path: Path
) -> None:
    output = tmp_path / "ada.json"
    call_command(
        "gdpr", "export", str(person.customer.pk), "--by", chain.admin.username, "--output",
        str(output),
    )  # fmt: skip
    assert_complete_export(json.loads(output.read_text(encoding="utf-8")), person)
    latest = history(person.customer)[0]
    assert (latest["action"], latest["via"], latest["user"]) == (
        EXPORTED,
        "command",
        chain.admin.username,
    )


def test_admin_export_action_downloads_the_json(chain: Chain, person: Person) -> None:
    response = signed_in(chain.admin).post(
        reverse("admin:customers_customer_changelist"),
        {"action": "export_gdpr", "_selected_action": [person.customer.pk]},
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert_complete_export(json.loads(response.content), person)
    latest = history(person.customer)[0]
    assert (latest["action"], latest["via"], latest["user"]) == (
        EXPORTED,
        "admin",
        chain.admin.username,
    )


@pytest.mark.parametrize(
    "who", ["agent session", "manager session", "key without admin", "admin key with branches"]
)
def test_export_and_erase_are_refused_to_everyone_but_hq(
    chain: Chain, person: Person, key_client: KeyClient, who: str
) -> None:
    client = {
        "agent session": lambda: session_api(chain.agent),
        "manager session": lambda: session_api(chain.manager),
        "key without admin": lambda: key_client(ALL_SCOPES),
        "admin key with branches": lambda: key_client([*ALL_SCOPES, "admin"], branches=["n-a"]),
    }[who]()
    pk = person.customer.pk
    before = len(history(person.customer))
    export = client.get(f"/api/v1/customers/{pk}/export/")
    assert export.status_code == 403
    assert NAME not in export.content.decode()
    assert client.post(f"/api/v1/customers/{pk}/erase/").status_code == 403
    assert client.get(f"/api/v1/customers/{pk}/history/").status_code == 403
    assert_nothing_erased(person)
    assert len(history(person.customer)) == before  # a refused export records nothing
    # The same request from an HQ admin's session goes through.
    assert session_api(chain.admin).get(f"/api/v1/customers/{pk}/export/").status_code == 200


def test_the_services_refuse_by_themselves(chain: Chain, person: Person) -> None:
    """Not only the API views: the services check the caller too (the admin, the command
    and any future caller go through them)."""
    without_admin = integration_create(name="no admin", scopes=ALL_SCOPES).principal()
    limited = integration_create(name="limited", scopes=["admin"], branch_codes=["n-a"]).principal()
    for actor in (without_admin, limited, chain.manager, chain.regional, None):
        with pytest.raises(PermissionDenied):
            customer_export(actor=actor, customer=person.customer)
        with pytest.raises(PermissionDenied):
            customer_erase(actor=actor, customer=person.customer)
    assert_nothing_erased(person)
    assert EXPORTED not in [e["action"] for e in history(person.customer)]
    hq_key = integration_create(name="hq", scopes=["admin"]).principal()
    assert customer_export(actor=hq_key, customer=person.customer)["customer"]["name"] == NAME


def test_unknown_customer_is_404(chain: Chain, key_client: KeyClient) -> None:
    api = key_client(ADMIN_KEY)
    assert api.get("/api/v1/customers/999999/export/").status_code == 404
    assert api.post("/api/v1/customers/999999/erase/").status_code == 404
    with pytest.raises(CommandError, match="No customer"):
        call_command("gdpr", "export", "999999", "--by", chain.admin.username)


# --- erase --------------------------------------------------------------------------------


def statistics() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    consistency_recompute()
    rollups = list(
        Rollup.objects.order_by("branch_id", "kind", "period_start", "channel").values_list(
            *[f.attname for f in Rollup._meta.concrete_fields if f.name != "id"]
        )
    )
    flags = list(
        Flag.objects.order_by("branch_id", "metric", "channel", "period_start", "test").values_list(
            "branch_id", "metric", "channel", "period_start", "test", "status", "x", "n"
        )
    )
    return rollups, flags


METRICS = [
    "id", "branch_id", "channel", "occurred_at", "wait_seconds", "handle_seconds", "outcome",
    "is_complaint", "csat", "nps", "deleted_at", "customer_id",
]  # fmt: skip


def test_api_erasure_anonymises_everywhere_and_keeps_the_statistics(
    chain: Chain, person: Person, key_client: KeyClient
) -> None:
    customer = person.customer
    reader = key_client(["customers:read", "customers:write"])
    assert customer.pk in found_by(chain, "Lovelace")
    assert any(
        r["id"] == customer.pk
        for r in reader.get("/api/v1/customers/?q=Lovelace").json()["results"]
    )
    stats_before = statistics()
    assert stats_before[0], "the rollups must hold the customer's contacts"
    interactions_before = list(Interaction.objects.filter(customer=customer).values(*METRICS))
    assert len(interactions_before) == 3
    older_events = list(WebhookEvent.objects.values_list("pk", flat=True))
    assert leaks(json.dumps(list(WebhookEvent.objects.values_list("payload", flat=True))))

    api = key_client(ADMIN_KEY)
    response = api.post(f"/api/v1/customers/{customer.pk}/erase/")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == erased_name(customer.pk)

    # The record: nothing personal left, nothing that links it to another system.
    customer.refresh_from_db()
    assert customer.name == erased_name(customer.pk)
    assert (customer.email, customer.phone, customer.notes, customer.tags) == ("", "", "", [])
    assert (customer.source, customer.external_id) == ("", "")
    assert customer.erased_at is not None
    assert customer.deleted_at is not None
    assert not leaks(
        json.dumps(list(Customer.history.filter(id=customer.pk).values()), default=str)
    )

    # The service record stays, counted the same; its free text is gone, in history too.
    assert list(Interaction.objects.filter(customer=customer).values(*METRICS)) == (
        interactions_before
    )
    ids = [i.pk for i in person.interactions.values()]
    assert set(Interaction.objects.filter(pk__in=ids).values_list("notes", "feedback_comment")) == {
        ("", "")
    }
    interaction_history = list(
        Interaction.history.filter(id__in=ids).values("notes", "feedback_comment")
    )
    assert interaction_history
    assert not leaks(json.dumps(interaction_history))
    comments = FeedbackResponse.objects.filter(interaction_id__in=ids).values_list("comment")
    assert set(comments) == {("",)}
    assert not leaks(json.dumps(list(FollowUpNote.objects.values_list("text", flat=True))))
    assert statistics() == stats_before

    # Search no longer finds them, by any of the old handles; the namesake still shows.
    for query in ["Lovelace", EMAIL, PHONE, "7946 0018"]:
        assert customer.pk not in found_by(chain, query), query
        found = reader.get("/api/v1/customers/", {"q": query}).json()["results"]
        assert customer.pk not in [r["id"] for r in found], query
    assert found_by(chain, "Ada")

    # Integrations hear about it, and the copies they were sent before lose the person.
    erased_event = WebhookEvent.objects.get(event_type="customer.erased")
    assert erased_event.payload["data"]["id"] == customer.pk
    assert WebhookDelivery.objects.filter(
        event=erased_event, subscription=person.subscription
    ).exists()
    old = WebhookEvent.objects.filter(pk__in=older_events)
    assert {e.split(".")[0] for e in old.values_list("event_type", flat=True)} >= {
        "customer",
        "interaction",
        "feedback",
    }
    assert not leaks(json.dumps(list(old.values_list("payload", flat=True))))

    # The old (source, external_id) now makes a new customer, not the erased one again.
    assert reader.get("/api/v1/customers/by-external-id/pos/C-1001/").status_code == 404
    upsert = reader.put(
        "/api/v1/customers/by-external-id/pos/C-1001/", {"name": "New Person"}, format="json"
    )
    assert upsert.status_code == 201, upsert.content
    assert upsert.json()["id"] != customer.pk
    customer.refresh_from_db()
    assert customer.name == erased_name(customer.pk)
    assert customer.external_id == ""

    # Recorded, by the key; and once is all.
    entries = api.get(f"/api/v1/customers/{customer.pk}/history/").json()
    assert (entries[0]["action"], entries[0]["via"], entries[0]["integration"]) == (
        ERASED,
        "api",
        api.integration.name,  # type: ignore[attr-defined]
    )
    again = api.post(f"/api/v1/customers/{customer.pk}/erase/")
    assert again.status_code == 400
    assert "already" in again.content.decode()
    assert WebhookEvent.objects.filter(event_type="customer.erased").count() == 1


def test_export_after_erasure_holds_nothing_personal(person: Person, key_client: KeyClient) -> None:
    api = key_client(ADMIN_KEY)
    assert api.post(f"/api/v1/customers/{person.customer.pk}/erase/").status_code == 200
    data = api.get(f"/api/v1/customers/{person.customer.pk}/export/").json()
    assert len(data["interactions"]) == 3
    assert not leaks(json.dumps(data))


def test_a_walk_in_ticket_naming_the_customer_is_exported_then_blanked(
    chain: Chain, person: Person
) -> None:
    CheckIn.objects.create(
        branch=chain.north_a, customer=person.customer, label=f"{NAME} at desk 2",
        arrived_at=timezone.now(),
    )  # fmt: skip
    data = customer_export(actor=chain.admin, customer=person.customer)
    assert data["walk_ins"][0]["label"] == f"{NAME} at desk 2"
    customer_erase(actor=chain.admin, customer=person.customer)
    assert CheckIn.objects.get(customer=person.customer).label == ""


def test_command_erase_needs_yes_and_an_hq_admin(
    chain: Chain, person: Person, capsys: pytest.CaptureFixture[str]
) -> None:
    pk = str(person.customer.pk)
    with pytest.raises(CommandError, match="--yes"):
        call_command("gdpr", "erase", pk, "--by", chain.admin.username)
    assert_nothing_erased(person)
    for user in (chain.manager, chain.regional, chain.agent):
        with pytest.raises(CommandError, match="HQ admins"):
            call_command("gdpr", "erase", pk, "--by", user.username, "--yes")
        assert_nothing_erased(person)
    with pytest.raises(CommandError, match="HQ admins"):
        call_command("gdpr", "export", pk, "--by", chain.manager.username)
    with pytest.raises(CommandError, match="No active user"):
        call_command("gdpr", "erase", pk, "--by", "nobody", "--yes")
    assert_nothing_erased(person)

    call_command("gdpr", "erase", pk, "--by", chain.admin.username, "--yes")
    assert f"Erased customer #{pk}" in capsys.readouterr().out
    customer = Customer.objects.get(pk=pk)
    assert customer.erased_at is not None
    assert customer.email == ""
    latest = history(customer)[0]
    assert (latest["action"], latest["via"], latest["user"]) == (
        ERASED,
        "command",
        chain.admin.username,
    )

    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(
            ["manage.py", "gdpr", "erase", pk, "--by", chain.admin.username, "--yes"]
        )
    assert exit_.value.code not in (0, None)
    assert "already been erased" in capsys.readouterr().err


def test_admin_erase_asks_first_then_erases(chain: Chain, person: Person) -> None:
    client = signed_in(chain.admin)
    url = reverse("admin:customers_customer_changelist")
    chosen = {"action": "erase_gdpr", "_selected_action": [person.customer.pk]}
    form = client.get(url).context["action_form"]  # None when no action is offered at all
    actions = dict(form.fields["action"].choices) if form is not None else {}
    assert "erase_gdpr" in actions
    assert "export_gdpr" in actions

    first = client.post(url, chosen)
    assert first.status_code == 200
    assert "admin/customers/erase_confirmation.html" in [t.name for t in first.templates]
    assert NAME in first.content.decode()
    assert_nothing_erased(person)

    confirmed = client.post(url, {**chosen, "confirm": "yes"})
    assert confirmed.status_code == 302
    customer = Customer.objects.get(pk=person.customer.pk)
    assert customer.name == erased_name(customer.pk)
    assert customer.erased_at is not None
    latest = history(customer)[0]
    assert (latest["action"], latest["via"], latest["user"]) == (
        ERASED,
        "admin",
        chain.admin.username,
    )


@pytest.mark.parametrize("role", ["agent", "manager", "regional"])
def test_admin_erase_is_not_for_branch_staff(chain: Chain, person: Person, role: str) -> None:
    client = signed_in(getattr(chain, role))
    url = reverse("admin:customers_customer_changelist")
    assert client.get(url).status_code == 200  # they may browse customers ...
    response = client.post(
        url, {"action": "erase_gdpr", "_selected_action": [person.customer.pk], "confirm": "yes"}
    )
    assert response.status_code in {200, 302, 403}
    assert_nothing_erased(person)  # ... but their erasure does nothing
    exported = client.post(url, {"action": "export_gdpr", "_selected_action": [person.customer.pk]})
    assert "attachment" not in exported.get("Content-Disposition", "")
    assert EXPORTED not in [e["action"] for e in history(person.customer)]


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_admin_gdpr_actions_are_offered_to_hq_admins_only(
    chain: Chain, person: Person, role: str
) -> None:
    client = signed_in(getattr(chain, role))
    url = reverse("admin:customers_customer_changelist")
    form = client.get(url).context["action_form"]  # None when no action is offered at all
    actions = dict(form.fields["action"].choices) if form is not None else {}
    assert "erase_gdpr" not in actions
    assert "export_gdpr" not in actions
    first = client.post(url, {"action": "erase_gdpr", "_selected_action": [person.customer.pk]})
    assert "admin/customers/erase_confirmation.html" not in [t.name for t in first.templates]
