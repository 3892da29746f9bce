"""Priority areas (SPEC §10): a branch's moments of truth and complaint types ranked by what
they cost in satisfaction, on the branch page, the case page (where a plan starts from one)
and the region page, each scoped to the caller's branches."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from branches.models import Branch, User
from complaints.models import Area, ComplaintType
from complaints.services import complaint_record
from consistency.models import Case
from consistency.priorities import priority_areas
from consistency.priority_stats import Verdict
from consistency.selectors import last_complete_start
from customers.models import Customer
from interactions.models import Interaction, Moment, ServiceCycle
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory, MomentFactory

LAST_WEEK = last_complete_start("week")
END = LAST_WEEK + timedelta(days=7)  # the pages' default span ends with the last week
START = END - timedelta(weeks=12)


@dataclass
class Planted:
    count_money: Moment  # critical, 40 % satisfied: clearly worse
    greeting: Moment  # about as satisfied as the rest
    wrong_amount: ComplaintType  # the successor of a retired type of the same code
    premises: ComplaintType  # the worst scores, from 4 answers only


def _day(n: int) -> datetime:
    """Noon (UTC) of the n-th day of the span: the same local day in Oslo."""
    return datetime.combine(START + timedelta(days=n % 84), time(12), UTC)


def _contacts(
    branch: Branch,
    count: int,
    *,
    answered: int,
    satisfied: int,
    moment: Moment | None = None,
    customers: list[Customer] | None = None,
) -> list[Interaction]:
    """``count`` contacts spread over the span, ``answered`` of them with a CSAT (and an
    NPS), ``satisfied`` of those a 5 (and a 10), the others a 2 (and a 3)."""
    rows = [
        InteractionFactory.build(
            branch=branch,
            customer=customers[i % len(customers)] if customers else None,
            occurred_at=_day(i),
            moment=moment,
            csat=(5 if i < satisfied else 2) if i < answered else None,
            nps=(10 if i < satisfied else 3) if i < answered else None,
        )
        for i in range(count)
    ]
    return Interaction.objects.bulk_create(rows)


def _complaints(admin: User, contacts: list[Interaction], kind: ComplaintType) -> None:
    for contact in contacts:
        complaint_record(actor=admin, interaction=contact, complaint_type=kind)


def plant(chain: Chain) -> Planted:
    branch, admin = chain.north_a, chain.admin
    cycle = ServiceCycle.objects.create(code="cash-cheque", name="Cash a cheque")
    count_money = MomentFactory.create(cycle=cycle, name="Count the money", is_critical=True)
    greeting = MomentFactory.create(cycle=cycle, name="Greeting")
    cash = Area.objects.create(code="cash", name_en="Cash", name_id="Uang tunai")
    place = Area.objects.create(code="premises", name_en="Premises", name_id="Tempat")
    first = ComplaintType.objects.create(area=cash, code="wrong-amount", name_en="Wrong amount")
    premises = ComplaintType.objects.create(
        area=place, code="premises", name_en="Premises dirty", name_id="Tempat kotor"
    )
    # The rest: 400 contacts, 200 answers, 170 satisfied (85 %).
    _contacts(branch, 400, answered=200, satisfied=170)
    _contacts(branch, 60, answered=40, satisfied=16, moment=count_money)
    _contacts(branch, 60, answered=40, satisfied=32, moment=greeting)
    # Wrong amount: 40 contacts of 10 customers, 30 answers, 6 satisfied (20 %); the first
    # 16 typed before the type was retired and replaced by one of the same code.
    people = CustomerFactory.create_batch(10)
    wrong = _contacts(branch, 40, answered=30, satisfied=6, customers=people)
    _complaints(admin, wrong[:16], first)
    ComplaintType.objects.filter(pk=first.pk).update(retired_at=timezone.now())
    wrong_amount = ComplaintType.objects.create(
        area=cash, code="wrong-amount", name_en="Wrong amount paid out",
        name_id="Jumlah salah dibayar", replaces=first, moment=count_money,
    )  # fmt: skip
    _complaints(admin, wrong[16:], wrong_amount)
    # Premises: 30 contacts, only 4 answers, none satisfied.
    _complaints(admin, _contacts(branch, 30, answered=4, satisfied=0), premises)
    # Not counted: before the span, deleted, or at another branch.
    InteractionFactory.create(
        branch=branch, moment=count_money, csat=1, occurred_at=_day(0) - timedelta(days=2)
    )
    InteractionFactory.create(
        branch=branch, moment=count_money, csat=1, occurred_at=_day(3), deleted_at=timezone.now()
    )
    _contacts(chain.north_b, 50, answered=30, satisfied=3, moment=greeting)
    return Planted(count_money, greeting, wrong_amount, premises)


@pytest.fixture
def planted(chain: Chain) -> Planted:
    return plant(chain)


def areas_of(branch: Branch) -> list[Any]:
    return priority_areas(branch_ids=[branch.pk], start=START, end=END)


# --- the ranking -----------------------------------------------------------------------------


def test_the_planted_moment_and_type_rank_first_as_clear_harm(
    chain: Chain, planted: Planted
) -> None:
    areas = areas_of(chain.north_a)
    by_key = {a.key: a for a in areas}
    first, second = areas[0], areas[1]
    assert {first.key, second.key} == {f"moment:{planted.count_money.pk}", "type:wrong-amount"}
    assert first.verdict == second.verdict == Verdict.HARM
    assert first.cost.lost.estimate >= second.cost.lost.estimate
    assert [a.rank for a in areas] == list(range(1, len(areas) + 1))

    money = by_key[f"moment:{planted.count_money.pk}"]
    # 60 contacts, 40 answers, 16 satisfied, against every other contact of the branch in
    # the span (deleted ones and those before it left out).
    assert (money.cost.affected.contacts, money.cost.affected.csat_n) == (60, 40)
    assert money.cost.affected.csat_ok == 16
    rest = money.cost.rest
    assert (rest.contacts, rest.csat_n, rest.csat_ok) == (530, 274, 208)
    assert money.cost.csat.estimate == pytest.approx(16 / 40 - 208 / 274)
    assert money.cost.lost.estimate == pytest.approx((208 / 274 - 16 / 40) * 60)
    assert money.cost.csat.upper < 0
    assert money.is_critical
    assert money.within == "Cash a cheque"
    assert money.name == "Count the money"
    assert money.customers == 0  # anonymous walk-ins

    wrong = by_key["type:wrong-amount"]
    # One line for the retired type and its successor, named by the successor.
    assert wrong.name == "Wrong amount paid out"
    assert wrong.within == "Cash"
    assert (wrong.cost.affected.contacts, wrong.cost.affected.csat_n) == (40, 30)
    assert wrong.customers == 10
    assert wrong.is_critical  # its moment is critical


def test_a_type_with_few_answers_is_listed_last_as_too_little_data(
    chain: Chain, planted: Planted
) -> None:
    areas = areas_of(chain.north_a)
    last = areas[-1]
    assert last.key == "type:premises"
    assert last.verdict == Verdict.TOO_LITTLE_DATA
    assert last.cost.csat is None
    assert last.cost.lost is None
    assert last.cost.affected.csat_share == 0.0  # the worst estimate, never ranked high
    greeting = next(a for a in areas if a.key == f"moment:{planted.greeting.pk}")
    assert greeting.verdict == Verdict.UNCERTAIN


def test_names_are_in_the_readers_language(chain: Chain, planted: Planted) -> None:
    with translation.override("id"):
        areas = {a.key: a for a in areas_of(chain.north_a)}
        assert areas["type:wrong-amount"].name == "Jumlah salah dibayar"
        assert areas["type:wrong-amount"].within == "Uang tunai"


def test_nothing_to_rank_without_branches_or_contacts(chain: Chain) -> None:
    assert priority_areas(branch_ids=[], start=START, end=END) == []
    assert areas_of(chain.south_a) == []


def test_the_selector_costs_five_queries_however_many_areas(
    chain: Chain, planted: Planted, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(5):
        areas_of(chain.north_a)
    more = MomentFactory.create(cycle=planted.greeting.cycle, name="Leave")
    _contacts(chain.north_a, 20, answered=12, satisfied=6, moment=more)
    with django_assert_num_queries(5):
        assert len(areas_of(chain.north_a)) == 5


# --- the branch page ---------------------------------------------------------------------------


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_of(response: Any) -> list[dict[str, str]]:
    """A streamed CSV export's rows, read in full."""
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def branch_page(client: Client, **query: str) -> Any:
    return client.get("/branches/n-a/", {"period": LAST_WEEK.isoformat(), **query})


def test_the_branch_page_lists_the_top_five_with_their_figures(
    chain: Chain, planted: Planted
) -> None:
    page = branch_page(signed_in(chain.admin))
    assert page.status_code == 200
    text = page.content.decode()
    section = text[text.index('id="priorities-h"') :]
    section = section[: section.index("</section>")]
    assert "Count the money" in section
    assert "Wrong amount paid out" in section
    assert len(re.findall(r'<tr id="priority-\d+"', section)) == 4  # all four areas
    assert "clearly worse" in section
    assert "too little data" in section
    assert f"{START:%-d %b %Y}" in section  # the span is said
    assert "Start an action plan" not in section  # plans start on a case's page


def test_the_branch_page_exports_the_whole_list(chain: Chain, planted: Planted) -> None:
    response = branch_page(signed_in(chain.admin), format="csv", table="priorities")
    assert response.status_code == 200
    rows = csv_of(response)
    assert [r["key"] for r in rows][-1] == "type:premises"
    assert {r["verdict"] for r in rows[:2]} == {"harm"}
    assert rows[0]["first_day"] == START.isoformat()
    assert rows[0]["last_day"] == (END - timedelta(days=1)).isoformat()


def test_the_branch_page_section_costs_the_same_however_many_areas(
    chain: Chain, planted: Planted
) -> None:
    client = signed_in(chain.admin)
    branch_page(client)  # warm: sessions, the branch directory, the standard
    with CaptureQueriesContext(connection) as before:
        branch_page(client)
    for name in ("Leave", "Queue", "Counter"):
        more = MomentFactory.create(cycle=planted.greeting.cycle, name=name)
        _contacts(chain.north_a, 15, answered=12, satisfied=6, moment=more)
    area = Area.objects.get(code="cash")
    fee = ComplaintType.objects.create(area=area, code="fee", name_en="Unexpected fee")
    _complaints(chain.admin, _contacts(chain.north_a, 12, answered=11, satisfied=2), fee)
    with CaptureQueriesContext(connection) as after:
        text = branch_page(client).content.decode()
    assert "The first 5 of 8 areas" in text
    assert len(after.captured_queries) == len(before.captured_queries)


# --- the case page -------------------------------------------------------------------------------


def a_case(branch: Branch) -> Case:
    return Case.objects.create(
        branch=branch, metric="complaint_rate", severity="alarm", rank=0,
        first_period=LAST_WEEK, last_period=LAST_WEEK, periods=1, x=4, n=60, value=0.07,
        target=0.02, summary=f"Complaint rate at {branch.code}",
    )  # fmt: skip


def test_a_plan_starts_from_the_link_the_case_page_offers(chain: Chain, planted: Planted) -> None:
    case = a_case(chain.north_a)
    client = signed_in(chain.regional)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Priority areas of the branch" in page
    links = re.findall(r'href="(\?plan_from=[^"#]+)#plan-h"', page)
    assert len(links) == 4
    wrong = next(link for link in links if "wrong-amount" in link)
    form = client.get(f"/cases/{case.pk}/{html.unescape(wrong)}").content.decode()
    found = re.search(r'<textarea name="plan"[^>]*>(.*?)</textarea>', form, re.S)
    assert found is not None
    plan = html.unescape(found[1]).strip()
    assert plan.startswith("Priority area: complaint type “Wrong amount paid out” (Cash)")
    assert "20 % satisfied (30 answers)" in plan
    assert "clearly worse" in plan
    assert "of 40 contacts, 10 customers" in plan
    assert plan.endswith("What we will do:")
    # Saved as the plan, it is the case's plan.
    response = client.post(
        f"/cases/{case.pk}/plan/",
        {"owner": chain.regional.username, "due_date": "2030-01-31", "plan": plan + " recount."},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.plan.startswith("Priority area: complaint type")


def test_an_unknown_area_prefills_nothing(chain: Chain, planted: Planted) -> None:
    case = a_case(chain.north_a)
    page = signed_in(chain.regional).get(f"/cases/{case.pk}/", {"plan_from": "type:nope"})
    assert page.status_code == 200
    plan = re.search(r'<textarea name="plan"[^>]*>(.*?)</textarea>', page.content.decode(), re.S)
    assert plan is not None
    assert plan[1].strip() == ""


def test_who_may_not_act_gets_no_link_and_no_prefill(chain: Chain, planted: Planted) -> None:
    case = a_case(chain.north_a)
    page = signed_in(chain.agent).get(f"/cases/{case.pk}/", {"plan_from": "type:wrong-amount"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Wrong amount paid out" in text  # the list is shown
    assert re.search(r'plan_from=[^"]*#plan-h"', text) is None
    assert "What we will do" not in text


def test_the_case_page_exports_its_priority_areas(chain: Chain, planted: Planted) -> None:
    case = a_case(chain.north_a)
    response = signed_in(chain.agent).get(
        f"/cases/{case.pk}/", {"format": "csv", "table": "priorities"}
    )
    assert len(csv_of(response)) == 4


# --- the region page ----------------------------------------------------------------------------


def region_csv(client: Client, **query: str) -> list[dict[str, str]]:
    response = client.get("/priorities/", {"format": "csv", **query})
    assert response.status_code == 200
    return csv_of(response)


def test_the_region_pools_its_branches(chain: Chain, planted: Planted) -> None:
    client = signed_in(chain.regional)
    page = client.get("/priorities/")
    assert page.status_code == 200
    assert "Priority areas: " in page.content.decode()  # their region by default
    rows = {r["key"]: r for r in region_csv(client, region="north")}
    # n-b's 50 greetings join n-a's 60.
    assert rows[f"moment:{planted.greeting.pk}"]["contacts"] == "110"
    one = {r["key"]: r for r in region_csv(client, branch="n-b")}
    assert set(one) == {f"moment:{planted.greeting.pk}"}
    weeks = region_csv(client, region="north", weeks="1", until=LAST_WEEK.isoformat())
    assert all(r["first_day"] == LAST_WEEK.isoformat() for r in weeks)


def test_a_branch_manager_sees_only_their_branches_of_the_region(
    chain: Chain, planted: Planted
) -> None:
    client = signed_in(chain.manager)  # n-b only
    rows = region_csv(client, region="north")
    assert {r["key"] for r in rows} == {f"moment:{planted.greeting.pk}"}
    assert rows[0]["contacts"] == "50"
    assert client.get("/priorities/", {"branch": "n-a"}).status_code == 400


def test_others_regions_are_refused_as_a_form_error(chain: Chain, planted: Planted) -> None:
    client = signed_in(chain.south_agent)
    assert client.get("/priorities/", {"region": "north"}).status_code == 400
    assert region_csv(client) == []  # their own branch has no areas
    for query in [{"weeks": "0"}, {"weeks": "x"}, {"until": "31/02/2026"}]:
        assert client.get("/priorities/", query).status_code == 400


def test_the_region_page_is_in_the_navigation(chain: Chain) -> None:
    page = signed_in(chain.regional).get("/priorities/").content.decode()
    assert 'href="/priorities/" aria-current="page"' in page


# --- the API ----------------------------------------------------------------------------------


def test_the_api_ranks_a_branchs_areas(chain: Chain, planted: Planted) -> None:
    client = signed_in(chain.regional)
    query = {"branch": "n-a", "start": START.isoformat(), "end": END.isoformat()}
    body = client.get("/api/v1/consistency/priorities/", query).json()
    assert body["branches"] == ["n-a"]
    assert (body["start"], body["end"]) == (START.isoformat(), END.isoformat())
    keys = [a["key"] for a in body["areas"]]
    assert set(keys[:2]) == {f"moment:{planted.count_money.pk}", "type:wrong-amount"}
    assert keys[-1] == "type:premises"
    wrong = body["areas"][keys.index("type:wrong-amount")]
    assert wrong["verdict"] == "harm"
    assert wrong["customers"] == 10
    assert wrong["csat_upper"] < 0
    # By default: the 12 weeks to the last complete one, every branch the caller sees.
    default = client.get("/api/v1/consistency/priorities/").json()
    assert default["branches"] == ["n-a", "n-b", "n-closed"]
    assert default["end"] == END.isoformat()


def test_the_api_refuses_what_is_out_of_reach_or_malformed(chain: Chain, planted: Planted) -> None:
    client = signed_in(chain.south_agent)
    for query, field in [
        ({"branch": "n-a"}, "branch"),
        ({"region": "north"}, "region"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, "end"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "start"),
        ({"start": "yesterday"}, "start"),
    ]:
        response = client.get("/api/v1/consistency/priorities/", query)
        assert response.status_code == 400, query
        assert field in json.dumps(response.json()), query
