"""Audit history: who changed a customer, an interaction, a flag or the standard, when and
from where (web UI, API key, admin, import), on the pages, in the admin and in the API."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from branches.models import Role
from common.audit import Origin, audit_context
from consistency.models import Standard
from crm.services import api_key_create, integration_create
from customers.models import Customer
from interactions.models import Interaction
from tests.conftest import Chain
from tests.consistency.test_admin_and_lifecycle import case_at
from tests.factories import CustomerFactory, InteractionFactory, UserFactory

ALL = [
    "customers:read",
    "customers:write",
    "interactions:read",
    "interactions:write",
    "analytics:read",
    "admin",
]


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def key_client(name: str, scopes: list[str] = ALL, branches: tuple[str, ...] = ()) -> APIClient:
    integration = integration_create(name=name, scopes=scopes, branch_codes=branches)
    _, key = api_key_create(integration=integration)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def history(client: Client | APIClient, name: str, pk: int) -> list[dict[str, object]]:
    response = client.get(reverse(name, args=[pk]))
    assert response.status_code == 200, response.content
    return response.json()


def test_a_change_in_the_web_ui_names_the_staff_member_and_the_address(chain: Chain) -> None:
    client = signed_in(chain.agent)
    client.post(reverse("customer-create"), {"name": "Dewi", "email": "dewi@example.com"})
    customer = Customer.objects.get()
    client.post(
        reverse("customer-edit", args=[customer.pk]),
        {"name": "Dewi Lestari", "email": "dewi@example.com"},
        REMOTE_ADDR="10.1.2.3",
    )
    latest = customer.history.order_by("-history_id").first()
    assert (latest.changed_via, latest.history_user, latest.changed_from) == (
        Origin.UI,
        chain.agent,
        "10.1.2.3",
    )
    page = signed_in(chain.agent).get(reverse("customer-page", args=[customer.pk]))
    assert "web UI · 10.1.2.3 · changed: name" in page.text

    entries = history(signed_in(chain.admin), "customer-history", customer.pk)
    assert entries[0]["changes"] == {"name": ["Dewi", "Dewi Lestari"]}
    assert entries[0]["user"] == chain.agent.username
    assert entries[0]["via"] == "ui"
    assert entries[1]["action"] == "created"


def test_api_writes_single_and_bulk_name_the_integration(chain: Chain) -> None:
    api = key_client("till sync")
    created = api.post(
        reverse("customer-list"),
        {"name": "Ayu", "source": "till", "external_id": "c-1"},
        format="json",
    ).json()
    bulk = api.post(
        reverse("customer-bulk"),
        {
            "items": [
                {"source": "till", "external_id": "c-1", "name": "Ayu Rahma"},  # updated
                {"source": "till", "external_id": "c-2", "name": "Budi"},  # created
                {"source": "till", "external_id": "c-1", "name": "Ayu Rahma"},  # repeated
            ]
        },
        format="json",
    )
    assert bulk.status_code == 200, bulk.content
    entries = history(api, "customer-history", created["id"])
    assert [e["action"] for e in entries] == ["changed", "created"]
    assert all(e["via"] == "api" and e["integration"] == "till sync" for e in entries)
    assert entries[0]["changes"] == {"name": ["Ayu", "Ayu Rahma"]}
    assert entries[0]["user"] is None
    budi = Customer.objects.get(external_id="c-2")
    assert budi.history.get().changed_by_integration == "till sync"


def test_an_import_is_recorded_as_an_import(chain: Chain, tmp_path: Path) -> None:
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("name,email,source,external_id\nSari,sari@example.com,crm-old,9\n")
    call_command("import_csv", "customers", str(csv_file), verbosity=0, stdout=StringIO())
    record = Customer.objects.get(external_id="9").history.get()
    assert record.changed_via == Origin.IMPORT


def test_interaction_changes_are_recorded_within_the_branches_the_reader_sees(
    chain: Chain,
) -> None:
    interaction = InteractionFactory.create(branch=chain.north_a, topic="loan")
    api = key_client("till sync")
    response = api.patch(
        reverse("interaction-detail", args=[interaction.pk]), {"topic": "mortgage"}, format="json"
    )
    assert response.status_code == 200, response.content
    entries = history(api, "interaction-history", interaction.pk)
    assert entries[0]["changes"] == {"topic": ["loan", "mortgage"]}
    assert entries[0]["integration"] == "till sync"
    # Branch managers and non-admin keys cannot read the audit; admin keys limited to some
    # branches neither: the history is HQ's.
    manager = signed_in(chain.manager)
    assert manager.get(reverse("interaction-history", args=[interaction.pk])).status_code == 403
    reader = key_client("reader", scopes=["interactions:read"])
    assert reader.get(reverse("interaction-history", args=[interaction.pk])).status_code == 403
    limited = key_client("south only", branches=(chain.south_a.code,))
    assert limited.get(reverse("interaction-history", args=[interaction.pk])).status_code == 403


def test_case_steps_are_stamped_and_shown_on_the_case_page(chain: Chain) -> None:
    case = case_at(chain.north_a)
    regional = signed_in(chain.regional)
    response = regional.post(
        reverse("case-action", args=[case.pk, "acknowledge"]),
        {"note": "Looking into it"},
        REMOTE_ADDR="10.9.9.9",
    )
    assert response.status_code == 302
    event = case.events.get()
    assert (event.changed_via, event.changed_from, event.actor) == (
        Origin.UI,
        "10.9.9.9",
        chain.regional,
    )
    page = regional.get(reverse("case-page", args=[case.pk]))
    assert "web UI · 10.9.9.9 · acknowledge (open → acknowledged)" in page.text
    csv = regional.get(reverse("case-page", args=[case.pk]), {"format": "csv", "table": "history"})
    assert "web UI · 10.9.9.9" in csv.getvalue().decode()
    entries = history(key_client("hq audit"), "case-history", case.pk)
    assert entries[0]["changes"] == {"status": ["open", "acknowledged"]}
    assert entries[0]["note"] == "Looking into it"


def test_changes_to_the_standard_are_recorded_with_its_targets(chain: Chain) -> None:
    standard = Standard.objects.get()
    target = standard.targets.get(metric="complaint_rate", channel="all")
    old = target.target
    with audit_context(Origin.ADMIN, address="10.0.0.7", user=chain.admin):
        target.target = 0.05
        target.save()
    entries = history(signed_in(chain.admin), "standard-history", standard.pk)
    changed = entries[0]
    assert changed["action"] == "target complaint_rate/all changed"
    assert changed["changes"] == {"target": [old, 0.05]}
    assert (changed["user"], changed["via"], changed["address"]) == (
        chain.admin.username,
        "admin",
        "10.0.0.7",
    )


def test_the_admin_history_page_shows_the_audit_within_reach(chain: Chain) -> None:
    customer = CustomerFactory.create(name="Rina")
    with audit_context(Origin.UI, user=chain.agent):
        customer.name = "Rina Wati"
        customer.save()
    admin = signed_in(chain.admin)
    page = admin.get(reverse("admin:customers_customer_history", args=[customer.pk]))
    assert page.status_code == 200
    assert "Rina → Rina Wati" in page.text
    assert chain.agent.username in page.text

    south = InteractionFactory.create(branch=chain.south_a, topic="south-secret")
    with audit_context(Origin.UI, user=chain.south_agent):
        south.topic = "south-secret-2"
        south.save()
    # A branch manager of the north opens the admin, but not the south's history.
    manager = signed_in(UserFactory.create(role=Role.BRANCH_MANAGER, branches=[chain.north_a]))
    foreign = manager.get(reverse("admin:interactions_interaction_history", args=[south.pk]))
    assert "south-secret" not in foreign.text
    assert foreign.status_code in {302, 403, 404}
    assert Interaction.history.filter(id=south.pk).count() == 2


@pytest.mark.parametrize("scopes", [["customers:read"], ALL])
def test_only_admin_keys_read_customer_history(chain: Chain, scopes: list[str]) -> None:
    customer = CustomerFactory.create()
    response = key_client("k", scopes=scopes).get(reverse("customer-history", args=[customer.pk]))
    assert response.status_code == (200 if "admin" in scopes else 403)
