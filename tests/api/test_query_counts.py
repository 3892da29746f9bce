"""What one API request costs in SQL statements, pinned for every list, detail, create and
bulk endpoint, so that a query per row (or per request) cannot creep back unnoticed.

Requests are made as an integration makes them: with an API key, after one warm-up
request, since the first request of a process loads the keys, the branch directory, the
survey rules and the webhook subscriptions into ``common.memo`` and a steady-state
request does not. A list is read again with four more rows and must cost the same.

Counts are (SQLite, PostgreSQL): PostgreSQL also takes advisory locks on external
references, marks dirty branch-days with one INSERT … ON CONFLICT, and sends 20 rows or
more with COPY, which Django's query capture does not see.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries
from rest_framework.test import APIClient

from branches.models import Branch, Region
from common.audit import Origin, audit_context
from complaints.models import Area, Complaint, ComplaintType
from complaints.services import complaint_record
from consistency.models import Case, CaseEvent, ConsistencyIndex, Flag, FlagEvent, Standard
from consistency.recompute import consistency_recompute
from crm.models import (
    Integration,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from customers.models import Customer
from feedback.models import SurveyRule
from interactions.models import Interaction, Moment, ServiceCycle
from quality.models import Review
from quality.services import review_submit
from tests.api.conftest import ALL_SCOPES, KeyClient
from tests.conftest import Chain
from tests.factories import (
    BranchFactory,
    CustomerFactory,
    InteractionFactory,
    MomentFactory,
    RegionFactory,
    ServiceCycleFactory,
    UserFactory,
)
from tests.quality.scorecards import phone_scorecard

V1 = "/api/v1"
TWO_WEEKS_AGO = timezone.localdate() - timedelta(days=14)
WEEK = TWO_WEEKS_AGO - timedelta(days=TWO_WEEKS_AGO.weekday())  # a complete ISO week
Counts = tuple[int, int]  # (SQLite, PostgreSQL)


def pinned(counts: Counts) -> int:
    return counts[1] if connection.vendor == "postgresql" else counts[0]


# --- the scene ---------------------------------------------------------------------------


@dataclass
class Scene:
    """A chain with some of everything, seen through the API key of an integration with
    every scope (the admin scope too: the audit history and the GDPR export need it)."""

    chain: Chain
    api: APIClient
    integration: Integration
    standard: Standard
    # The records the details read, made by the fixture (they need the scene themselves).
    cycle: ServiceCycle = field(default_factory=ServiceCycle)
    customer: Customer = field(default_factory=Customer)
    interaction: Interaction = field(default_factory=Interaction)
    flag: Flag = field(default_factory=Flag)
    case: Case = field(default_factory=Case)
    delivery: WebhookDelivery = field(default_factory=WebhookDelivery)
    review: Review = field(default_factory=Review)
    complaint: Complaint = field(default_factory=Complaint)
    serial: Iterator[int] = field(default_factory=itertools.count)

    def next(self) -> int:
        return next(self.serial)


def a_region(scene: Scene) -> Region:
    return RegionFactory.create()


def a_branch(scene: Scene) -> Branch:
    return BranchFactory.create(region=scene.chain.north)


def a_customer(scene: Scene) -> Customer:
    return CustomerFactory.create(
        home_branch=scene.chain.north_a, source="pos", external_id=f"C-{scene.next()}"
    )


def an_interaction(scene: Scene, customer: Customer | None = None) -> Interaction:
    """A call with a customer, a staff member and a moment of truth of its own."""
    return InteractionFactory.create(
        branch=scene.chain.north_a,
        customer=customer or a_customer(scene),
        staff=UserFactory.create(),
        moment=MomentFactory.create(cycle=scene.cycle),
        source="till",
        external_id=f"T-{scene.next()}",
    )


def an_agents_call(scene: Scene) -> Interaction:
    """A call in WEEK at north_a by a new agent of its own (a new row of staff figures)."""
    agent = UserFactory.create(role="agent", branches=[scene.chain.north_a])
    return InteractionFactory.create(
        branch=scene.chain.north_a,
        staff=agent,
        occurred_at=datetime.combine(WEEK + timedelta(days=1), time(11), UTC),
    )


def a_customers_interaction(scene: Scene) -> Interaction:
    return an_interaction(scene, scene.customer)


def a_cycle(scene: Scene) -> ServiceCycle:
    cycle = ServiceCycleFactory.create()
    MomentFactory.create_batch(2, cycle=cycle)
    return cycle


def a_moment(scene: Scene) -> Moment:
    return MomentFactory.create(cycle=scene.cycle)


def a_moments_contact(scene: Scene) -> Interaction:
    """A call at north_a in WEEK at a moment of truth of its own (a priority area more)."""
    return InteractionFactory.create(
        branch=scene.chain.north_a,
        customer=None,
        moment=MomentFactory.create(cycle=scene.cycle),
        occurred_at=datetime.combine(WEEK + timedelta(days=1), time(11), UTC),
    )


def a_flag(scene: Scene, branch: Branch | None = None, case: Case | None = None) -> Flag:
    """A complaint-rate alarm at a branch of its own (or of ``case``), with an owner."""
    number = scene.next()
    return Flag.objects.create(
        branch=branch or BranchFactory.create(region=scene.chain.south),
        metric="complaint_rate",
        channel="all",
        period_start=WEEK - timedelta(weeks=number),
        test="standard",
        severity="alarm",
        x=40,
        n=100,
        value=0.4,
        centre=0.02,
        z=5.0 + number,
        abs_z=5.0 + number,
        owner=UserFactory.create(),
        case=case,
    )


def a_flag_event(scene: Scene) -> FlagEvent:
    return FlagEvent.objects.create(
        flag=scene.flag, actor=UserFactory.create(), action="note", note="Looked at it"
    )


def a_case(scene: Scene) -> Case:
    """An open case on two channels at a branch of its own, with one flag as evidence."""
    branch = BranchFactory.create(region=scene.chain.south)
    case = Case.objects.create(
        branch=branch,
        metric="complaint_rate",
        severity="alarm",
        channels=["all", "phone"],
        tests=["standard"],
        first_period=WEEK,
        last_period=WEEK,
        periods=1,
        x=40,
        n=100,
        value=0.4,
        target=0.02,
        owner=UserFactory.create(),
    )
    a_flag(scene, branch=branch, case=case)
    return case


def a_case_step(scene: Scene) -> CaseEvent:
    """One more flag as evidence of the scene's case, and one more step in its history."""
    a_flag(scene, branch=scene.case.branch, case=scene.case)
    return CaseEvent.objects.create(
        case=scene.case, actor=UserFactory.create(), action="note", note="Called the branch"
    )


def a_subscription(scene: Scene) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        integration=scene.integration,
        url=f"http://127.0.0.1:9/hook-{scene.next()}",
        events=["interaction.created"],
    )


def a_delivery(scene: Scene) -> WebhookDelivery:
    """A delivery to a subscription of its own, tried twice."""
    event = WebhookEvent.objects.create(event_type="interaction.created", payload={"id": 1})
    delivery = WebhookDelivery.objects.create(
        subscription=a_subscription(scene), event=event, attempts=2
    )
    WebhookAttempt.objects.create(delivery=delivery, status_code=500, duration_ms=20)
    WebhookAttempt.objects.create(delivery=delivery, status_code=503, duration_ms=30)
    return delivery


def an_attempt(scene: Scene) -> WebhookAttempt:
    return WebhookAttempt.objects.create(delivery=scene.delivery, status_code=502)


def an_index_row(scene: Scene) -> ConsistencyIndex:
    return ConsistencyIndex.objects.create(
        kind="week", period_start=WEEK - timedelta(weeks=10 + scene.next()), inside=40, cells=44
    )


ANSWERS = {"greets": 1, "tone": 4, "confirms-amount": None}


def a_review(scene: Scene) -> Review:
    """A QA lead's review of a call of its own (its agent and reviewer each a user)."""
    return review_submit(
        actor=scene.chain.admin,
        interaction=an_interaction(scene),
        values=ANSWERS,
        scorecard_code="phone",
    )


def a_complaint(scene: Scene) -> Complaint:
    """A typed complaint about a call of its own."""
    area = Area.objects.create(code=f"area-{scene.next()}", name_en="Waiting")
    kind = ComplaintType.objects.create(area=area, code=f"type-{scene.next()}", name_en="Queue")
    return complaint_record(
        actor=scene.chain.admin, interaction=an_interaction(scene), complaint_type=kind
    )


def a_customer_change(scene: Scene) -> Customer:
    """A change by a staff member of their own, from the web UI."""
    with audit_context(Origin.UI, address="10.0.0.1", user=UserFactory.create()):
        scene.customer.name = f"Ada {scene.next()}"
        scene.customer.save()
    return scene.customer


def an_interaction_change(scene: Scene) -> Interaction:
    with audit_context(Origin.UI, address="10.0.0.1", user=UserFactory.create()):
        scene.interaction.topic = f"topic {scene.next()}"
        scene.interaction.save()
    return scene.interaction


def a_standard_change(scene: Scene) -> Standard:
    with audit_context(Origin.ADMIN, user=UserFactory.create()):
        scene.standard.notes = f"Revision {scene.next()}"
        scene.standard.save()
    return scene.standard


def contacts(branch: Branch, count: int, complaints: int) -> None:
    """``count`` calls on the Tuesday of WEEK, ``complaints`` of them complaints."""
    moment = datetime.combine(WEEK + timedelta(days=1), time(10), UTC)
    Interaction.objects.bulk_create(
        InteractionFactory.build(
            branch=branch, occurred_at=moment, is_complaint=i < complaints, customer=None
        )
        for i in range(count)
    )


def a_judged_branch(scene: Scene) -> Branch:
    """A branch of the north with a week of calls, rolled up and judged."""
    branch = BranchFactory.create(region=scene.chain.north)
    contacts(branch, 30, 3)
    consistency_recompute()
    return branch


def a_typed_branch(scene: Scene) -> Branch:
    """A branch of the north with a week of calls, one complaint typed "queue", judged."""
    branch = BranchFactory.create(region=scene.chain.north)
    contacts(branch, 30, 3)
    kind = ComplaintType.objects.filter(code="queue").first() or ComplaintType.objects.create(
        area=Area.objects.create(code="waiting", name_en="Waiting"), code="queue", name_en="Queue"
    )
    call = Interaction.objects.filter(branch=branch, is_complaint=True).first()
    assert call is not None
    complaint_record(actor=scene.chain.admin, interaction=call, complaint_type=kind)
    consistency_recompute()
    return branch


def typed(path: str) -> Callable[[Scene], str]:
    """The path, read once the scene has a first typed branch."""
    return lambda scene: (a_typed_branch(scene), f"{V1}{path}")[1]


@pytest.fixture
def scene(chain: Chain, key_client: KeyClient) -> Scene:
    api = key_client([*ALL_SCOPES, "admin", "staff:read", "staff:write"])
    integration = api.integration  # type: ignore[attr-defined]
    # The integration hears of what it writes, so creates also fill the webhook outbox;
    # and every interaction is surveyed (the default rule samples half, by id).
    WebhookSubscription.objects.create(
        integration=integration,
        url="http://127.0.0.1:9/everything",
        events=["customer.created", "interaction.created", "feedback.received"],
    )
    for rule in SurveyRule.objects.all():
        rule.sampling_rate = 1.0
        rule.save()
    made = Scene(chain=chain, api=api, integration=integration, standard=Standard.objects.get())
    made.cycle = a_cycle(made)
    made.customer = a_customer(made)
    made.interaction = an_interaction(made, made.customer)
    for _ in range(2):
        an_interaction(made, made.customer)
        a_customer_change(made)
        an_interaction_change(made)
    made.flag = a_flag(made)
    a_flag_event(made)
    made.case = a_case(made)
    a_case_step(made)
    made.delivery = a_delivery(made)
    phone_scorecard()
    made.review = a_review(made)
    made.complaint = a_complaint(made)
    contacts(chain.north_a, 30, 3)
    consistency_recompute()
    return made


def decoded(response: Any) -> Any:
    """The answer, read in full: a CSV export streams, and its queries run as it is read."""
    if getattr(response, "streaming", False):
        return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return json.loads(response.content) if response.content else None


def send(client: APIClient, method: str, path: str, payload: Any = None) -> Any:
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, payload, format="json")


# --- lists and details -------------------------------------------------------------------


def results(body: Any) -> int:
    return len(body["results"])


def rows(body: Any) -> int:
    return len(body)


def csv_rows(body: Any) -> int:
    return len(body) - 1  # the header


def nested(name: str) -> Callable[[Any], int]:
    return lambda body: len(body[name])


def cell_branches(body: Any) -> int:
    return len({cell["branch"] for cell in body})


@dataclass(frozen=True)
class Read:
    """A GET, read at the scene's size and (with ``add``) again after four more rows:
    a list holds four more, a detail nests four more."""

    label: str
    path: Callable[[Scene], str]
    counts: Counts
    add: Callable[[Scene], object] | None = None
    shown: Callable[[Any], int] = rows  # how many rows the answer holds
    per_row: int = 0  # statements each added row costs: a known N+1, reported

    def __str__(self) -> str:
        return self.label


def at(path: str) -> Callable[[Scene], str]:
    return lambda scene: f"{V1}{path}"


METRICS = f"/consistency/metrics/?period_start={WEEK}"
TYPES = f"/consistency/complaint-types/?period_start={WEEK}"
COMPARISON = f"/consistency/comparison/?region=north&metric=complaint_rate&period_start={WEEK}"
PRIORITIES = (
    f"/consistency/priorities/?branch=n-a&start={WEEK}"
    f"&end={timezone.localdate() + timedelta(days=2)}"
)

LISTS = [
    Read("regions", at("/regions/"), (1, 1), a_region),
    Read("branches", at("/branches/"), (1, 1), a_branch),
    Read("customers", at("/customers/"), (1, 1), a_customer, results),
    Read("customers as CSV", at("/customers/?format=csv"), (1, 1), a_customer, csv_rows),
    Read("interactions", at("/interactions/"), (1, 1), an_interaction, results),
    Read("interactions as CSV", at("/interactions/?format=csv"), (1, 1), an_interaction, csv_rows),
    Read("service cycles and moments", at("/service-cycles/"), (2, 2), a_cycle),
    # Branch ids, branches, the standard and its targets, peer groups, rollups.
    Read("metric cells", at(METRICS), (6, 6), a_judged_branch, cell_branches),
    Read("comparison", at(COMPARISON), (7, 7), a_judged_branch, nested("branches")),
    Read("consistency index", at("/consistency/index/"), (1, 1), an_index_row),
    # The branch, then the contacts counted in all, by moment and by complaint type, the
    # moments and the types (consistency.priorities).
    Read("priority areas", at(PRIORITIES), (6, 6), a_moments_contact, nested("areas")),
    # Branch ids, contacts, type counts, flags, branch codes, type names.
    Read("complaint types", typed(TYPES), (6, 6), a_typed_branch),
    Read("flags", at("/flags/"), (1, 1), a_flag, results),
    Read("flags as CSV", at("/flags/?format=csv"), (1, 1), a_flag, csv_rows),
    Read("cases", at("/cases/"), (1, 1), a_case, results),
    Read("cases as CSV", at("/cases/?format=csv"), (1, 1), a_case, csv_rows),
    Read("complaints", at("/complaints/"), (1, 1), a_complaint, results),
    Read("complaints as CSV", at("/complaints/?format=csv"), (1, 1), a_complaint, csv_rows),
    Read("quality reviews", at("/quality/reviews/"), (1, 1), a_review, results),
    Read("quality reviews as CSV", at("/quality/reviews/?format=csv"), (1, 1), a_review, csv_rows),
    # Each agent of the branch a row: the branch, the response thresholds, contacts and
    # reviews grouped by agent, the agents, the standard in force and its targets.
    Read("staff figures", at("/consistency/staff/?branch=n-a"), (7, 7), an_agents_call),
    Read("webhook subscriptions", at("/webhooks/subscriptions/"), (1, 1), a_subscription),
    Read("webhook deliveries and attempts", at("/webhooks/deliveries/"), (2, 2), a_delivery),
    Read(
        "customer history",
        lambda s: f"{V1}/customers/{s.customer.pk}/history/",
        (2, 2),
        a_customer_change,
    ),
    Read(
        "interaction history",
        lambda s: f"{V1}/interactions/{s.interaction.pk}/history/",
        (2, 2),
        an_interaction_change,
    ),
    Read("flag history", lambda s: f"{V1}/flags/{s.flag.pk}/history/", (2, 2), a_flag_event),
    Read("case history", lambda s: f"{V1}/cases/{s.case.pk}/history/", (2, 2), a_case_step),
    # 3 + 2 for each history row of a target: the standard's 29 targets, as migrated,
    # cost 58 (reported); changes to the standard itself cost nothing more.
    Read(
        "standard history",
        lambda s: f"{V1}/standards/{s.standard.pk}/history/",
        (61, 61),
        a_standard_change,
    ),
]

DETAILS = [
    Read("region", lambda s: f"{V1}/regions/{s.chain.north.pk}/", (1, 1)),
    Read("branch", lambda s: f"{V1}/branches/{s.chain.north_a.pk}/", (1, 1)),
    Read("customer", lambda s: f"{V1}/customers/{s.customer.pk}/", (1, 1)),
    Read(
        "customer by external id",
        lambda s: f"{V1}/customers/by-external-id/pos/{s.customer.external_id}/",
        (1, 1),
    ),
    Read("interaction", lambda s: f"{V1}/interactions/{s.interaction.pk}/", (1, 1)),
    Read(
        "interaction by external id",
        lambda s: f"{V1}/interactions/by-external-id/till/{s.interaction.external_id}/",
        (1, 1),
    ),
    Read(
        "service cycle and its moments",
        lambda s: f"{V1}/service-cycles/{s.cycle.pk}/",
        (2, 2),
        a_moment,
        nested("moments"),
    ),
    # The flag and its events' actors, the trend (rollups, the standard and its targets),
    # the moments of truth.
    Read(
        "flag, its trend, moments and history",
        lambda s: f"{V1}/flags/{s.flag.pk}/",
        (7, 7),
        a_flag_event,
        nested("history"),
    ),
    # The case, its flags, the owner of each of its two flags one by one (reported), its
    # history, the flags' periods again, and per channel (two): rollups, the standard and
    # its targets.
    Read(
        "case, its flags, history and trends",
        lambda s: f"{V1}/cases/{s.case.pk}/",
        (12, 12),
        a_case_step,
        nested("flags"),
        per_row=1,
    ),
    Read(
        "webhook subscription",
        lambda s: f"{V1}/webhooks/subscriptions/{s.delivery.subscription_id}/",
        (1, 1),
    ),
    Read(
        "webhook delivery and its attempts",
        lambda s: f"{V1}/webhooks/deliveries/{s.delivery.pk}/",
        (2, 2),
        an_attempt,
        nested("log"),
    ),
    Read("integration (who am I)", at("/integration/"), (2, 2)),
    Read("quality review", lambda s: f"{V1}/quality/reviews/{s.review.pk}/", (1, 1)),
    Read("complaint", lambda s: f"{V1}/complaints/{s.complaint.pk}/", (1, 1)),
    # Profile, interactions, check-ins, invitations, feedback, complaints, quality reviews,
    # history; and the export is itself recorded in the history (an INSERT).
    Read(
        "customer GDPR export",
        lambda s: f"{V1}/customers/{s.customer.pk}/export/",
        (9, 9),
        a_customers_interaction,
        nested("interactions"),
    ),
]


def read_at_two_sizes(
    read: Read, scene: Scene, django_assert_num_queries: DjangoAssertNumQueries
) -> tuple[list[int], list[int]]:
    """Statements run and rows shown, at the scene's size and with four more rows."""
    path = read.path(scene)
    counts: list[int] = []
    shown: list[int] = []
    for more in (0, 4) if read.add else (0,):
        for _ in range(more):
            assert read.add is not None
            read.add(scene)
        # Warm-up: the first request (and the first after a change to a key, a branch or a
        # subscription) loads common.memo's copies; the measured one is the steady state.
        assert scene.api.get(path).status_code == 200
        expected = pinned(read.counts) + more * read.per_row
        with django_assert_num_queries(expected, info=f"{read} with {more} more") as queries:
            response = scene.api.get(path)
            body = decoded(response)
        assert response.status_code == 200, body
        counts.append(len(queries))
        shown.append(read.shown(body))
    return counts, shown


@pytest.mark.parametrize("read", LISTS, ids=str)
def test_a_list_costs_the_same_with_four_more_rows(
    read: Read, scene: Scene, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    counts, shown = read_at_two_sizes(read, scene, django_assert_num_queries)
    assert shown[0] >= 1
    assert shown[1] == shown[0] + 4
    assert counts[0] == counts[1] == pinned(read.counts)


@pytest.mark.parametrize("read", DETAILS, ids=str)
def test_a_detail_costs_its_pinned_statements(
    read: Read, scene: Scene, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    counts, shown = read_at_two_sizes(read, scene, django_assert_num_queries)
    assert counts[0] == pinned(read.counts)
    if read.add is not None:
        assert shown[1] == shown[0] + 4
        assert counts[1] == counts[0] + 4 * read.per_row


# --- creates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Create:
    """A request that makes one record; ``payload(scene, n)`` is the n-th such request."""

    label: str
    method: str
    path: Callable[[Scene, int], str]
    payload: Callable[[Scene, int], dict[str, Any]]
    counts: Counts
    by_hq_admin: bool = False  # signed in: no API key may change the chain's structure

    def __str__(self) -> str:
        return self.label


def to(path: str) -> Callable[[Scene, int], str]:
    return lambda scene, n: f"{V1}{path}"


def a_new_customer(scene: Scene, n: int) -> dict[str, Any]:
    return {
        "name": f"Grace {n}",
        "email": f"grace{n}@example.com",
        "phone": "+44 20 7946 0018",
        "home_branch": "n-a",
        "tags": ["vip"],
        "source": "pos",
        "external_id": f"NEW-{n}",
    }


def a_new_call(scene: Scene, n: int) -> dict[str, Any]:
    """A call from the scene's customer, named by the integration's own reference."""
    return {
        "branch": "n-a",
        "customer_ref": {"source": "pos", "external_id": scene.customer.external_id},
        "channel": "phone",
        "occurred_at": f"{WEEK + timedelta(days=2)}T09:14:00Z",
        "wait_seconds": 22,
        "handle_seconds": 240,
        "outcome": "resolved",
        "topic": "card problem",
        "source": "callcentre",
        "external_id": f"NEW-{n}",
    }


def an_answer(nps: int) -> Callable[[Scene, int], dict[str, Any]]:
    """A kiosk's answer about a call of its own (so that a detractor opens a follow-up)."""

    def payload(scene: Scene, n: int) -> dict[str, Any]:
        call = an_interaction(scene)
        return {
            "interaction_ref": {"source": "till", "external_id": call.external_id},
            "source": "kiosk",
            "external_id": f"A-{n}",
            "nps": nps,
            "comment": "Thanks",
        }

    return payload


def without_reference(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in {"source", "external_id"}}


def a_new_review(scene: Scene, n: int) -> dict[str, Any]:
    """A speech-analytics tool's review of a call it names by the till's reference."""
    call = an_interaction(scene)
    return {
        "interaction_ref": {"source": "till", "external_id": call.external_id},
        "scorecard": "phone",
        "answers": ANSWERS,
        "comment": "Friendly, no amount to confirm.",
        "source": "speechqa",
        "external_id": f"QA-{n}",
    }


def a_complaint_ticket(scene: Scene, n: int) -> dict[str, Any]:
    """A helpdesk's complaint about a call of its own, which it names by the till's
    reference, of the scene's complaint type."""
    call = an_interaction(scene)
    kind = scene.complaint.type
    assert kind is not None
    return {
        "interaction_ref": {"source": "till", "external_id": call.external_id},
        "type": kind.code,
        "severity": "high",
        "text": "Antre lama bgt",
        "remedy": "Minta maaf",
        "source": "helpdesk",
        "external_id": f"CMP-{n}",
    }


CREATES = [
    # The session and its user; the unique code; the INSERT in a savepoint. A branch also
    # reads its region by code, then again by id (full_clean), in a nested savepoint.
    Create(
        "region",
        "post",
        to("/regions/"),
        lambda s, n: {"code": f"east-{n}", "name": f"East {n}"},
        (6, 6),
        by_hq_admin=True,
    ),
    Create(
        "branch",
        "post",
        to("/branches/"),
        lambda s, n: {"region": "north", "code": f"n-{n}", "name": f"North {n}"},
        (10, 10),
        by_hq_admin=True,
    ),
    Create("customer", "post", to("/customers/"), a_new_customer, (8, 9)),
    Create(
        "customer by external id (PUT)",
        "put",
        lambda s, n: f"{V1}/customers/by-external-id/pos/PUT-{n}/",
        lambda s, n: without_reference(a_new_customer(s, n)),
        (8, 9),
    ),
    Create("interaction", "post", to("/interactions/"), a_new_call, (10, 11)),
    Create(
        "interaction by external id (PUT)",
        "put",
        lambda s, n: f"{V1}/interactions/by-external-id/callcentre/PUT-{n}/",
        lambda s, n: without_reference(a_new_call(s, n)),
        (10, 11),
    ),
    # The answer and the interaction are both full_clean()ed: reported.
    Create("feedback from a promoter", "post", to("/feedback/"), an_answer(9), (60, 60)),
    Create("feedback from a detractor", "post", to("/feedback/"), an_answer(2), (64, 64)),
    # The call by its reference (on PostgreSQL through InteractionRef), then by id; the
    # scorecard in force and its items; the review by reference, its INSERT and history;
    # the day marked stale. The answer reads the agent and the branch: reported.
    Create("quality review", "post", to("/quality/reviews/"), a_new_review, (12, 13)),
    # The type by code; the call by its reference; the complaint by its own reference (on
    # PostgreSQL after an advisory lock on it) and by its call; the policy; the complaint
    # full_clean()ed, saved with its first step, its day stale; the call then marked a
    # complaint through its own service (full_clean()ed, saved with its history); the
    # answer read back with its relations.
    Create("complaint", "post", to("/complaints/"), a_complaint_ticket, (63, 64)),
    Create(
        "webhook subscription",
        "post",
        to("/webhooks/subscriptions/"),
        lambda s, n: {"url": f"http://127.0.0.1:9/new-{n}", "events": ["customer.created"]},
        (2, 2),
    ),
]


@pytest.mark.parametrize("create", CREATES, ids=str)
def test_a_create_costs_its_pinned_statements(
    create: Create, scene: Scene, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = scene.api
    if create.by_hq_admin:
        client = APIClient()
        client.force_login(scene.chain.admin)
    # Warm-up: the same create once (the first write loads common.memo's copies). A new
    # subscription drops them again, everywhere: a read loads them back, as the
    # integration's next request would.
    warm = send(client, create.method, create.path(scene, 0), create.payload(scene, 0))
    assert warm.status_code == 201, warm.content
    assert client.get(f"{V1}/regions/").status_code == 200
    path, payload = create.path(scene, 1), create.payload(scene, 1)
    with django_assert_num_queries(pinned(create.counts), info=str(create)):
        response = send(client, create.method, path, payload)
    assert response.status_code == 201, response.content


def test_rotating_the_api_key_costs_its_pinned_statements(
    scene: Scene, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # Warm-up: a read (a key rotates once: the same request again would be refused).
    assert scene.api.get(f"{V1}/integration/").status_code == 200
    with django_assert_num_queries(pinned((10, 10))):
        response = scene.api.post(f"{V1}/integration/key/rotate/")
    assert response.status_code == 201, response.content


# --- bulk --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bulk:
    """A batch of new records (or of changes to existing ones), sent as 5 and as 50."""

    label: str
    path: str
    item: Callable[[Scene, str], dict[str, Any]]  # the item with this external id
    five: Counts
    fifty: Counts
    changes: bool = False
    change: tuple[str, str] = ("notes", "changed")  # what a change sets

    def __str__(self) -> str:
        return self.label


def a_bulk_review(scene: Scene, ref: str) -> dict[str, Any]:
    return {**a_new_review(scene, 0), "external_id": ref}


def a_bulk_customer(scene: Scene, ref: str) -> dict[str, Any]:
    return {**a_new_customer(scene, 0), "name": f"Customer {ref}", "external_id": ref}


def a_bulk_call(scene: Scene, ref: str) -> dict[str, Any]:
    return {**a_new_call(scene, 0), "external_id": ref}


# Fifty cost what five do but for the backends' batching: SQLite's 999 parameters a
# statement split 50 rows of history (and of interactions) in two INSERTs or UPDATEs;
# PostgreSQL sends 20 rows or more with COPY (not counted) after one nextval() for the ids.
BULKS = [
    Bulk("customers, all new", f"{V1}/customers/bulk/", a_bulk_customer, (8, 9), (9, 8)),
    Bulk(
        "customers, all changed",
        f"{V1}/customers/bulk/",
        a_bulk_customer,
        (6, 7),
        (7, 6),
        changes=True,
    ),
    Bulk("interactions, all new", f"{V1}/interactions/bulk/", a_bulk_call, (10, 11), (12, 10)),
    Bulk(
        "interactions, all changed",
        f"{V1}/interactions/bulk/",
        a_bulk_call,
        (7, 9),
        (9, 8),
        changes=True,
    ),
    Bulk(
        "quality reviews, all new", f"{V1}/quality/reviews/bulk/", a_bulk_review, (10, 11), (12, 10)
    ),
    Bulk(
        "quality reviews, all changed",
        f"{V1}/quality/reviews/bulk/",
        a_bulk_review,
        (10, 11),
        (11, 10),
        changes=True,
        change=("comment", "Rescored after calibration."),
    ),
]


def batch(bulk: Bulk, scene: Scene, prefix: str, size: int) -> list[dict[str, Any]]:
    """``size`` items; for changes, the records are made first (not measured)."""
    items = [bulk.item(scene, f"{prefix}-{i}") for i in range(size)]
    if not bulk.changes:
        return items
    assert scene.api.post(bulk.path, items, format="json").json()["created"] == size
    return [{**item, bulk.change[0]: bulk.change[1]} for item in items]


@pytest.mark.parametrize("bulk", BULKS, ids=str)
def test_a_bulk_batch_costs_its_pinned_statements(
    bulk: Bulk, scene: Scene, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    outcome = "updated" if bulk.changes else "created"
    # Warm-up: one batch before (the first write loads common.memo's copies).
    warm = scene.api.post(bulk.path, batch(bulk, scene, "warm", 5), format="json")
    assert warm.json()[outcome] == 5
    for size, counts in ((5, bulk.five), (50, bulk.fifty)):
        items = batch(bulk, scene, f"of-{size}", size)
        with django_assert_num_queries(pinned(counts), info=f"{bulk} x{size}"):
            response = scene.api.post(bulk.path, items, format="json")
        assert response.status_code == 200, response.content
        assert response.json()[outcome] == size
