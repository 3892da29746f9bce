"""The complaint pages as staff meet them: the queue (filters, sort links, pager, the CSV of
what it shows, overdue said in words), a complaint's page with the steps its status allows
(errors next to the field, closing a manager's), its owner and severity, its type picked
from the suggestions or the list, its history; the managers' home counts the overdue."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from branches.models import Branch, Role, User
from complaints.models import Area, Complaint, ComplaintEvent, ComplaintType, Status
from complaints.selectors import type_suggestions
from complaints.services import complaint_record, complaint_transition
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory, UserFactory
from tests.quality.conftest import Page, csv_rows, follow, shown, signed_in

QUEUE = "/complaints/"
LONG_AGO = datetime(2025, 11, 3, 9, tzinfo=UTC)  # a Monday: every deadline long past


@dataclass
class Desk:
    chain: Chain
    lead: User  # branch manager of n-a
    queue: ComplaintType
    wrong_amount: ComplaintType
    late: Complaint  # n-a, high, received long ago: acknowledgement overdue
    fresh: Complaint  # n-a, low, received an hour ago, not typed
    counted: Complaint  # n-b, critical, acknowledged long ago: response overdue
    closed: Complaint  # n-a, closed
    south: Complaint  # s-a: out of the north's reach


def complaint_at(branch: Branch, actor: User, when: datetime, **kwargs: Any) -> Complaint:
    call = InteractionFactory.create(
        branch=branch, occurred_at=when, is_complaint=True, customer=CustomerFactory.create()
    )
    return complaint_record(actor=actor, interaction=call, **kwargs)


def taxonomy() -> tuple[ComplaintType, ComplaintType]:
    waiting = Area.objects.create(code="waiting", name_en="Waiting", name_id="Menunggu")
    cash = Area.objects.create(code="cash", name_en="Cash", name_id="Uang tunai", position=1)
    return (
        ComplaintType.objects.create(area=waiting, code="queue-too-long", name_en="Queue too long"),
        ComplaintType.objects.create(area=cash, code="wrong-amount", name_en="Wrong amount"),
    )


@pytest.fixture
def desk(chain: Chain) -> Desk:
    queue, wrong_amount = taxonomy()
    lead = UserFactory.create(role=Role.BRANCH_MANAGER, branches=[chain.north_a])
    admin = chain.admin
    late = complaint_at(
        chain.north_a,
        admin,
        LONG_AGO,
        severity="high",
        complaint_type=queue,
        text="Antre 40 menit, cuma 1 teller",
        remedy="Minta maaf",
    )
    fresh = complaint_at(
        chain.north_a, admin, timezone.now() - timedelta(hours=1), severity="low", text="Rude"
    )
    counted = complaint_at(
        chain.north_b, admin, LONG_AGO + timedelta(days=1), severity="critical",
        complaint_type=wrong_amount, text="Uang kurang 50 ribu",
    )  # fmt: skip
    complaint_transition(actor=admin, complaint=counted, action="acknowledge")
    closed = complaint_at(chain.north_a, admin, LONG_AGO + timedelta(days=2), text="Old one")
    for action in ("acknowledge", "respond", "close"):
        complaint_transition(actor=admin, complaint=closed, action=action, response="Sorry")
    south = complaint_at(chain.south_a, admin, LONG_AGO, text="Far away")
    return Desk(chain, lead, queue, wrong_amount, late, fresh, counted, closed, south)


def references(response: Any) -> list[str]:
    """The references the queue shows, in its order."""
    body = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    return [part.split("</a>")[0].rsplit(">", 1)[1] for part in body.split("<tr>")[1:]]


# --- the queue -----------------------------------------------------------------------------


def test_the_queue_shows_open_complaints_at_ones_branches_the_overdue_said_in_words(
    desk: Desk,
) -> None:
    page = signed_in(desk.chain.regional).get(QUEUE)
    assert page.status_code == 200
    # Open ones only, by default; the next deadline first (the overdue lead).
    assert references(page) == [
        desk.late.reference,
        desk.counted.reference,
        desk.fresh.reference,
    ]
    text = shown(page)
    assert "3 complaints." in text
    rows = text.split("<tbody>")[1].split("</tr>")
    assert "overdue" in rows[0]
    assert "overdue" in rows[1]
    assert "overdue" not in rows[2]
    assert "Queue too long" in rows[0]
    assert "Waiting" in rows[0]
    assert "not typed" in rows[2]
    assert "High" in rows[0]
    assert "Critical" in rows[1]
    # Received on the branch's clock (Oslo), its zone named.
    assert "3 Nov 2025, 10:00 CET" in rows[0].replace("Nov.", "Nov")
    assert desk.south.reference not in text
    # The agent of n-a sees n-a's; the manager of n-b only n-b's.
    assert references(signed_in(desk.chain.agent).get(QUEUE)) == [
        desk.late.reference,
        desk.fresh.reference,
    ]
    assert references(signed_in(desk.chain.manager).get(QUEUE)) == [desk.counted.reference]


def test_the_filters_narrow_the_queue(desk: Desk) -> None:
    client = signed_in(desk.chain.regional)
    assert references(client.get(QUEUE, {"branch": "n-b"})) == [desk.counted.reference]
    assert references(client.get(QUEUE, {"area": "waiting"})) == [desk.late.reference]
    assert references(client.get(QUEUE, {"type": "wrong-amount"})) == [desk.counted.reference]
    assert references(client.get(QUEUE, {"type": "none"})) == [desk.fresh.reference]
    assert references(client.get(QUEUE, {"severity": "low"})) == [desk.fresh.reference]
    assert references(client.get(QUEUE, {"overdue": "on"})) == [
        desk.late.reference,
        desk.counted.reference,
    ]
    assert references(client.get(QUEUE, {"status": "closed"})) == [desk.closed.reference]
    everything = references(client.get(QUEUE, {"status": ""}))
    assert len(everything) == 4
    # A branch outside reach, or a status that does not exist, is a form error, not a list.
    for bad in ({"branch": "s-a"}, {"status": "lost"}, {"sort": "secret"}):
        response = client.get(QUEUE, bad)
        assert response.status_code == 400
        assert desk.late.reference not in response.content.decode()


def test_the_headings_sort_and_the_csv_link_exports_exactly_what_is_shown(desk: Desk) -> None:
    client = signed_in(desk.chain.regional)
    url = f"{QUEUE}?overdue=on"
    first = client.get(url)
    by_severity = follow(client, url, Page(first.content.decode()).link(text="Severity"))
    # Ascending first: high before critical; the same link again turns it round.
    assert references(by_severity) == [desk.late.reference, desk.counted.reference]
    assert 'aria-sort="ascending"' in by_severity.content.decode()
    again_url = by_severity.wsgi_request.get_full_path()
    turned = follow(client, again_url, Page(by_severity.content.decode()).link(text="Severity"))
    assert references(turned) == [desk.counted.reference, desk.late.reference]
    assert "overdue=on" in turned.wsgi_request.get_full_path()  # the filter is kept
    export = Page(turned.content.decode()).link(text="Export CSV")
    rows = csv_rows(follow(client, turned.wsgi_request.get_full_path(), export))
    assert [r["reference"] for r in rows] == references(turned)
    assert [r["overdue"] for r in rows] == ["True", "True"]
    assert (rows[0]["type"], rows[0]["area"]) == ("wrong-amount", "cash")
    assert rows[1]["text"] == "Antre 40 menit, cuma 1 teller"
    assert rows[1]["received_at"].startswith("2025-11-03 10:00:00+01:00")


def test_the_pager_leads_on_and_the_export_has_every_page(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("complaints.views.PAGE_SIZE", 2)
    client = signed_in(desk.chain.regional)
    first = client.get(QUEUE)
    assert "Page 1 of 2" in first.content.decode()
    second = follow(client, QUEUE, Page(first.content.decode()).link(rel="next"))
    assert references(second) == [desk.fresh.reference]
    assert "Page 2 of 2" in second.content.decode()
    export = Page(second.content.decode()).link(text="Export CSV")
    assert "page=" not in export
    assert len(csv_rows(follow(client, QUEUE, export))) == 3


def test_the_queue_is_for_signed_in_staff() -> None:
    response = Client().get(QUEUE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- one complaint -------------------------------------------------------------------------


def page_of(complaint: Complaint) -> str:
    return reverse("complaint-page", args=[complaint.pk])


def act(client: Client, complaint: Complaint, action: str, **fields: str) -> Any:
    """Post the form of ``action`` (its fields are prefixed with the action's name)."""
    data = {f"{action}-{name}": value for name, value in fields.items()}
    return client.post(reverse("complaint-action", args=[complaint.pk, action]), data)


def form_of(response: Any, action: str) -> str:
    """The HTML of the page's form that posts to ``action``."""
    return shown(response).split(f'action="{action}"')[1].split("</form>")[0]


def test_a_complaint_shows_what_was_said_its_deadlines_and_interaction(desk: Desk) -> None:
    page = signed_in(desk.chain.agent).get(page_of(desk.late))
    assert page.status_code == 200
    text = shown(page)
    customer = desk.late.interaction.customer
    assert customer is not None
    for seen in [
        desk.late.reference,
        "Antre 40 menit, cuma 1 teller",
        "Minta maaf",
        "Queue too long",
        "High",
        "overdue",
        "Received",
        customer.name,
    ]:
        assert seen in text, seen
    links = Page(page.content.decode())
    assert links.link(text=customer.name) == reverse("customer-page", args=[customer.pk])
    # An agent may acknowledge, not close.
    assert "Acknowledge" in text
    assert reverse("complaint-action", args=[desk.late.pk, "close"]) not in text


def test_the_steps_in_order_with_errors_next_to_the_field(desk: Desk) -> None:
    agent = signed_in(desk.chain.agent)
    done = act(agent, desk.late, "acknowledge", note="Called the customer")
    assert done.status_code == 302
    assert done["Location"] == page_of(desk.late)
    after = agent.get(done["Location"])
    assert "Complaint acknowledged." in shown(after)
    assert "Called the customer" in shown(after)
    # Responding needs the words given to the customer: a 400 with the message at the field.
    refused = act(agent, desk.late, "respond", response="  ")
    assert refused.status_code == 400
    form = form_of(refused, reverse("complaint-action", args=[desk.late.pk, "respond"]))
    assert "Write the response the customer was given." in form
    assert 'aria-invalid="true"' in form
    desk.late.refresh_from_db()
    assert desk.late.status == Status.ACKNOWLEDGED
    assert act(agent, desk.late, "respond", response="A second teller opens").status_code == 302
    # Closing is a manager's: no form for the agent, and a post is refused.
    assert act(agent, desk.late, "close").status_code == 403
    desk.late.refresh_from_db()
    assert desk.late.status == Status.RESPONDED
    lead = signed_in(desk.lead)
    assert reverse("complaint-action", args=[desk.late.pk, "close"]) in shown(
        lead.get(page_of(desk.late))
    )
    assert act(lead, desk.late, "close").status_code == 302
    # Reopening says why.
    assert act(lead, desk.late, "reopen").status_code == 400
    assert act(lead, desk.late, "reopen", note="Customer came back").status_code == 302
    desk.late.refresh_from_db()
    assert desk.late.status == Status.INVESTIGATING
    steps = list(desk.late.events.values_list("action", flat=True))
    assert steps == ["received", "acknowledge", "respond", "close", "reopen"]


def test_a_step_the_status_does_not_allow_is_a_400_with_the_reason(desk: Desk) -> None:
    response = act(signed_in(desk.lead), desk.late, "investigate")
    assert response.status_code == 400
    assert "A received complaint cannot be moved that way." in shown(response)


def test_another_branchs_staff_get_404_and_change_nothing(desk: Desk) -> None:
    for user in (desk.chain.south_agent, desk.chain.manager):
        client = signed_in(user)
        assert client.get(page_of(desk.late)).status_code == 404
        assert client.get(page_of(desk.late), {"format": "csv"}).status_code == 404
        assert act(client, desk.late, "acknowledge").status_code == 404
    assert act(signed_in(desk.lead), desk.late, "dance").status_code == 404
    desk.late.refresh_from_db()
    assert desk.late.status == Status.RECEIVED


def test_owner_and_severity_move_the_due_dates_and_are_kept(desk: Desk) -> None:
    lead = signed_in(desk.lead)
    # Someone who does not see the branch cannot own it: the owner field says so.
    stranger = act(
        lead, desk.fresh, "assign", owner=desk.chain.south_agent.username, severity="low"
    )
    assert stranger.status_code == 400
    assert "Select a valid choice" in shown(stranger)
    before = desk.fresh.respond_due
    saved = act(lead, desk.fresh, "assign", owner=desk.chain.agent.username, severity="critical")
    assert saved.status_code == 302
    desk.fresh.refresh_from_db()
    assert desk.fresh.owner == desk.chain.agent
    assert desk.fresh.severity == "critical"
    assert desk.fresh.respond_due < before  # one working day, not ten
    event = desk.fresh.events.get(action="assigned")
    assert event.note == f"owner - → {desk.chain.agent.username}; severity low → critical"
    assert event.actor == desk.lead
    page = shown(lead.get(page_of(desk.fresh)))
    assert "Owner or severity set" in page


@pytest.fixture
def classifier(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A stand-in for complaints.classifier: suggests what the test puts in the list."""
    offered: list[Any] = []
    module = types.ModuleType("complaints.classifier")
    module.suggest = lambda text, k=3: offered[:k]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "complaints.classifier", module)
    return offered


@dataclass
class Suggestion:
    type: ComplaintType
    probability: float


def test_the_type_is_picked_from_the_suggestions_or_the_list(
    desk: Desk, classifier: list[Any]
) -> None:
    retired = ComplaintType.objects.create(
        area=desk.queue.area, code="old-queue", name_en="Old queue", retired_at=timezone.now()
    )
    classifier.extend(
        [
            Suggestion(desk.queue, 0.72),
            Suggestion(retired, 0.2),
            Suggestion(desk.wrong_amount, 0.05),
        ]
    )
    agent = signed_in(desk.chain.agent)
    page = shown(agent.get(page_of(desk.fresh)))
    assert "Queue too long (Waiting), 72 %" in page
    assert "Wrong amount (Cash), 5 %" in page
    assert "Old queue" not in page  # retired: never offered
    assert 'type="radio" name="type-suggested" value="queue-too-long"' in page
    assert '<optgroup label="Cash">' in page
    # Neither, or two different ones: the type field says what is wrong.
    assert "Choose a type." in shown(act(agent, desk.fresh, "type"))
    both = act(agent, desk.fresh, "type", suggested="queue-too-long", type="wrong-amount")
    assert both.status_code == 400
    assert "not both" in shown(both)
    assert act(agent, desk.fresh, "type", suggested="queue-too-long").status_code == 302
    desk.fresh.refresh_from_db()
    assert desk.fresh.type == desk.queue
    assert act(agent, desk.fresh, "type", type="wrong-amount").status_code == 302
    desk.fresh.refresh_from_db()
    assert desk.fresh.type == desk.wrong_amount
    assert act(agent, desk.fresh, "type", type="old-queue").status_code == 400
    assert list(desk.fresh.events.filter(action="typed").values_list("note", flat=True)) == [
        "queue-too-long",
        "wrong-amount",
    ]


def test_without_a_classifier_no_suggestion_is_made(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "complaints.classifier", None)  # import fails
    assert type_suggestions(desk.late) == []
    page = shown(signed_in(desk.chain.agent).get(page_of(desk.late)))
    assert "No suggestion from the text" in page


def test_the_history_exports_as_csv_from_its_link(desk: Desk) -> None:
    client = signed_in(desk.chain.regional)
    url = page_of(desk.counted)
    export = Page(client.get(url).content.decode()).link(text="Export CSV")
    rows = csv_rows(follow(client, url, export))
    assert [r["action"] for r in rows] == ["received", "acknowledge"]
    assert rows[1]["who"] == desk.chain.admin.username
    assert rows[1]["to_status"] == "acknowledged"


# --- the managers' home --------------------------------------------------------------------


def test_the_home_page_counts_the_overdue_and_links_to_them(desk: Desk) -> None:
    client = signed_in(desk.chain.regional)
    home = client.get("/")
    assert "2 overdue complaints" in shown(home)
    link = Page(home.content.decode()).link(text="overdue complaints")
    queue = follow(client, "/", link)
    assert references(queue) == [desk.late.reference, desk.counted.reference]
    assert "1 overdue complaint" in shown(signed_in(desk.lead).get("/"))


# --- what the pages cost -------------------------------------------------------------------


@pytest.mark.parametrize("extra", [0, 10])
def test_the_queue_reads_a_bounded_number_of_times(
    desk: Desk, extra: int, django_assert_num_queries: Any
) -> None:
    for n in range(extra):
        owner = desk.chain.agent if n % 2 else None
        complaint = complaint_at(
            desk.chain.north_a, desk.chain.admin, LONG_AGO, complaint_type=desk.queue
        )
        Complaint.objects.filter(pk=complaint.pk).update(owner=owner)
    client = signed_in(desk.chain.regional)
    # Session, user, the branch scope (for the filter's branches, then the list), the types,
    # the count, the menu's write scope, the branches and areas of the filters, the page.
    with django_assert_num_queries(10):
        assert client.get(QUEUE).status_code == 200


@pytest.mark.parametrize("steps", [0, 10])
def test_a_complaints_page_reads_a_bounded_number_of_times(
    desk: Desk, steps: int, classifier: list[Any], django_assert_num_queries: Any
) -> None:
    classifier.append(Suggestion(desk.queue, 0.6))
    for _ in range(steps):
        ComplaintEvent.objects.create(
            complaint=desk.late, actor=desk.chain.agent, action="typed", to_status="received"
        )
    client = signed_in(desk.lead)
    # Session, user, the branch scope, the complaint with its interaction, customer and
    # staff, its steps with who took them, the write scope, the owners, the types.
    with django_assert_num_queries(9):
        assert client.get(page_of(desk.late)).status_code == 200
