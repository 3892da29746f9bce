"""A scorecard, an interaction at n-a handled by the chain's agent, and the people around it
(on top of the chain fixture of tests/conftest.py); and how the page tests read pages: the
links and inputs a browser would follow and fill in."""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from branches.models import Branch, Role, User
from feedback.models import FeedbackResponse
from interactions.models import Interaction
from quality.models import Item, Review, SamplingRule, Scale, Scorecard, Section
from quality.sampling import assignments_draw
from quality.services import review_submit
from tests.conftest import Chain
from tests.factories import InteractionFactory, UserFactory

GOOD = {"greets": 1, "tone": 4, "confirms-amount": 1, "offers-more": None}  # 94 %, passed


def two_section_scorecard(
    code: str = "phone", effective_from: date = date(2020, 1, 1)
) -> Scorecard:
    """Two sections, four items: a plain yes/no, a 1-5 that may not apply, a critical
    yes/no weighing double, and a yes/no that may not apply."""
    card = Scorecard.objects.create(
        code=code,
        text_en="Phone call",
        text_id="Panggilan telepon",
        channel="phone",
        effective_from=effective_from,
        pass_mark=0.8,
    )
    opening = Section.objects.create(scorecard=card, position=1, text_en="Opening")
    money = Section.objects.create(scorecard=card, position=2, text_en="Money")
    items: list[tuple[Section, int, str, str, dict[str, Any]]] = [
        (opening, 1, "greets", "Greets by name", {}),
        (opening, 2, "tone", "Friendly tone", {"scale": Scale.ONE_TO_FIVE, "allow_na": True}),
        (money, 1, "confirms-amount", "Confirms the amount", {"critical": True, "weight": 2}),
        (money, 2, "offers-more", "Offers further help", {"allow_na": True}),
    ]
    for section, position, item_code, text, extra in items:
        Item.objects.create(
            section=section, position=position, code=item_code, text_en=text, **extra
        )
    return card


@dataclass
class Desk:
    """The chain, a phone scorecard, and a call at n-a handled by ``chain.agent``."""

    chain: Chain
    scorecard: Scorecard
    call: Interaction
    lead: User  # branch manager of n-a: reviews its calls
    colleague: User  # another agent at n-a


@pytest.fixture
def desk(chain: Chain) -> Desk:
    call = InteractionFactory.create(
        branch=chain.north_a,
        staff=chain.agent,
        channel="phone",
        topic="Cheque deposit",
        notes="Customer asked twice about the fee.",
        csat=2,
        nps=3,
        occurred_at=timezone.now() - timedelta(days=2),
    )
    FeedbackResponse.objects.create(
        interaction=call,
        branch=chain.north_a,
        csat=2,
        nps=3,
        comment="Nobody told me the fee.",
        received_at=timezone.now() - timedelta(days=1),
    )
    return Desk(
        chain=chain,
        scorecard=two_section_scorecard(),
        call=call,
        lead=UserFactory.create(role=Role.BRANCH_MANAGER, branches=[chain.north_a]),
        colleague=UserFactory.create(role=Role.AGENT, branches=[chain.north_a]),
    )


# --- reading pages the way a browser does ----------------------------------------------------


class Page(HTMLParser):
    """The links (with their text and rel) and the inputs of a page's content."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self.inputs: list[dict[str, str | None]] = []
        self._link: dict[str, str] | None = None
        self.feed(html[html.find("<main") :])  # the page's own content, not the menu

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self._link = {"href": values["href"] or "", "rel": values.get("rel") or "", "text": ""}
            self.links.append(self._link)
        elif tag == "input":
            self.inputs.append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link["text"] += data

    def link(self, *, text: str = "", rel: str = "") -> str:
        for link in self.links:
            if text in link["text"] and (not rel or link["rel"] == rel):
                return link["href"]
        raise AssertionError(f"no link {text!r} {rel!r} among {self.links}")

    def value(self, name: str) -> str:
        return next(i["value"] or "" for i in self.inputs if i.get("name") == name)

    def checked(self, name: str) -> str | None:
        return next(
            (i["value"] for i in self.inputs if i.get("name") == name and "checked" in i), None
        )


def follow(client: Client, page_url: str, href: str) -> Any:
    return client.get(urljoin(page_url, href))


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def shown(response: Any) -> str:
    """The page's text as a reader sees it (entities decoded)."""
    return html.unescape(response.content.decode())


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_answers(values: dict[str, int | None], **extra: str) -> dict[str, str]:
    data = {f"answer-{code}": "na" if v is None else str(v) for code, v in values.items()}
    return {**data, **extra}


def review_of(desk: Desk, values: dict[str, int | None] = GOOD, **kwargs: Any) -> Review:
    return review_submit(
        actor=desk.lead, interaction=desk.call, values=values, scorecard_code="phone", **kwargs
    )


def assert_hidden(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404


def assert_sign_in_first(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- sampled assignments ----------------------------------------------------------------


def monday(weeks_ago: int) -> date:
    today = timezone.localdate()
    return today - timedelta(days=today.weekday() + 7 * weeks_ago)


def calls_in_week(branch: Branch, agent: User, week: date, count: int) -> list[Interaction]:
    noon = datetime.combine(week + timedelta(days=2), time(12), tzinfo=UTC)
    return [
        InteractionFactory.create(
            branch=branch, staff=agent, channel="phone", occurred_at=noon + timedelta(minutes=i)
        )
        for i in range(count)
    ]


def draw(desk: Desk, reviewer: User, *, weeks_ago: int, count: int, due_days: int) -> None:
    calls_in_week(desk.chain.north_a, desk.chain.agent, monday(weeks_ago), count)
    rule = SamplingRule.objects.create(
        name=f"Calls {weeks_ago}", scorecard_code="phone", per_agent=count, due_days=due_days
    )
    rule.reviewers.set([reviewer])
    rule.branches.set([desk.chain.north_a])
    assert assignments_draw(rule, monday(weeks_ago)).assigned == count
