"""Staff figures (SPEC §9): counts that match the branch's, shrinkage that keeps a six-contact
agent off the top and the bottom, who may see them, coaching notes, and the API."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from branches.models import Branch, Role, User
from consistency.models import PeriodKind, Rollup
from consistency.recompute import consistency_recompute
from consistency.rollups import week_start
from consistency.staff import STAFF_METRICS, staff_table, staff_visible
from crm.services import api_key_create, integration_create
from interactions.models import Interaction
from interactions.services import interaction_delete, interaction_log
from quality.models import CoachingNote, Item, Review, Scorecard, Section
from quality.services import dispute_raise, review_submit
from quality.stats import beta_prior, shrink
from tests.conftest import Chain
from tests.factories import RegionFactory, UserFactory

WEEK = date(2026, 3, 2)  # a Monday
RESOLUTION = "first_contact_resolution"


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def last_week(branch: Branch) -> date:
    """A Wednesday inside the pages' default period (the last complete weeks)."""
    return week_start(timezone.localdate(timezone=branch.tzinfo)) - timedelta(days=5)


def contacts(branch: Branch, staff: User | None, n: int, resolved: int, day: date) -> None:
    """``n`` phone contacts, ``resolved`` of them resolved, the rest needing a follow-up."""
    Interaction.objects.bulk_create(
        Interaction(
            branch=branch,
            staff=staff,
            channel="phone",
            occurred_at=at(day, 9 + i % 8, i % 60),
            wait_seconds=20,
            handle_seconds=120,
            outcome="resolved" if i < resolved else "follow_up",
        )
        for i in range(n)
    )


def agent_at(branch: Branch, name: str) -> User:
    return UserFactory.create(username=name, role=Role.AGENT, branches=[branch])


@pytest.fixture
def manager(chain: Chain) -> User:
    """The branch manager of north_a (chain.manager manages north_b)."""
    return UserFactory.create(username="boss-a", role=Role.BRANCH_MANAGER, branches=[chain.north_a])


@pytest.fixture
def scorecard(db: None) -> Scorecard:
    card = Scorecard.objects.create(code="phone", text_en="Phone", effective_from=date(2000, 1, 1))
    section = Section.objects.create(scorecard=card, position=1, text_en="Call")
    Item.objects.create(section=section, position=1, code="greets", text_en="Greets")
    Item.objects.create(
        section=section, position=2, code="confirms", text_en="Confirms", critical=True
    )
    return card


def review(manager: User, interaction: Interaction, card: Scorecard, **answers: int) -> Review:
    return review_submit(actor=manager, interaction=interaction, values=answers, scorecard=card)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- figures equal hand counts ---------------------------------------------------------------


def test_figures_are_the_hand_counts_and_add_up_to_the_branch(
    chain: Chain, manager: User, scorecard: Scorecard
) -> None:
    branch, agent = chain.north_a, chain.agent  # Europe/Oslo
    colleague = agent_at(branch, "colleague")

    def log(who: User | None, when: datetime, **data: Any) -> Interaction:
        fields = {"channel": "phone", "outcome": "resolved", **data}
        if fields["outcome"] != "abandoned":
            fields.setdefault("handle_seconds", 60)
        return interaction_log(actor=manager, branch=branch, staff=who, occurred_at=when, **fields)

    sunday_night = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # Monday 00:30 in Oslo
    mine = [
        log(agent, sunday_night, wait_seconds=10, csat=5),
        log(agent, at(WEEK), wait_seconds=25, csat=4, is_complaint=True),
        log(agent, at(WEEK), wait_seconds=40, outcome="follow_up", csat=2),
        log(agent, at(WEEK), wait_seconds=45, outcome="abandoned"),  # after the 30 s
        log(agent, at(WEEK), wait_seconds=5, outcome="abandoned"),  # before: not judged
        log(agent, at(WEEK), channel="email", wait_seconds=600),  # within 4 h
    ]
    gone = log(agent, at(WEEK), wait_seconds=5, is_complaint=True)
    interaction_delete(actor=manager, interaction=gone)
    log(agent, datetime(2026, 3, 8, 23, 30, tzinfo=UTC), wait_seconds=5)  # Monday 9th in Oslo
    log(colleague, at(WEEK), channel="chat", wait_seconds=30)
    log(colleague, at(WEEK), channel="chat", wait_seconds=70, outcome="abandoned")
    log(None, at(WEEK), wait_seconds=90, outcome="escalated")  # nobody recorded
    review(manager, mine[0], scorecard, greets=1, confirms=1)  # passed
    failed = review(manager, mine[1], scorecard, greets=0, confirms=1)  # 50 %: failed
    review(manager, mine[2], scorecard, greets=1, confirms=0)  # critical fail
    dispute_raise(actor=agent, review=failed, reason="The line was bad.")

    table = staff_table(branch=branch, first=WEEK, last=WEEK + timedelta(days=7))

    row = table.agent(agent.pk)
    assert row is not None
    counted = {m: (row.figures[m].x, row.figures[m].n) for m in STAFF_METRICS}
    assert counted == {
        "response_within_standard": (3, 5),  # 10 s, 25 s and the e-mail of 5 judged
        "first_contact_resolution": (3, 4),
        "abandonment_rate": (2, 5),  # e-mail cannot be abandoned
        "complaint_rate": (1, 6),  # the deleted complaint is not counted
        "csat_satisfied": (2, 3),
        "qa_pass": (1, 3),
        "qa_critical_fail": (1, 3),
    }
    assert row.disputed == 1
    assert row.figures[RESOLUTION].raw == 0.75
    groups = [(a.figures[RESOLUTION].x, a.figures[RESOLUTION].n) for a in table.agents]
    assert row.figures[RESOLUTION] == shrink(3, 4, beta_prior(groups))
    assert {a.username for a in table.agents} == {agent.username, "colleague"}
    # The branch's own figures count every contact, whoever handled it: the rollups' counts.
    consistency_recompute()
    week = Rollup.objects.get(branch=branch, kind=PeriodKind.WEEK, period_start=WEEK, channel="all")
    for metric in STAFF_METRICS:
        pooled, cell = table.pooled[metric], week.cell(metric)
        assert (pooled.x, pooled.n) == (cell.x, cell.n), metric
    assert table.disputed == week.qa_disputed == 1


# --- shrinkage on real rows ------------------------------------------------------------------


def test_a_six_contact_agent_is_neither_first_nor_last(chain: Chain) -> None:
    """Eight established agents (200 contacts each, 70 % to 90 % resolved) and two newcomers
    with six contacts, all resolved and none: both rank inside the branch, not at its ends."""
    branch = chain.north_a
    for i, rate in enumerate((0.70, 0.77, 0.79, 0.80, 0.80, 0.81, 0.83, 0.90)):
        contacts(branch, agent_at(branch, f"old-{i}"), 200, round(rate * 200), WEEK)
    lucky, unlucky = agent_at(branch, "new-lucky"), agent_at(branch, "new-unlucky")
    contacts(branch, lucky, 6, 6, WEEK)
    contacts(branch, unlucky, 6, 0, WEEK)

    table = staff_table(branch=branch, first=WEEK, last=WEEK + timedelta(days=7))

    ranks = {a.username: a.ranks[RESOLUTION] for a in table.agents}
    assert table.ranked[RESOLUTION] == 10
    assert ranks["old-7"] == 1  # 90 % of 200
    assert ranks["old-0"] == 10  # 70 % of 200
    for newcomer in ("new-lucky", "new-unlucky"):
        assert 1 < (ranks[newcomer] or 0) < 10
    figures = {a.username: a.figures[RESOLUTION] for a in table.agents}
    assert figures["new-lucky"].raw == 1.0
    assert figures["new-unlucky"].raw == 0.0
    assert figures["new-unlucky"].low < 0.8 < figures["new-unlucky"].high
    assert chain.agent.username not in ranks or ranks[chain.agent.username] is None


def test_lower_is_better_where_the_standard_says_at_most(chain: Chain) -> None:
    branch = chain.north_a
    calm, angry = agent_at(branch, "calm"), agent_at(branch, "angry")
    for who, complaints in ((calm, 0), (angry, 20)):
        contacts(branch, who, 100, 100, WEEK)
        Interaction.objects.filter(staff=who).filter(
            pk__in=Interaction.objects.filter(staff=who).values("pk")[:complaints]
        ).update(is_complaint=True)

    table = staff_table(branch=branch, first=WEEK, last=WEEK + timedelta(days=7))

    assert table.directions["complaint_rate"] == "at_most"
    ranks = {a.username: a.ranks["complaint_rate"] for a in table.agents}
    assert (ranks["calm"], ranks["angry"]) == (1, 2)


# --- who sees what ---------------------------------------------------------------------------


@dataclass
class Team:
    branch: Branch
    manager: User
    agent: User
    colleague: User


@pytest.fixture
def team(chain: Chain, manager: User) -> Team:
    branch = chain.north_a
    colleague = agent_at(branch, "colleague")
    day = last_week(branch)
    contacts(branch, chain.agent, 30, 24, day)
    contacts(branch, colleague, 25, 15, day)
    return Team(branch=branch, manager=manager, agent=chain.agent, colleague=colleague)


def team_url(team: Team) -> str:
    return f"{reverse('staff-team')}?branch={team.branch.code}"


def agent_url(user: User, branch: Branch) -> str:
    return f"{reverse('staff-agent', args=[user.pk])}?branch={branch.code}"


def test_an_agent_sees_their_own_figures_and_no_one_elses(team: Team) -> None:
    client = login(team.agent)
    own = client.get(reverse("staff-agent", args=[team.agent.pk]))
    assert own.status_code == 200
    assert "80.0 %" in own.content.decode()  # 24 of 30 resolved, raw
    assert client.get(agent_url(team.colleague, team.branch)).status_code == 404
    assert client.get(reverse("staff-agent", args=[team.colleague.pk])).status_code == 404
    assert client.get(team_url(team)).url == reverse("staff-agent", args=[team.agent.pk])  # type: ignore[attr-defined]
    assert client.get(agent_url(team.agent, team.branch) + "&format=csv").status_code == 200


def test_the_branch_manager_sees_the_team_and_managers_elsewhere_do_not(
    chain: Chain, team: Team
) -> None:
    page = login(team.manager).get(team_url(team))
    assert page.status_code == 200
    assert team.colleague.username in page.content.decode()
    assert login(team.manager).get(agent_url(team.colleague, team.branch)).status_code == 200
    elsewhere = login(chain.manager)  # manages north_b
    assert elsewhere.get(team_url(team)).status_code == 404
    assert elsewhere.get(agent_url(team.agent, team.branch)).status_code == 404
    assert elsewhere.get(reverse("staff-agent", args=[team.agent.pk])).status_code == 404


def test_regional_managers_see_their_region_only_and_hq_sees_all(chain: Chain, team: Team) -> None:
    assert login(chain.regional).get(team_url(team)).status_code == 200
    assert login(chain.regional).get(agent_url(team.agent, team.branch)).status_code == 200
    south = UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[chain.south])
    assert login(south).get(team_url(team)).status_code == 404
    assert login(south).get(agent_url(team.agent, team.branch)).status_code == 404
    assert login(chain.admin).get(team_url(team)).status_code == 200
    assert login(chain.admin).get(agent_url(team.agent, team.branch)).status_code == 200
    other = RegionFactory.create(code="east")
    assert not staff_visible(
        UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[other]), team.agent, team.branch
    )


def test_anonymous_visitors_are_sent_to_sign_in(team: Team) -> None:
    for url in (team_url(team), agent_url(team.agent, team.branch)):
        response = Client().get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))  # type: ignore[attr-defined]


# --- the team page: sort and CSV links, query count -----------------------------------------


class Links(HTMLParser):
    """The hrefs of a page and the agents named in its team table's rows, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.agents: list[str] = []
        self._open: list[str] = []  # "team" inside the team table, "body" inside its rows
        self._name_follows = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table" and values.get("id") == "team":
            self._open.append("team")
        elif tag == "tbody" and self._open == ["team"]:
            self._open.append("body")
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"] or "")
            self._name_follows = self._open == ["team", "body"]

    def handle_endtag(self, tag: str) -> None:
        closes = {"tbody": "body", "table": "team"}.get(tag)
        if closes is not None and self._open[-1:] == [closes]:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._name_follows and data.strip():
            self.agents.append(data.strip())
            self._name_follows = False


def links(html: bytes) -> Links:
    parser = Links()
    parser.feed(html.decode())
    return parser


def find(hrefs: list[str], **wanted: str) -> str:
    """The first link whose query has ``wanted``, resolved against the team page."""
    for href in hrefs:
        query = parse_qs(urlsplit(href).query)
        if all(query.get(k) == [v] for k, v in wanted.items()):
            return urljoin(reverse("staff-team"), href)
    raise AssertionError(f"no link with {wanted} among {hrefs}")


def test_the_team_page_sorts_by_the_links_it_offers_and_exports_them(team: Team) -> None:
    third = agent_at(team.branch, "aaa-best")
    contacts(team.branch, third, 40, 38, last_week(team.branch))
    client = login(team.manager)
    page = links(client.get(team_url(team)).content)
    assert page.agents == sorted(page.agents)  # by login until asked otherwise

    best_first = links(client.get(find(page.hrefs, sort=RESOLUTION, dir="desc")).content)
    assert best_first.agents == ["aaa-best", team.agent.username, "colleague"]
    worst_first = links(client.get(find(best_first.hrefs, sort=RESOLUTION, dir="asc")).content)
    assert worst_first.agents == ["colleague", team.agent.username, "aaa-best"]

    export = client.get(find(worst_first.hrefs, format="csv"))
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    text = b"".join(export.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["agent"] for r in rows] == worst_first.agents
    mine = next(r for r in rows if r["agent"] == team.agent.username)
    assert (mine[f"{RESOLUTION}_x"], mine[f"{RESOLUTION}_n"]) == ("24", "30")
    assert (
        float(mine[f"{RESOLUTION}_low"])
        < float(mine[f"{RESOLUTION}_estimate"])
        < float(mine[f"{RESOLUTION}_high"])
    )


def test_the_team_page_costs_the_same_queries_at_3_and_10_agents(team: Team) -> None:
    client = login(team.manager)
    client.get(team_url(team))  # warm the session and the caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(team_url(team)).status_code == 200
        return len(captured)

    for i in range(1):
        contacts(team.branch, agent_at(team.branch, f"extra-{i}"), 10, 5, last_week(team.branch))
    small = queries()
    for i in range(1, 8):
        contacts(team.branch, agent_at(team.branch, f"extra-{i}"), 10, 5, last_week(team.branch))
    assert len(links(client.get(team_url(team)).content).agents) == 10
    assert queries() == small <= 15


def test_a_bad_period_is_a_400(team: Team) -> None:
    assert login(team.manager).get(team_url(team) + "&weeks=0").status_code == 400


# --- coaching notes --------------------------------------------------------------------------


def test_a_manager_adds_a_coaching_note_with_linked_reviews(
    team: Team, scorecard: Scorecard
) -> None:
    call = interaction_log(
        actor=team.manager,
        branch=team.branch,
        staff=team.agent,
        occurred_at=at(last_week(team.branch)),
        channel="phone",
        outcome="resolved",
    )
    reviewed = review(team.manager, call, scorecard, greets=0, confirms=1)
    client = login(team.manager)
    page = client.get(agent_url(team.agent, team.branch))
    assert 'name="note"' in page.content.decode()

    done = client.post(
        agent_url(team.agent, team.branch),
        {"note": "Read the amount back.", "reviews": [reviewed.pk]},
    )

    assert done.status_code == 302
    note = CoachingNote.objects.get(agent=team.agent)
    assert (note.author, note.branch, note.note) == (
        team.manager,
        team.branch,
        "Read the amount back.",
    )
    assert list(note.reviews.all()) == [reviewed]
    shown = client.get(done.url).content.decode()  # type: ignore[attr-defined]
    assert "Read the amount back." in shown
    assert "Coaching note saved." in shown
    # The agent reads it on their own page but cannot write one.
    own = login(team.agent).get(agent_url(team.agent, team.branch)).content.decode()
    assert "Read the amount back." in own
    assert 'name="note"' not in own
    refused = login(team.agent).post(agent_url(team.agent, team.branch), {"note": "Me!"})
    assert refused.status_code == 403


def test_bad_coaching_notes_are_refused_with_the_form(team: Team, scorecard: Scorecard) -> None:
    call = interaction_log(
        actor=team.manager,
        branch=team.branch,
        staff=team.colleague,
        occurred_at=at(last_week(team.branch)),
        channel="phone",
        outcome="resolved",
    )
    theirs = review(team.manager, call, scorecard, greets=1, confirms=1)
    client = login(team.manager)

    empty = client.post(agent_url(team.agent, team.branch), {"note": "  "})
    stranger = client.post(
        agent_url(team.agent, team.branch), {"note": "About a call.", "reviews": [theirs.pk]}
    )

    assert empty.status_code == 400
    assert 'aria-invalid="true"' in empty.content.decode()
    assert stranger.status_code == 400
    assert "reviews" in stranger.context["form"].errors
    assert not CoachingNote.objects.exists()


# --- the API ---------------------------------------------------------------------------------

KEYS = itertools.count()


def key(scopes: list[str], branches: Sequence[str] = ()) -> APIClient:
    integration = integration_create(name=f"key {next(KEYS)}", scopes=scopes, branch_codes=branches)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key_create(integration=integration)[1]}")
    return client


def api_url(branch: Branch, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"branch": branch.code, **params}.items())
    return f"{reverse('staff-figures')}?{query}"


def test_the_api_needs_the_staff_scope_and_keeps_to_the_key_branches(team: Team) -> None:
    refused = key(["analytics:read", "interactions:read"]).get(api_url(team.branch))
    assert refused.status_code == 403
    hidden = key(["staff:read"], [team.branch.code]).get(api_url(Branch.objects.get(code="n-b")))
    assert hidden.status_code == 404
    assert hidden["Content-Type"] == "application/problem+json"
    unknown = key(["staff:read"]).get(api_url(team.branch, first="2026-13-01"))
    assert unknown.status_code == 400
    assert "first" in unknown.json()["errors"]
    backwards = key(["staff:read"]).get(api_url(team.branch, first="2026-03-09", last="2026-03-02"))
    assert backwards.status_code == 400
    nowhere = key(["staff:read"]).get(f"{reverse('staff-figures')}?branch=nope")
    assert nowhere.status_code == 404


def test_the_api_gives_each_agent_x_n_and_the_shrunk_interval(team: Team) -> None:
    day = last_week(team.branch)
    first, last = week_start(day), week_start(day) + timedelta(days=7)
    client = key(["staff:read"], [team.branch.code])

    answer = client.get(api_url(team.branch, first=first.isoformat(), last=last.isoformat()))

    assert answer.status_code == 200
    by_agent = {row["agent"]: row for row in answer.json()}
    assert set(by_agent) == {team.agent.username, "colleague"}
    mine = by_agent[team.agent.username]["metrics"][RESOLUTION]
    prior = beta_prior([(24, 30), (15, 25)])
    expected = shrink(24, 30, prior)
    assert (mine["x"], mine["n"], mine["value"]) == (24, 30, 0.8)
    assert mine["estimate"] == pytest.approx(expected.estimate)
    assert (mine["low"], mine["high"]) == (
        pytest.approx(expected.low),
        pytest.approx(expected.high),
    )
    assert mine["rank"] == 1
    assert by_agent["colleague"]["metrics"]["qa_pass"] == {
        "x": 0, "n": 0, "value": None, "estimate": 0.5, "low": pytest.approx(0.025),
        "high": pytest.approx(0.975), "rank": None, "disputed": 0,
    }  # fmt: skip
    # Staff signed in: a manager sees the team, an agent only their own row.
    session = APIClient()
    session.force_login(team.manager)
    assert len(session.get(api_url(team.branch)).json()) == 2
    session.force_login(team.agent)
    assert [r["agent"] for r in session.get(api_url(team.branch)).json()] == [team.agent.username]


def test_the_schema_documents_the_staff_figures(db: None) -> None:
    document = Client().get("/api/schema/?format=json").json()
    operation = document["paths"]["/api/v1/consistency/staff/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"branch", "first", "last"}
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    metrics = document["components"]["schemas"]["StaffMetrics"]["properties"]
    assert set(metrics) == set(STAFF_METRICS)
