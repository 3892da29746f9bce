"""The counter: logging a touchpoint in one form, walk-ins timed by the queue."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from consistency import tasks
from consistency.models import Rollup
from customers.models import Customer
from interactions.models import CheckIn, Interaction
from tests.conftest import Chain
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def agent_client(chain: Chain) -> Client:
    client = Client()
    client.force_login(chain.agent)
    return client


def log_form(chain: Chain, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "branch": chain.north_a.pk,
        "channel": "phone",
        "customer": "",
        "direction": "inbound",
        "wait_seconds": "25",
        "handle_seconds": "200",
        "outcome": "resolved",
        "topic": "Card blocked",
        "notes": "",
    }
    data.update(changes)
    return data


def test_a_logged_call_is_saved_and_the_form_comes_back_empty(chain: Chain) -> None:
    client = agent_client(chain)
    customer = CustomerFactory.create(name="Rina Wijaya")
    response = client.post(
        "/log/", log_form(chain, customer=str(customer.pk), is_complaint="on"), follow=True
    )
    assert response.status_code == 200
    assert "Logged: phone with Rina Wijaya at n-a" in response.text
    assert 'value="Card blocked"' not in response.text  # a fresh, empty form
    interaction = Interaction.objects.get()
    assert (interaction.branch, interaction.customer, interaction.staff) == (
        chain.north_a, customer, chain.agent,
    )  # fmt: skip
    assert (interaction.wait_seconds, interaction.handle_seconds) == (25, 200)
    assert interaction.is_complaint
    assert interaction.topic == "Card blocked"


def test_errors_show_next_to_the_field_and_keep_what_was_typed(chain: Chain) -> None:
    client = agent_client(chain)
    response = client.post(
        "/log/", log_form(chain, wait_seconds="-5", channel="", topic="Mortgage question")
    )
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in response.text
    assert "This field is required." in response.text  # the channel
    assert 'value="Mortgage question"' in response.text
    assert not Interaction.objects.exists()


def test_a_model_rule_comes_back_as_a_field_error(chain: Chain) -> None:
    response = agent_client(chain).post(
        "/log/", log_form(chain, channel="email", outcome="abandoned", handle_seconds="")
    )
    assert response.status_code == 400
    assert "An e-mail cannot be abandoned." in response.text
    assert not Interaction.objects.exists()


def test_a_new_customer_is_created_with_the_interaction_or_not_at_all(chain: Chain) -> None:
    client = agent_client(chain)
    bad = client.post(
        "/log/", log_form(chain, customer="new", new_name="Budi", new_email="not-an-address")
    )
    assert bad.status_code == 400
    assert "Enter a valid email address." in bad.text
    assert not Customer.objects.exists()
    assert not Interaction.objects.exists()

    missing = client.post("/log/", log_form(chain, customer="new", new_name=" "))
    assert "Give the new customer&#x27;s name." in missing.text

    client.post(
        "/log/", log_form(chain, customer="new", new_name="Budi Santoso", new_phone="0812 555 0101")
    )
    customer = Customer.objects.get()
    assert (customer.name, customer.phone, customer.home_branch) == (
        "Budi Santoso", "08125550101", chain.north_a,
    )  # fmt: skip
    assert Interaction.objects.get().customer == customer


def test_an_agent_cannot_log_at_another_branch(chain: Chain) -> None:
    response = agent_client(chain).post("/log/", log_form(chain, branch=chain.south_a.pk))
    assert response.status_code == 400
    assert "Select a valid choice." in response.text
    assert not Interaction.objects.exists()


def test_a_time_typed_in_is_the_branch_local_time(chain: Chain) -> None:
    agent_client(chain).post("/log/", log_form(chain, occurred_at="2026-06-01T09:30"))
    started = Interaction.objects.get().occurred_at
    assert started.astimezone(chain.north_a.tzinfo).strftime("%Y-%m-%d %H:%M") == "2026-06-01 09:30"


def test_customer_search_offers_matches_to_pick(chain: Chain) -> None:
    CustomerFactory.create(name="Siti Rahma", email="siti@example.com", phone="+6281234567")
    CustomerFactory.create(name="Someone Else", email="else@example.com")
    picks = agent_client(chain).get("/customers/", {"q": "1234", "pick": "1"})
    assert 'name="customer"' in picks.text
    assert "Siti Rahma" in picks.text
    assert "Someone Else" not in picks.text


def test_a_walk_in_is_timed_from_arrival_to_greeting_to_done(chain: Chain) -> None:
    client = agent_client(chain)
    customer = CustomerFactory.create(name="Ayu")
    client.post(
        "/walk-ins/?branch=n-a",
        {
            "branch": chain.north_a.pk,
            "label": "",
            "customer": customer.pk,
            "topic": "Cash a cheque",
        },
    )
    check_in = CheckIn.objects.get()
    # The customer waited 95 s before anyone greeted them.
    CheckIn.objects.filter(pk=check_in.pk).update(arrived_at=timezone.now() - timedelta(seconds=95))
    page = client.post(f"/walk-ins/{check_in.pk}/greet/", follow=True)
    assert "Ayu greeted" in page.text
    # ... and was then served for four minutes.
    greeted = CheckIn.objects.get(pk=check_in.pk).greeted_at
    assert greeted is not None
    CheckIn.objects.filter(pk=check_in.pk).update(
        arrived_at=greeted - timedelta(seconds=335), greeted_at=greeted - timedelta(seconds=240)
    )
    done = client.post(
        f"/walk-ins/{check_in.pk}/finish/",
        {"outcome": "resolved", "topic": "Cash a cheque"},
        follow=True,
    )
    interaction = Interaction.objects.get()
    assert (interaction.channel, interaction.customer, interaction.outcome) == (
        "in_person", customer, "resolved",
    )  # fmt: skip
    assert interaction.wait_seconds is not None
    assert interaction.handle_seconds is not None
    assert 94 <= interaction.wait_seconds <= 96
    assert 239 <= interaction.handle_seconds <= 242
    assert f"waited {interaction.wait_seconds} s" in done.text
    assert "Nobody is waiting." in done.text
    assert "Nobody is being served." in done.text


def test_a_walk_out_is_an_abandoned_contact_and_double_clicks_do_no_harm(chain: Chain) -> None:
    client = agent_client(chain)
    client.post("/walk-ins/", {"branch": chain.north_a.pk, "label": "Ticket 12"})
    check_in = CheckIn.objects.get()
    client.post(f"/walk-ins/{check_in.pk}/walk-out/")
    again = client.post(f"/walk-ins/{check_in.pk}/greet/", follow=True)
    assert "already been finished" in again.text
    interaction = Interaction.objects.get()
    assert interaction.outcome == "abandoned"
    assert interaction.handle_seconds is None
    assert interaction.wait_seconds is not None


def test_finishing_before_greeting_is_refused(chain: Chain) -> None:
    client = agent_client(chain)
    client.post("/walk-ins/", {"branch": chain.north_a.pk, "label": "Ticket 7"})
    check_in = CheckIn.objects.get()
    page = client.post(f"/walk-ins/{check_in.pk}/finish/", {"outcome": "resolved"}, follow=True)
    assert "Greet the customer first" in page.text
    assert not Interaction.objects.exists()


def test_editing_a_customer_is_recorded_in_their_history(chain: Chain) -> None:
    client = agent_client(chain)
    client.post("/customers/new/", {"name": "Dewi", "email": "dewi@example.com"})
    customer = Customer.objects.get()
    client.post(
        f"/customers/{customer.pk}/edit/",
        {"name": "Dewi Lestari", "email": "dewi@example.com", "tags": "vip, mortgage"},
    )
    customer.refresh_from_db()
    assert customer.tags == ["vip", "mortgage"]
    page = client.get(f"/customers/{customer.pk}/")
    assert "changed: name, tags" in page.text
    assert page.text.count(chain.agent.username) >= 2  # created and changed by the agent
    bad = client.post(f"/customers/{customer.pk}/edit/", {"name": "", "phone": "12"})
    assert bad.status_code == 400
    assert "This field is required." in bad.text


def test_in_the_demo_a_logged_interaction_is_counted_at_once(
    chain: Chain,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.CONSISTENCY_RECOMPUTE_AFTER_WRITE = True
    # Run the task here even when the suite has a broker (the demo runs it in-process).
    task = tasks.dirty_days_recompute
    monkeypatch.setattr(task, "apply_async", lambda args=(), **_: task.apply(args=args))
    with django_capture_on_commit_callbacks(execute=True):
        agent_client(chain).post("/log/", log_form(chain, is_complaint="on"))
    week = Rollup.objects.get(branch=chain.north_a, kind="week", channel="all")
    assert (week.contacts, week.complaints) == (1, 1)


def test_the_customer_page_links_to_the_log_form_with_the_customer_picked(chain: Chain) -> None:
    customer = CustomerFactory.create(name="Kartika Sari", phone="+6281234567890")
    client = agent_client(chain)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert f'href="/log/?customer={customer.pk}"' in page
    form = client.get(f"/log/?customer={customer.pk}").content.decode()
    assert f'value="{customer.pk}" checked' in form
    assert 'value="" checked' not in form  # not also "no customer"
    unknown = client.get("/log/?customer=999999").content.decode()
    assert 'value="" checked' in unknown


def queue_card(page: str, label: str) -> str:
    """The queue card (waiting or being served) of the walk-in with this ticket label."""
    cards = re.findall(r'<div class="card[^"]*">(.*?)</form>', page, re.DOTALL)
    matching = [card for card in cards if label in card]
    assert len(matching) == 1, f"no single card for {label}"
    return matching[0]


def test_the_walk_in_queue_names_each_customer_next_to_their_ticket(chain: Chain) -> None:
    client = agent_client(chain)
    customer = CustomerFactory.create(name="Ayu Lestari")
    for label, customer_pk in (("Ticket 7", customer.pk), ("Ticket 8", "")):
        client.post(
            "/walk-ins/?branch=n-a",
            {"branch": chain.north_a.pk, "label": label, "customer": customer_pk, "topic": ""},
        )
    page = client.get("/walk-ins/?branch=n-a").text
    assert "Ayu Lestari" in queue_card(page, "Ticket 7")
    assert "Anonymous" in queue_card(page, "Ticket 8")

    client.post(f"/walk-ins/{CheckIn.objects.get(label='Ticket 7').pk}/greet/")
    serving = client.get("/walk-ins/?branch=n-a").text.split('id="serving-h"')[1]
    assert "Ayu Lestari" in queue_card(serving, "Ticket 7")
