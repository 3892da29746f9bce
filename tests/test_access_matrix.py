"""The access matrix, generated from the URLconf: every route, role and method.

Every route ``django.urls.get_resolver()`` knows must have a rule in ``RULES`` (the Django
admin: one rule for its namespace, exercised on a representative set of its pages), and
every rule must name a route that exists. For each rule's check and each role the test
asserts that the role is let through (2xx/3xx, or 400 for a write with an invalid body)
or refused (401/403/404, or a redirect to a sign-in page; the admin's "no such object"
redirect to its index) — never a 500 — and that a refused write changed nothing.

Path parameters are filled with objects of branch A. The roles that must not see branch A
(the regional manager of branch B's region, the API key limited to branch B) must never get
a body holding one of the markers planted in branch A's data, on any GET, CSV exports
included.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.http.response import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from branches.models import Branch, Region, Role, User
from complaints.models import Complaint
from complaints.services import complaint_record
from consistency.models import Case as DivergenceCase
from consistency.models import Flag, Rollup, Standard
from consistency.rollups import week_start
from crm.models import (
    ApiKey,
    Integration,
    Scope,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from crm.services import api_key_create, integration_create
from customers.models import Customer
from feedback.models import FeedbackResponse, FollowUp, InvitationStatus, SurveyInvitation
from feedback.tokens import token_new
from interactions.models import CheckIn, Interaction, ServiceCycle
from quality.models import Assignment, CalibrationSession, Review, SamplingRule
from quality.services import coaching_note_add, review_submit
from tests.factories import (
    BranchFactory,
    CustomerFactory,
    InteractionFactory,
    MomentFactory,
    RegionFactory,
    UserFactory,
)
from tests.quality.scorecards import phone_scorecard

# --- roles -------------------------------------------------------------------------------

ANON = "anonymous"
AGENT_A = "agent_a"
MANAGER_A = "manager_a"
REGIONAL_B = "regional_b"  # regional manager of branch B's region, not branch A's
HQ_ADMIN = "hq_admin"  # role "admin" (is_chain_admin), not a superuser
KEY_ALL = "key_all"  # every scope, no branch limits
KEY_NONE = "key_none"  # no scope
KEY_B = "key_b"  # every scope, limited to branch B

ROLES = (ANON, AGENT_A, MANAGER_A, REGIONAL_B, HQ_ADMIN, KEY_ALL, KEY_NONE, KEY_B)
SESSION_ROLES = (AGENT_A, MANAGER_A, REGIONAL_B, HQ_ADMIN)
KEY_ROLES = (KEY_ALL, KEY_NONE, KEY_B)
FOREIGN = frozenset({REGIONAL_B, KEY_B})  # must never see branch A's data

Roles = frozenset[str]
NOBODY: Roles = frozenset()
EVERYONE: Roles = frozenset(ROLES)
STAFF: Roles = frozenset(SESSION_ROLES)
SEES_A: Roles = frozenset({AGENT_A, MANAGER_A, HQ_ADMIN})  # staff who see (and write at) A
MANAGES_A: Roles = frozenset({MANAGER_A, HQ_ADMIN})
KEYS: Roles = frozenset(KEY_ROLES)
SCOPED_KEYS: Roles = frozenset({KEY_ALL, KEY_B})  # keys holding the scope the route needs
KEY_SEES_A: Roles = frozenset({KEY_ALL})

# --- markers planted in branch A's data --------------------------------------------------

BRANCH_A_NAME = "MARKER-A-branch-name"
PRIVATE_MARKERS = (
    "MARKER-A-interaction-notes",
    "MARKER-A-interaction-topic",
    "MARKER-A-flag-plan",
    "MARKER-A-feedback-comment",
    "MARKER-A-walk-in-label",
    "MARKER-A-review-comment",
    "MARKER-A-coaching-note",
    "MARKER-A-complaint-text",
)


@dataclass
class World:
    """Branch A (region A) with one record of every kind, branch B (region B), the
    signed-in staff's session keys and the API keys."""

    region_a: Region
    region_b: Region
    branch_a: Branch
    branch_b: Branch
    customer: Customer
    interaction: Interaction
    flag: Flag
    case: DivergenceCase
    follow_up: FollowUp
    check_in: CheckIn
    cycle: ServiceCycle
    standard: Standard
    subscription: WebhookSubscription
    delivery: WebhookDelivery
    api_key: ApiKey  # key_all's
    survey_token: str
    users: dict[str, User]
    agent: User  # agent_a: the reviewed agent
    complaint: Complaint
    review: Review
    session: CalibrationSession
    sessions: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)


def build_world() -> World:
    now = timezone.now()
    region_a, region_b = RegionFactory.create(code="reg-a"), RegionFactory.create(code="reg-b")
    branch_a = BranchFactory.create(region=region_a, code="br-a", name=BRANCH_A_NAME)
    branch_b = BranchFactory.create(region=region_b, code="br-b", name="Branch B")
    users = {
        AGENT_A: UserFactory.create(role=Role.AGENT, branches=[branch_a]),
        MANAGER_A: UserFactory.create(role=Role.BRANCH_MANAGER, branches=[branch_a]),
        REGIONAL_B: UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[region_b]),
        HQ_ADMIN: UserFactory.create(role=Role.ADMIN),
    }
    customer = CustomerFactory.create(
        home_branch=branch_a, source="pos", external_id="cust-a", consent_surveys=True
    )
    # Customer-less, so the chain-wide 360° pages never show it.
    interaction = InteractionFactory.create(
        branch=branch_a,
        customer=None,
        notes=PRIVATE_MARKERS[0],
        topic=PRIVATE_MARKERS[1],
        source="pos",
        external_id="int-a",
    )
    visit = InteractionFactory.create(branch=branch_a, customer=customer)
    InteractionFactory.create(branch=branch_b, customer=customer, topic="seen at B")
    token, digest = token_new()
    SurveyInvitation.objects.create(
        interaction=visit,
        customer=customer,
        branch=branch_a,
        status=InvitationStatus.SENT,
        due_at=now,
        sent_at=now,
        expires_at=now + timedelta(days=7),
        token_hash=digest,
    )
    response = FeedbackResponse.objects.create(
        interaction=interaction,
        branch=branch_a,
        source="kiosk",
        external_id="fb-a",
        nps=2,
        comment=PRIVATE_MARKERS[3],
        received_at=now,
    )
    follow_up = FollowUp.objects.create(
        interaction=interaction,
        branch=branch_a,
        response=response,
        reason="NPS 2",
        opened_at=now,
        due_at=now + timedelta(hours=48),
    )
    week = week_start(timezone.localdate()) - timedelta(days=7)  # the last complete week
    for branch in (branch_a, branch_b):
        Rollup.objects.create(
            branch=branch, kind="week", period_start=week, channel="all", contacts=60,
            not_abandoned=58, abandonable=60, abandoned=2, resolved=50, complaints=4,
            response_n=60, response_ok=55, csat_n=30, csat_ok=25, nps_n=30, promoters=15,
            detractors=5,
        )  # fmt: skip
    flag = Flag.objects.create(
        branch=branch_a, metric="complaint_rate", channel="all", period_start=week,
        test="standard", severity="alarm", x=4, n=60, value=0.07, centre=0.02,
        plan=PRIVATE_MARKERS[2],
    )  # fmt: skip
    case = DivergenceCase.objects.create(
        branch=branch_a, metric="complaint_rate", severity="alarm", rank=0, first_period=week,
        last_period=week, periods=1, x=4, n=60, value=0.07, target=0.02,
        summary=f"Complaint rate at {branch_a.code}", plan=PRIVATE_MARKERS[2],
    )  # fmt: skip
    Flag.objects.filter(pk=flag.pk).update(case=case)
    check_in = CheckIn.objects.create(branch=branch_a, label=PRIVATE_MARKERS[4], arrived_at=now)
    review, session = quality_records(branch_a, interaction, users)
    complaint = complaint_record(
        actor=users[HQ_ADMIN],
        interaction=InteractionFactory.create(branch=branch_a, customer=None),
        text="MARKER-A-complaint-text",
    )
    cycle = MomentFactory.create().cycle
    keys: dict[str, str] = {}
    api_keys: dict[str, ApiKey] = {}
    integrations = {}
    every_scope = [str(scope) for scope in Scope]
    key_kinds: list[tuple[str, list[str], list[str]]] = [
        (KEY_ALL, every_scope, []),
        (KEY_NONE, [Scope.CUSTOMERS_READ], []),  # emptied below: the model wants one
        (KEY_B, every_scope, [branch_b.code]),
    ]
    for role, scopes, branches in key_kinds:
        integrations[role] = integration_create(
            name=f"matrix {role}", scopes=scopes, branch_codes=branches
        )
        api_keys[role], keys[role] = api_key_create(integration=integrations[role])
    Integration.objects.filter(pk=integrations[KEY_NONE].pk).update(scopes=[])
    subscription = WebhookSubscription.objects.create(
        integration=integrations[KEY_ALL], url="https://hooks.example.com/a", events=["flag.opened"]
    )
    event = WebhookEvent.objects.create(event_type="flag.opened", payload={"data": {}})
    delivery = WebhookDelivery.objects.create(subscription=subscription, event=event)
    world = World(
        region_a=region_a,
        region_b=region_b,
        branch_a=branch_a,
        branch_b=branch_b,
        customer=customer,
        interaction=interaction,
        flag=flag,
        case=case,
        follow_up=follow_up,
        check_in=check_in,
        cycle=cycle,
        standard=Standard.objects.create(name="Matrix standard", effective_from="2001-01-01"),
        subscription=subscription,
        delivery=delivery,
        api_key=api_keys[KEY_ALL],
        survey_token=token,
        users=users,
        keys=keys,
        agent=users[AGENT_A],
        review=review,
        session=session,
        complaint=complaint,
    )
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        world.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return world


def quality_records(
    branch_a: Branch, interaction: Interaction, users: dict[str, User]
) -> tuple[Review, CalibrationSession]:
    """Agent A's call reviewed by HQ (its comment private), a coaching note about them, an
    open assignment for HQ and a calibration session on branch A's interaction."""
    scorecard = phone_scorecard()
    call = InteractionFactory.create(branch=branch_a, customer=None, staff=users[AGENT_A])
    review = review_submit(
        actor=users[HQ_ADMIN],
        interaction=call,
        values={"greets": 1, "tone": 4, "confirms-amount": 1},
        comment=PRIVATE_MARKERS[5],
        scorecard_code=scorecard.code,
    )
    coaching_note_add(
        actor=users[MANAGER_A],
        agent=users[AGENT_A],
        branch_id=branch_a.pk,
        note=PRIVATE_MARKERS[6],
        reviews=[review],
    )
    rule = SamplingRule.objects.create(name="matrix", scorecard_code=scorecard.code)
    Assignment.objects.create(
        rule=rule,
        interaction=InteractionFactory.create(branch=branch_a, customer=None),
        reviewer=users[HQ_ADMIN],
        agent=users[AGENT_A],
        branch=branch_a,
        week=week_start(timezone.localdate()),
        due_at=timezone.now() - timedelta(days=1),
    )
    session = CalibrationSession.objects.create(
        interaction=interaction, scorecard=scorecard, title="matrix calibration"
    )
    session.reviewers.set([users[HQ_ADMIN], users[MANAGER_A]])
    return review, session


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once for the module inside a transaction rolled back at its end; each test
    runs in a savepoint of it (pytest-django's ``db``), so its writes vanish too."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()  # API throttles and the survey page's per-address budget


def client_for(world: World, role: str) -> Client:
    if role in world.keys:
        return Client(headers={"Authorization": f"Api-Key {world.keys[role]}"})
    client = Client()
    if role in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


# --- the rules ---------------------------------------------------------------------------

Kwargs = Callable[[World], dict[str, Any]]
Body = Callable[[World], Any]


def no_kwargs(world: World) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Check:
    """One request shape on a route and who may make it. ``may_change``: who may change
    ``target`` with it (default: whoever is allowed); everyone else must leave it as is."""

    method: str
    allowed: Roles
    query: str = ""
    body: Body | None = None
    may_change: Roles | None = None
    label: str = ""


@dataclass(frozen=True)
class Rule:
    checks: tuple[Check, ...]
    kwargs: Kwargs = no_kwargs
    api: bool = False  # JSON bodies; an API route
    target: str = ""  # the World attribute a write may change
    # By design foreign roles see branch A's *name* here (chain-wide customer records,
    # the branch picker of a customer's home branch, the survey page opened by its token).
    shows_branch_a_name: bool = False
    # Its success is the redirect to the sign-in page (logout).
    signs_out: bool = False
    # Refusals answered otherwise than 401/403/404, with the reason.
    also_denied_with: frozenset[int] = frozenset()


def gets(allowed: Roles, *queries: str, plain: bool = True) -> tuple[Check, ...]:
    """A GET (unless not ``plain``) and variants of it (``format=csv`` exports and
    friends), all allowed to the same roles."""
    variants = [""] if plain else []
    return tuple(
        Check("GET", allowed, query=q, label=q.replace("format=", "").replace("&", "-"))
        for q in [*variants, *queries]
    )


def pk_of(name: str) -> Kwargs:
    return lambda w: {"pk": getattr(w, name).pk}


def a_review(w: World, ref: str) -> dict[str, Any]:
    """A QA tool's review of branch A's interaction (never by its agent: it has none)."""
    return {
        "interaction": w.interaction.pk,
        "scorecard": "phone",
        "answers": {"greets": 1, "tone": 5, "confirms-amount": None},
        "source": "matrix-qa",
        "external_id": ref,
    }


def a_call(w: World) -> dict[str, Any]:
    return {
        "branch": w.branch_a.code, "channel": "phone", "occurred_at": "2026-11-02T09:00:00Z",
        "wait_seconds": 12, "outcome": "resolved",
    }  # fmt: skip


CSV = "format=csv"
MANAGERS: Roles = frozenset({MANAGER_A, REGIONAL_B, HQ_ADMIN})
WRITES_A = SEES_A | KEY_SEES_A  # may write at branch A: its staff, HQ and the unlimited key
READS_A = SEES_A | KEY_SEES_A
# HQ admins and keys with the admin scope and no branch limits: personal data spans branches.
PRIVACY = frozenset({HQ_ADMIN, KEY_ALL})

RULES: dict[str, Rule] = {
    # --- public and sign-in ---
    "login": Rule(
        (
            Check("GET", EVERYONE),
            Check("POST", EVERYONE, body=lambda w: {"username": "nobody", "password": "wrong"}),
            Check("PUT", EVERYONE),  # LoginView treats PUT as POST
        )
    ),
    "logout": Rule((Check("POST", EVERYONE),), signs_out=True),
    # Back to the page it was chosen on ("next"); signed-out users keep it in a cookie.
    "language-set": Rule(
        (Check("POST", EVERYONE, body=lambda w: {"language": "id", "next": "/healthz"}),)
    ),
    "survey": Rule(
        (Check("GET", EVERYONE), Check("POST", EVERYONE, body=lambda w: {})),
        kwargs=lambda w: {"token": w.survey_token},
        shows_branch_a_name=True,
    ),
    "healthz": Rule((Check("GET", EVERYONE),)),
    "favicon": Rule((Check("GET", EVERYONE),)),
    "api-schema": Rule((Check("GET", EVERYONE),)),
    "api-docs": Rule((Check("GET", EVERYONE),)),
    "api-redoc": Rule((Check("GET", EVERYONE),)),
    # --- staff pages (sessions only: an API key is a stranger here) ---
    "home": Rule((Check("GET", STAFF),)),
    "customer-search": Rule(
        gets(STAFF, "q=Customer", f"q=Customer&{CSV}", "q=Customer&pick=1"),
        shows_branch_a_name=True,
    ),
    "customer-create": Rule(
        (Check("GET", STAFF), Check("POST", STAFF, body=lambda w: {})),
        target="customer",
        shows_branch_a_name=True,  # the home-branch picker lists every active branch
    ),
    "customer-edit": Rule(
        (Check("GET", STAFF), Check("POST", STAFF, body=lambda w: {"name": ""})),
        kwargs=pk_of("customer"),
        target="customer",
        shows_branch_a_name=True,
    ),
    "customer-page": Rule(gets(STAFF, CSV), kwargs=pk_of("customer"), shows_branch_a_name=True),
    "interaction-log": Rule(
        (Check("GET", STAFF), Check("POST", STAFF, body=lambda w: {})), target="interaction"
    ),
    "interaction-table": Rule(
        (
            *gets(STAFF, CSV),
            *gets(SEES_A, "branch=br-a", f"branch=br-a&{CSV}", plain=False),
        )
    ),
    "checkin-queue": Rule(
        (
            *gets(STAFF, CSV),
            *gets(SEES_A, "branch=br-a", f"branch=br-a&{CSV}", plain=False),
            Check(
                "POST",
                STAFF,  # the form refuses a branch outside reach with a 400
                body=lambda w: {"branch": w.branch_a.pk, "label": "new walk-in"},
                may_change=SEES_A,
            ),
        ),
        target="check_in",
    ),
    "checkin-greet": Rule((Check("POST", SEES_A),), kwargs=pk_of("check_in"), target="check_in"),
    "checkin-finish": Rule(
        (Check("POST", SEES_A, body=lambda w: {"outcome": "resolved"}),),
        kwargs=pk_of("check_in"),
        target="check_in",
    ),
    "checkin-walk-out": Rule((Check("POST", SEES_A),), kwargs=pk_of("check_in"), target="check_in"),
    "comparison": Rule(gets(STAFF, CSV)),
    "funnel": Rule(gets(STAFF, CSV)),
    "complaint-types": Rule(gets(STAFF, CSV)),
    # Each caller's own branches; a branch or region outside them is a form error (400).
    "priorities": Rule(
        (
            *gets(STAFF, CSV),
            *gets(SEES_A, "branch=br-a", f"branch=br-a&{CSV}", "region=reg-a", plain=False),
        ),
        also_denied_with=frozenset({400}),
    ),
    "branch-page": Rule(
        gets(SEES_A, CSV, f"{CSV}&table=moments", f"{CSV}&table=priorities", f"{CSV}&table=types"),
        kwargs=lambda w: {"code": w.branch_a.code},
    ),
    "flag-queue": Rule(gets(STAFF, CSV, f"{CSV}&status=")),
    "flag-page": Rule(
        gets(SEES_A, CSV, f"{CSV}&table=moments", f"{CSV}&table=history"), kwargs=pk_of("flag")
    ),
    "case-queue": Rule(gets(STAFF, CSV, f"{CSV}&status=", "work=no_plan")),
    "case-page": Rule(
        gets(
            SEES_A,
            CSV,
            f"{CSV}&table=moments",
            f"{CSV}&table=history",
            f"{CSV}&table=priorities",
            "plan_from=type:wrong-amount",
        ),
        kwargs=pk_of("case"),
    ),
    "case-action": Rule(
        (Check("POST", MANAGES_A, body=lambda w: {"note": "seen"}),),
        kwargs=lambda w: {"pk": w.case.pk, "action": "acknowledge"},
        target="case",
    ),
    # Refusals redirect back to the queue with a message: the case stays as it is.
    "cases-acknowledge": Rule(
        (Check("POST", STAFF, body=lambda w: {"case": [w.case.pk]}, may_change=MANAGES_A),),
        target="case",
    ),
    # --- complaints (SPEC §10): staff at the complaint's branch handle it ---
    "complaint-queue": Rule(gets(STAFF, CSV, "overdue=on", f"status=&{CSV}")),
    "complaint-page": Rule(gets(SEES_A, CSV), kwargs=pk_of("complaint")),
    "complaint-action": Rule(
        (Check("POST", SEES_A, body=lambda w: {"acknowledge-note": "Called back"}),),
        kwargs=lambda w: {"pk": w.complaint.pk, "action": "acknowledge"},
        target="complaint",
    ),
    "follow-ups": Rule(gets(STAFF, CSV, f"status=all&{CSV}")),
    "follow-up": Rule((Check("GET", SEES_A),), kwargs=pk_of("follow_up")),
    "follow-up-action": Rule(
        (Check("POST", MANAGES_A, body=lambda w: {"text": "calling back"}),),
        kwargs=lambda w: {"pk": w.follow_up.pk, "action": "claim"},
        target="follow_up",
    ),
    "response-rates": Rule(gets(STAFF, CSV)),
    # --- call monitoring and staff figures (SPEC §8, §9) ---
    # Each manager's own queue (regional B's is empty); every signed-in person's reviews.
    "quality-queue": Rule(gets(MANAGERS, CSV)),
    "quality-reviews": Rule(
        (*gets(STAFF, CSV), *gets(MANAGES_A, "branch=br-a", f"branch=br-a&{CSV}", plain=False))
    ),
    "quality-review-new": Rule(
        (Check("GET", MANAGES_A), Check("POST", MANAGES_A, body=lambda w: {})),
        kwargs=pk_of("interaction"),
        target="interaction",
    ),
    # The reviewed agent disputes; a manager's dispute is refused (404).
    "quality-review": Rule(
        (
            Check("GET", SEES_A),
            Check(
                "POST",
                frozenset({AGENT_A}),
                body=lambda w: {"action": "dispute", "reason": "I did confirm it."},
            ),
        ),
        kwargs=pk_of("review"),
        target="review",
    ),
    "quality-calibrations": Rule(gets(MANAGERS)),
    "quality-calibration": Rule(gets(MANAGES_A), kwargs=pk_of("session")),
    "quality-scorecards": Rule(
        (
            Check("GET", frozenset({HQ_ADMIN})),
            Check(
                "POST",
                frozenset({HQ_ADMIN}),
                body=lambda w: {"action": "new_version", "scorecard": "phone"},
            ),
        )
    ),
    "staff-team": Rule(
        (
            *gets(STAFF, CSV),
            *gets(MANAGES_A | {AGENT_A}, "branch=br-a", f"branch=br-a&{CSV}", plain=False),
        )
    ),
    "staff-agent": Rule(
        (*gets(SEES_A, CSV), Check("POST", MANAGES_A, body=lambda w: {"note": "Coached."})),
        kwargs=pk_of("agent"),
    ),
    # --- API: chain structure (keys read with interactions:read, only HQ writes) ---
    "region-list": Rule(
        (
            Check("GET", STAFF | SCOPED_KEYS),
            Check("POST", frozenset({HQ_ADMIN}), body=lambda w: {"code": "new", "name": "New"}),
        ),
        api=True,
        target="region_a",
    ),
    "region-detail": Rule(
        (
            Check("GET", READS_A),
            Check("PATCH", frozenset({HQ_ADMIN}), body=lambda w: {"name": "Renamed"}),
        ),
        kwargs=pk_of("region_a"),
        api=True,
        target="region_a",
    ),
    "branch-list": Rule(
        (
            Check("GET", STAFF | SCOPED_KEYS),
            Check(
                "POST",
                frozenset({HQ_ADMIN}),
                body=lambda w: {"region": w.region_a.code, "code": "br-new", "name": "New"},
            ),
        ),
        api=True,
        target="branch_a",
    ),
    "branch-detail": Rule(
        (
            Check("GET", READS_A),
            Check("PATCH", frozenset({HQ_ADMIN}), body=lambda w: {"name": "Renamed"}),
        ),
        kwargs=pk_of("branch_a"),
        api=True,
        target="branch_a",
    ),
    # --- API: customers are chain-wide (customers:read / customers:write) ---
    "customer-list": Rule(
        (
            *gets(STAFF | SCOPED_KEYS, CSV),
            # A key limited to branches creates customers only at them.
            Check("POST", STAFF | {KEY_ALL}, body=lambda w: {"name": "Eve New"}),
            Check(
                "POST",
                STAFF | {KEY_ALL},
                body=lambda w: {"name": "Eve at A", "home_branch": w.branch_a.code},
                label="home-a",
            ),
            Check(
                "POST",
                STAFF | SCOPED_KEYS,
                body=lambda w: {"name": "Eve at B", "home_branch": w.branch_b.code},
                label="home-b",
            ),
        ),
        api=True,
        target="customer",
        shows_branch_a_name=False,
    ),
    "customer-bulk": Rule(
        (
            Check(
                "POST",
                STAFF | SCOPED_KEYS,
                body=lambda w: [{"source": "matrix", "external_id": "new", "name": "Bulk New"}],
            ),
        ),
        api=True,
        target="customer",
    ),
    "customer-by-external-id": Rule(
        (
            Check("GET", STAFF | SCOPED_KEYS),
            Check("PUT", STAFF | SCOPED_KEYS, body=lambda w: {"name": "Renamed"}),
        ),
        kwargs=lambda w: {"source": "pos", "external_id": "cust-a"},
        api=True,
        target="customer",
    ),
    "customer-detail": Rule(
        (
            Check("GET", STAFF | SCOPED_KEYS),
            Check("PATCH", STAFF | SCOPED_KEYS, body=lambda w: {"notes": "patched"}),
            Check("PUT", STAFF | SCOPED_KEYS, body=lambda w: {"notes": "put"}),
            Check("DELETE", STAFF | SCOPED_KEYS),
        ),
        kwargs=pk_of("customer"),
        api=True,
        target="customer",
    ),
    # --- API: interactions at the caller's branches ---
    "interaction-list": Rule(
        (*gets(STAFF | SCOPED_KEYS, CSV), Check("POST", WRITES_A, body=a_call)),
        api=True,
        target="interaction",
    ),
    "interaction-bulk": Rule(
        # Refusals are per item (200 with an error result): nothing may change.
        (Check("POST", STAFF | SCOPED_KEYS, body=lambda w: [a_call(w)], may_change=WRITES_A),),
        api=True,
        target="interaction",
    ),
    "interaction-by-external-id": Rule(
        (
            Check("GET", READS_A),
            Check(
                "PUT",
                WRITES_A,
                body=lambda w: {**a_call(w), "topic": "put"},
            ),
        ),
        kwargs=lambda w: {"source": "pos", "external_id": "int-a"},
        api=True,
        target="interaction",
    ),
    "interaction-detail": Rule(
        (
            Check("GET", READS_A),
            Check("PATCH", WRITES_A, body=lambda w: {"csat": 4}),
            Check("PUT", WRITES_A, body=lambda w: {"csat": 3}),
            Check("DELETE", WRITES_A),
        ),
        kwargs=pk_of("interaction"),
        api=True,
        target="interaction",
    ),
    "interaction-feedback": Rule(
        (Check("POST", WRITES_A, body=lambda w: {"csat": 5}),),
        kwargs=pk_of("interaction"),
        api=True,
        target="interaction",
    ),
    "service-cycle-list": Rule((Check("GET", STAFF | SCOPED_KEYS),), api=True),
    "service-cycle-detail": Rule(
        (Check("GET", STAFF | SCOPED_KEYS),), kwargs=pk_of("cycle"), api=True
    ),
    "feedback-create": Rule(
        (
            Check(
                "POST",
                WRITES_A,
                body=lambda w: {
                    "interaction": w.interaction.pk,
                    "source": "kiosk",
                    "external_id": "fb-new",
                    "csat": 4,
                },
            ),
        ),
        api=True,
        target="interaction",
    ),
    # --- API: consistency (analytics:read); the flag lifecycle is for managers' sessions ---
    "consistency-metrics": Rule(gets(STAFF | SCOPED_KEYS, CSV), api=True),
    "consistency-comparison": Rule(
        (
            Check(
                "GET",
                READS_A,
                query="region=reg-a&metric=complaint_rate",
            ),
        ),
        api=True,
        # A region outside reach in the query is refused as an invalid field, like the UI.
        also_denied_with=frozenset({400}),
    ),
    "consistency-index": Rule(gets(STAFF | SCOPED_KEYS, CSV), api=True),
    "consistency-priorities": Rule(
        (
            *gets(STAFF | SCOPED_KEYS, CSV),
            *gets(READS_A, "branch=br-a", f"branch=br-a&{CSV}", "region=reg-a", plain=False),
        ),
        api=True,
        also_denied_with=frozenset({400}),  # a branch or region outside reach: a field error
    ),
    "consistency-complaint-types": Rule(gets(STAFF | SCOPED_KEYS, CSV), api=True),
    "flag-list": Rule(gets(STAFF | SCOPED_KEYS, CSV), api=True),
    "flag-detail": Rule((Check("GET", READS_A),), kwargs=pk_of("flag"), api=True),
    "case-list": Rule(gets(STAFF | SCOPED_KEYS, CSV), api=True),
    "case-detail": Rule((Check("GET", READS_A),), kwargs=pk_of("case"), api=True),
    "case-acknowledge": Rule(
        (Check("POST", MANAGES_A, body=lambda w: {}),),
        kwargs=pk_of("case"),
        api=True,
        target="case",
    ),
    "case-plan": Rule(
        (
            Check(
                "POST",
                MANAGES_A,
                body=lambda w: {
                    "owner": w.users[MANAGER_A].username,
                    "due_date": "2099-01-01",
                    "plan": "x",
                },
            ),
        ),
        kwargs=pk_of("case"),
        api=True,
        target="case",
    ),
    "case-monitor": Rule(
        (Check("POST", MANAGES_A, body=lambda w: {}),),
        kwargs=pk_of("case"),
        api=True,
        target="case",
    ),
    "case-resolve": Rule(
        (Check("POST", MANAGES_A, body=lambda w: {"note": "done"}),),
        kwargs=pk_of("case"),
        api=True,
        target="case",
    ),
    "case-notes": Rule(
        (Check("POST", MANAGES_A, body=lambda w: {"note": "a note"}),),
        kwargs=pk_of("case"),
        api=True,
        target="case",
    ),
    # --- API: an integration's own things (webhooks:manage); HQ admins read and tidy ---
    "integration-self": Rule((Check("GET", KEYS),), api=True),
    # Any key rotates itself (its docstring): no scope needed, sessions refused.
    "api-key-rotate": Rule((Check("POST", KEYS),), api=True, target="api_key"),
    "webhook-subscription-list": Rule(
        (
            Check("GET", SCOPED_KEYS | {HQ_ADMIN}),
            Check(
                "POST",
                SCOPED_KEYS,
                body=lambda w: {"url": "https://hooks.example.com/new", "events": ["flag.opened"]},
            ),
        ),
        api=True,
        target="subscription",
    ),
    "webhook-subscription-detail": Rule(
        (
            Check("GET", KEY_SEES_A | {HQ_ADMIN}),
            Check("PATCH", KEY_SEES_A | {HQ_ADMIN}, body=lambda w: {"is_active": False}),
            Check("DELETE", KEY_SEES_A | {HQ_ADMIN}),
        ),
        kwargs=pk_of("subscription"),
        api=True,
        target="subscription",
    ),
    "webhook-subscription-rotate-secret": Rule(
        (Check("POST", KEY_SEES_A | {HQ_ADMIN}),),
        kwargs=pk_of("subscription"),
        api=True,
        target="subscription",
    ),
    "webhook-delivery-list": Rule((Check("GET", SCOPED_KEYS | {HQ_ADMIN}),), api=True),
    "webhook-delivery-detail": Rule(
        (Check("GET", KEY_SEES_A | {HQ_ADMIN}),), kwargs=pk_of("delivery"), api=True
    ),
    "webhook-delivery-redeliver": Rule(
        (Check("POST", KEY_SEES_A | {HQ_ADMIN}),),
        kwargs=pk_of("delivery"),
        api=True,
        target="delivery",
    ),
    # --- API: audit history and GDPR (crm.audit_api): HQ admins and keys with the admin
    # scope; customers and the standard are chain-wide, interactions and flags scoped ---
    "customer-history": Rule(
        (Check("GET", PRIVACY),), kwargs=pk_of("customer"), api=True, shows_branch_a_name=True
    ),
    # A complaint is a touchpoint's: read with interactions:read, at the caller's branches;
    # recorded with interactions:write about an interaction the caller writes at.
    "complaint-list": Rule(
        (
            *gets(STAFF | SCOPED_KEYS, CSV),
            Check(
                "POST",
                WRITES_A,
                body=lambda w: {
                    "interaction": w.interaction.pk,
                    "text": "Waited too long",
                    "source": "matrix",
                    "external_id": "cmp-new",
                },
            ),
        ),
        api=True,
        target="complaint",
    ),
    "complaint-detail": Rule((Check("GET", READS_A),), kwargs=pk_of("complaint"), api=True),
    "staff-figures": Rule((Check("GET", SEES_A | KEY_SEES_A, query="branch=br-a"),), api=True),
    "review-list": Rule(
        (
            *gets(STAFF | SCOPED_KEYS, CSV),
            Check("POST", MANAGES_A | KEY_SEES_A, body=lambda w: a_review(w, "single")),
        ),
        api=True,
        target="review",
    ),
    # Refusals are per item (200 with an error result): nothing may change.
    "review-bulk": Rule(
        (
            Check(
                "POST",
                STAFF | SCOPED_KEYS,
                body=lambda w: [a_review(w, "bulk")],
                may_change=MANAGES_A | KEY_SEES_A,
            ),
        ),
        api=True,
        target="review",
    ),
    "review-detail": Rule((Check("GET", SEES_A | KEY_SEES_A),), kwargs=pk_of("review"), api=True),
    "staff-export": Rule(
        (Check("GET", PRIVACY),), kwargs=pk_of("agent"), api=True, shows_branch_a_name=True
    ),
    "staff-erase": Rule((Check("POST", PRIVACY),), kwargs=pk_of("agent"), api=True, target="agent"),
    "customer-export": Rule(
        (Check("GET", PRIVACY),), kwargs=pk_of("customer"), api=True, shows_branch_a_name=True
    ),
    "customer-erase": Rule(
        (Check("POST", PRIVACY),), kwargs=pk_of("customer"), api=True, target="customer"
    ),
    "interaction-history": Rule((Check("GET", PRIVACY),), kwargs=pk_of("interaction"), api=True),
    "flag-history": Rule((Check("GET", PRIVACY),), kwargs=pk_of("flag"), api=True),
    "case-history": Rule((Check("GET", PRIVACY),), kwargs=pk_of("case"), api=True),
    "standard-history": Rule((Check("GET", PRIVACY),), kwargs=pk_of("standard"), api=True),
}

# The Django admin: one rule for its namespace, exercised on these pages. Every staff
# member may open it (role groups give model permissions); rows are scoped by branch.
ADMIN_NAMESPACE = "admin"
ADMIN_PAGES: dict[str, Rule] = {
    "admin:index": Rule((Check("GET", STAFF),)),
    "admin:customers_customer_changelist": Rule((Check("GET", STAFF),), shows_branch_a_name=True),
    "admin:customers_customer_change": Rule(
        (Check("GET", STAFF), Check("POST", STAFF, body=lambda w: {"name": ""})),
        kwargs=lambda w: {"object_id": w.customer.pk},
        target="customer",
        shows_branch_a_name=True,
    ),
    "admin:interactions_interaction_changelist": Rule((Check("GET", STAFF),)),
    "admin:interactions_interaction_change": Rule(
        (Check("GET", SEES_A), Check("POST", SEES_A, body=lambda w: {"topic": "hijacked"})),
        kwargs=lambda w: {"object_id": w.interaction.pk},
        target="interaction",
    ),
    "admin:consistency_flag_changelist": Rule((Check("GET", STAFF),)),
    "admin:consistency_flag_change": Rule(
        (Check("GET", SEES_A), Check("POST", NOBODY, body=lambda w: {"plan": "hijacked"})),
        kwargs=lambda w: {"object_id": w.flag.pk},
        target="flag",
    ),
}


# --- the URLconf -------------------------------------------------------------------------


def url_routes() -> dict[str, str]:
    """Every route of the URLconf: its name (namespaced; the pattern when it has none)."""
    routes: dict[str, str] = {}

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for entry in patterns:
            pattern = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = entry.namespace or ""
                walk(
                    entry.url_patterns,
                    pattern,
                    f"{namespace}:{inner}" if namespace and inner else inner or namespace,
                )
            elif isinstance(entry, URLPattern):
                name = entry.name or f"<unnamed {pattern}>"
                routes.setdefault(f"{namespace}:{name}" if namespace else name, pattern)

    walk(get_resolver().url_patterns, "/", "")
    return routes


ROUTES = url_routes()


def is_admin(name: str) -> bool:
    return name.startswith(f"{ADMIN_NAMESPACE}:")


def test_every_route_has_a_rule() -> None:
    missing = sorted(
        f"{name} ({pattern})"
        for name, pattern in ROUTES.items()
        if name not in RULES and not is_admin(name)
    )
    assert not missing, f"Routes without an access rule in {__name__}.RULES: {missing}"


def test_every_rule_names_an_existing_route() -> None:
    stale = sorted(name for name in [*RULES, *ADMIN_PAGES] if name not in ROUTES)
    assert not stale, f"Rules for routes that no longer exist: {stale}"
    assert any(is_admin(name) for name in ROUTES), "The admin rule matches no route."


def test_every_api_method_has_a_rule() -> None:
    """A method added to an API view (or the sign-in views) cannot ship without a rule."""
    resolver = get_resolver()
    unruled = []
    for name, rule in RULES.items():
        match = resolver.resolve(reverse(name, kwargs=rule.kwargs(FAKE_WORLD)))
        view_class = getattr(match.func, "view_class", None)
        if view_class is None:
            continue
        served = {
            m.upper()
            for m in view_class.http_method_names
            if hasattr(view_class, m) and m not in {"options", "head"}
        }
        unruled += [f"{name} {m}" for m in sorted(served - {c.method for c in rule.checks})]
    assert not unruled, f"Methods served without a rule: {unruled}"


class _Anything:
    """Stands in for the World when only URL shapes are needed (pk 1, code "x")."""

    pk = 1
    code = "x"
    survey_token = "x"

    def __getattr__(self, name: str) -> _Anything:
        return self


FAKE_WORLD: Any = _Anything()


# --- the matrix --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    route: str
    rule: Rule
    check: Check
    role: str

    @property
    def id(self) -> str:
        label = f"-{self.check.label}" if self.check.label else ""
        return f"{self.route}-{self.role}-{self.check.method}{label}"


def cases() -> list[Any]:
    chosen = {name: rule for name, rule in RULES.items() if name in ROUTES}
    chosen.update(ADMIN_PAGES)
    return [
        pytest.param(case, id=case.id)
        for name, rule in chosen.items()
        for check in rule.checks
        for role in ROLES
        for case in [Case(name, rule, check, role)]
    ]


SIGN_IN_PATHS = {reverse("login"), reverse("admin:login")}


def redirect_path(response: HttpResponseBase) -> str | None:
    if response.status_code not in {301, 302, 303, 307, 308}:
        return None
    return urlsplit(response["Location"]).path


def verdict(case: Case, response: HttpResponseBase) -> str:
    """ "allowed", "denied", or what else it was."""
    status = response.status_code
    to = redirect_path(response)
    if to in SIGN_IN_PATHS and case.rule.signs_out:
        return "allowed"
    if to in SIGN_IN_PATHS or (is_admin(case.route) and to == reverse("admin:index")):
        return "denied"  # sent to sign in / the admin's "no such object" redirect
    if status in {401, 403, 404} or status in case.rule.also_denied_with:
        return "denied"
    if 200 <= status < 400 or (status == 400 and case.check.method != "GET"):
        return "allowed"
    return f"unexpected {status}"


def snapshot(world: World, target: str) -> tuple[Any, int] | None:
    if not target:
        return None
    instance: Model = getattr(world, target)
    model = type(instance)
    row = model._default_manager.filter(pk=instance.pk).values().first()
    return row, model._default_manager.count()


def send(client: Client, case: Case, world: World) -> HttpResponseBase:
    path = reverse(case.route, kwargs=case.rule.kwargs(world))
    url = f"{path}?{case.check.query}" if case.check.query else path
    method = case.check.method
    body = case.check.body(world) if case.check.body else None
    if method == "GET":
        return client.get(url)
    if case.rule.api:
        data = json.dumps(body if body is not None else {})
        return client.generic(method, url, data, content_type="application/json")
    if method == "POST":
        return client.post(url, body or {})
    return client.generic(method, url)


def body_text(response: HttpResponseBase) -> str:
    return response.getvalue().decode(errors="replace")


@pytest.mark.parametrize("case", cases())
def test_access(db: None, world: World, case: Case) -> None:
    before = snapshot(world, case.rule.target)
    response = send(client_for(world, case.role), case, world)
    status = response.status_code
    assert status < 500, f"{case.id}: server error {status}"
    expected = "allowed" if case.role in case.check.allowed else "denied"
    got = verdict(case, response)
    assert got == expected, (
        f"{case.id}: expected {expected}, got {got} ({status} "
        f"{response.get('Location', '')}) {body_text(response)[:300]!r}"
    )
    may_change = case.check.allowed if case.check.may_change is None else case.check.may_change
    if case.check.method != "GET" and case.role not in may_change:
        assert snapshot(world, case.rule.target) == before, f"{case.id}: a refused write changed"
    if case.check.method == "GET" and case.role in FOREIGN:
        text = body_text(response)
        markers = [*PRIVATE_MARKERS, *([] if case.rule.shows_branch_a_name else [BRANCH_A_NAME])]
        leaked = [marker for marker in markers if marker in text]
        assert not leaked, f"{case.id}: branch A's data in the body: {leaked}"


@pytest.mark.parametrize("role", sorted(FOREIGN))
def test_foreign_roles_see_their_own_branch(db: None, world: World, role: str) -> None:
    """The marker checks mean something: the foreign roles do get data, just not A's."""
    client = client_for(world, role)
    path = "/api/v1/branches/" if role in world.keys else "/interactions/?format=csv"
    body = body_text(client.get(path))
    assert world.branch_b.code in body
    assert world.branch_a.code not in body


@pytest.mark.parametrize(
    ("role", "path", "marker"),
    [
        (AGENT_A, "/interactions/?format=csv", PRIVATE_MARKERS[1]),
        (KEY_ALL, "/api/v1/flags/{flag}/", PRIVATE_MARKERS[2]),
        (KEY_ALL, "/api/v1/cases/{case}/", PRIVATE_MARKERS[2]),
        (MANAGER_A, "/cases/{case}/", PRIVATE_MARKERS[2]),
        (MANAGER_A, "/branches/br-a/", BRANCH_A_NAME),
        (MANAGER_A, "/follow-ups/?format=csv", PRIVATE_MARKERS[3]),
        (AGENT_A, "/walk-ins/", PRIVATE_MARKERS[4]),
        (HQ_ADMIN, "/comparison/", BRANCH_A_NAME),
        (KEY_ALL, "/api/v1/interactions/{interaction}/", PRIVATE_MARKERS[0]),
        (KEY_ALL, "/api/v1/consistency/metrics/?format=csv", BRANCH_A_NAME),
    ],
)
def test_markers_show_where_branch_a_may_be_seen(
    db: None, world: World, role: str, path: str, marker: str
) -> None:
    """The leak checks can fail: roles that see branch A do get its markers."""
    url = path.format(flag=world.flag.pk, case=world.case.pk, interaction=world.interaction.pk)
    response = client_for(world, role).get(url)
    assert response.status_code == 200
    assert marker in body_text(response)
