"""The consistency API: metric cells, a region's comparison, the index, the flag queue
with its evidence, and the lifecycle — all limited to the caller's branches."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from branches.models import Branch, Role
from consistency.models import Case, Flag
from consistency.recompute import consistency_recompute
from crm.models import WebhookDelivery
from interactions.models import Interaction
from tests.api.conftest import KeyClient
from tests.conftest import Chain
from tests.factories import BranchFactory, InteractionFactory, UserFactory

WEEK = date(2026, 3, 2)  # a Monday
COMPLAINTS = "complaint_rate"
POOLED = (40 + 1 + 2 + 8 * 2) / 1100  # the chain's complaint rate in the week


def contacts(branch: Branch, count: int, complaints: int) -> None:
    """``count`` resolved phone calls on the Tuesday of WEEK, ``complaints`` of them complaints."""
    moment = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    Interaction.objects.bulk_create(
        InteractionFactory.build(
            branch=branch,
            channel="phone",
            occurred_at=moment,
            wait_seconds=10,
            outcome="resolved",
            is_complaint=i < complaints,
            customer=None,
        )
        for i in range(count)
    )


@pytest.fixture
def judged(chain: Chain) -> Chain:
    """n-a complains four times in ten (an alarm on both tests); n-b, s-a and eight more
    branches in the south (the peers) hardly at all."""
    contacts(chain.north_a, 100, 40)
    contacts(chain.north_b, 100, 1)
    contacts(chain.south_a, 100, 2)
    for number in range(8):
        contacts(BranchFactory.create(region=chain.south, code=f"s-{number}"), 100, 2)
    consistency_recompute()
    return chain


def session(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def cell(rows: list[dict[str, Any]], branch: str, metric: str, channel: str = "all") -> Any:
    [match] = [
        r for r in rows if (r["branch"], r["metric"], r["channel"]) == (branch, metric, channel)
    ]
    return match


def test_metric_cells_carry_counts_targets_limits_and_both_judgements(
    judged: Chain, api: APIClient
) -> None:
    response = api.get("/api/v1/consistency/metrics/", {"period_start": WEEK.isoformat()})
    assert response.status_code == 200
    rows = response.json()
    bad = cell(rows, "n-a", COMPLAINTS)
    assert (bad["x"], bad["n"], bad["value"]) == (40, 100, 0.4)
    assert (bad["target"], bad["direction"], bad["min_n"]) == (0.02, "at_most", 20)
    assert bad["standard"]["status"] == "alarm"
    assert bad["standard"]["upper998"] < 0.4 < 1
    assert bad["peers"]["centre"] == pytest.approx(POOLED)
    good = cell(rows, "n-b", COMPLAINTS)
    assert good["standard"]["status"] == "ok"
    # No e-mail in the week: below the minimum sample, never green.
    email = cell(rows, "n-b", COMPLAINTS, "email")
    assert (email["n"], email["value"], email["standard"]["status"]) == (0, None, "insufficient")
    assert email["standard"]["lower95"] is None
    # The latest period with data is the default.
    assert api.get("/api/v1/consistency/metrics/").json() == rows


def test_metric_cells_filter_and_export_as_csv(judged: Chain, api: APIClient) -> None:
    query = {"metric": COMPLAINTS, "channel": "all", "region": "north"}
    rows = api.get("/api/v1/consistency/metrics/", query).json()
    assert sorted(r["branch"] for r in rows) == ["n-a", "n-b", "n-closed"]
    export = api.get("/api/v1/consistency/metrics/", {**query, "format": "csv"})
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [r["branch"] for r in table] == [r["branch"] for r in rows]
    assert table[0]["standard_status"] == "alarm"
    assert table[0]["peers_status"] == "alarm"
    assert table[0]["n"] == "100"
    one = api.get("/api/v1/consistency/metrics/", {"branch": "s-a", "metric": COMPLAINTS}).json()
    assert {r["branch"] for r in one} == {"s-a"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period_start": "2026-03-03"}, "period_start"),  # a Tuesday
        ({"kind": "month", "period_start": "2026-03-02"}, "period_start"),
        ({"period_start": "yesterday"}, "period_start"),
        ({"metric": "happiness"}, "metric"),
        ({"channel": "fax"}, "channel"),
        ({"branch": "nowhere"}, "branch"),
        ({"region": "nowhere"}, "region"),
        ({"region": ""}, "region"),  # empty is a mistake, not "every region"
    ],
)
def test_bad_queries_are_field_errors(
    judged: Chain, api: APIClient, query: dict[str, str], field: str
) -> None:
    response = api.get("/api/v1/consistency/metrics/", query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_keys_need_the_analytics_scope_and_see_only_their_branches(
    judged: Chain, key_client: KeyClient
) -> None:
    no_scope = key_client(scopes=["interactions:read"])
    for url in ("consistency/metrics/", "consistency/index/", "flags/"):
        assert no_scope.get(f"/api/v1/{url}").status_code == 403
    limited = key_client(scopes=["analytics:read"], branches=["n-b"])
    rows = limited.get("/api/v1/consistency/metrics/", {"metric": COMPLAINTS}).json()
    assert {r["branch"] for r in rows} == {"n-b"}
    assert limited.get("/api/v1/flags/").json()["results"] == []
    flag = Flag.objects.filter(branch=judged.north_a).first()
    assert flag is not None
    assert limited.get(f"/api/v1/flags/{flag.pk}/").status_code == 404
    # Another branch's code reads like an unknown one: nothing leaks.
    hidden = limited.get("/api/v1/consistency/metrics/", {"branch": "n-a"})
    assert hidden.status_code == 400
    assert hidden.json()["errors"] == {"branch": ["No such branch among yours."]}


def test_comparison_ranks_a_regions_branches_against_standard_and_peers(
    judged: Chain,
) -> None:
    regional = session(judged.regional)
    response = regional.get(
        "/api/v1/consistency/comparison/",
        {"region": "north", "metric": COMPLAINTS, "period_start": WEEK.isoformat()},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["target"], body["direction"], body["channel"]) == (0.02, "at_most", "all")
    assert body["pooled"] == pytest.approx(POOLED)  # the whole chain's, not the region's
    # Fewest complaints first; the closed branch without data last.
    assert [b["branch"] for b in body["branches"]] == ["n-b", "n-a", "n-closed"]
    assert body["branches"][1]["peers"]["status"] == "alarm"
    assert body["branches"][2]["standard"]["status"] == "insufficient"
    # The south is not the regional manager's.
    south = regional.get("/api/v1/consistency/comparison/", {"region": "south", "metric": "nps"})
    assert south.status_code == 400
    missing = regional.get("/api/v1/consistency/comparison/", {"region": "north"})
    assert "metric" in missing.json()["errors"]


def test_consistency_index_per_period(judged: Chain, api: APIClient) -> None:
    rows = api.get("/api/v1/consistency/index/", {"kind": "week"}).json()
    [week] = [r for r in rows if r["period_start"] == WEEK.isoformat()]
    assert 0 < week["inside"] < week["cells"]
    assert week["value"] == pytest.approx(week["inside"] / week["cells"])
    assert api.get("/api/v1/consistency/index/", {"since": "2026-04-01"}).json() == []
    assert api.get("/api/v1/consistency/index/", {"kind": "year"}).status_code == 400
    empty = api.get("/api/v1/consistency/index/", {"kind": "month", "format": "csv"})
    assert empty.content.decode().splitlines() == ["kind,period_start,inside,cells,value"]


def test_flag_queue_in_priority_order_pages_by_cursor_and_exports(
    judged: Chain, api: APIClient
) -> None:
    everything = api.get("/api/v1/flags/", {"page_size": 1000}).json()["results"]
    assert everything
    assert {f["branch"] for f in everything} == {"n-a"}
    ranks = [(f["severity"] == "warning", -abs(f["z"] or 0), -f["n"]) for f in everything]
    assert ranks == sorted(ranks)
    seen: list[int] = []
    url: str | None = "/api/v1/flags/?page_size=2"
    while url:
        page = api.get(url).json()
        seen += [f["id"] for f in page["results"]]
        url = page["next"]
    assert seen == [f["id"] for f in everything]
    complaints = api.get(
        "/api/v1/flags/", {"metric": COMPLAINTS, "test": "peers", "channel": "all"}
    ).json()
    assert [(f["metric"], f["test"]) for f in complaints["results"]] == [(COMPLAINTS, "peers")]
    assert api.get("/api/v1/flags/", {"region": "south"}).json()["results"] == []
    assert api.get("/api/v1/flags/", {"is_open": "false"}).json()["results"] == []
    export = api.get("/api/v1/flags/", {"format": "csv"})
    body = b"".join(export.streaming_content)  # type: ignore[attr-defined]
    table = list(csv.DictReader(io.StringIO(body.decode())))
    assert [int(r["id"]) for r in table] == seen
    assert api.get("/api/v1/flags/", {"cursor": "nonsense"}).status_code == 400
    assert api.get("/api/v1/flags/", {"severity": "panic"}).status_code == 400
    assert api.get("/api/v1/flags/", {"period_before": ""}).status_code == 400
    kinds = ["alarm", "warning", "signal"]
    both = api.get("/api/v1/flags/", {"severity": kinds, "page_size": "1000"})
    assert [f["id"] for f in both.json()["results"]] == seen


def test_a_flag_shows_its_evidence(judged: Chain, api: APIClient) -> None:
    InteractionFactory.create(
        branch=judged.north_a,
        occurred_at=datetime(2026, 3, 4, 9, tzinfo=UTC),
        moment=None,
    )
    flag = Flag.objects.get(
        branch=judged.north_a, metric=COMPLAINTS, channel="all", test="standard"
    )
    body = api.get(f"/api/v1/flags/{flag.pk}/").json()
    assert (body["x"], body["n"], body["value"], body["centre"]) == (40, 100, 0.4, 0.02)
    assert body["severity"] == "alarm"
    assert body["status"] == "open"
    assert body["trend"][-1] == {"period_start": "2026-03-02", "x": 40, "n": 100, "value": 0.4}
    assert [h["action"] for h in body["history"]] == ["opened"]
    assert body["history"][0]["actor"] is None  # the engine opened it
    assert body["moments"] == []  # no contact was tied to a moment of truth


def flag_of(chain: Chain) -> Flag:
    return Flag.objects.get(branch=chain.north_a, metric=COMPLAINTS, channel="all", test="standard")


def case_of(chain: Chain) -> Case:
    return Case.objects.get(branch=chain.north_a, metric=COMPLAINTS)


def test_the_case_api_lists_and_details_a_case_with_its_evidence(
    judged: Chain, api: APIClient
) -> None:
    case = case_of(judged)
    page = api.get("/api/v1/cases/", {"metric": COMPLAINTS}).json()
    [item] = [c for c in page["results"] if c["id"] == case.pk]
    assert item["branch"] == "n-a"
    assert item["status"] == "open"
    assert item["severity"] == "alarm"
    assert "all" in item["channels"]
    assert {"standard"} <= set(item["tests"])
    assert (item["first_period"], item["last_period"], item["periods"]) == (
        "2026-03-02",
        "2026-03-02",
        1,
    )
    assert item["summary"].startswith("Complaint rate at n-a: 40 % (40 of 100)")
    assert item["priority"] > 1000  # alarm-level evidence first
    body = api.get(f"/api/v1/cases/{case.pk}/").json()
    assert {f["case"] for f in body["flags"]} == {case.pk}
    assert any(f["discovery"] for f in body["flags"])
    assert [h["action"] for h in body["history"]] == ["opened"]
    assert body["trends"][0]["channel"] == "all"
    csv = api.get("/api/v1/cases/", {"format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")


def test_managers_work_a_case_through_its_lifecycle(judged: Chain) -> None:
    case = case_of(judged)
    regional = session(judged.regional)
    base = f"/api/v1/cases/{case.pk}"
    acknowledged = regional.post(f"{base}/acknowledge/", {"note": "Looking into it"}, format="json")
    assert acknowledged.status_code == 200
    assert acknowledged.json()["status"] == "acknowledged"

    incomplete = regional.post(f"{base}/plan/", {"plan": "  "}, format="json")
    assert incomplete.status_code == 400
    assert {"owner", "due_date"} <= set(incomplete.json()["errors"])
    past = regional.post(
        f"{base}/plan/",
        {"owner": judged.regional.username, "due_date": "2020-01-01", "plan": "Coach the team"},
        format="json",
    )
    assert past.json()["errors"] == {"due_date": ["The due date is in the past."]}
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    unknown = regional.post(
        f"{base}/plan/", {"owner": "nobody", "due_date": due, "plan": "x"}, format="json"
    )
    assert "owner" in unknown.json()["errors"]
    planned = regional.post(
        f"{base}/plan/",
        {"owner": judged.regional.username, "due_date": due, "plan": "Coach the team"},
        format="json",
    ).json()
    assert (planned["status"], planned["owner"], planned["due_date"]) == (
        "action_planned",
        judged.regional.username,
        due,
    )
    monitoring = regional.post(f"{base}/monitor/", {}, format="json").json()
    assert monitoring["status"] == "monitoring"

    assert regional.post(f"{base}/resolve/", {}, format="json").status_code == 400
    noted = regional.post(f"{base}/notes/", {"note": "Second visit booked"}, format="json")
    assert noted.json()["status"] == "monitoring"
    resolved = regional.post(f"{base}/resolve/", {"note": "Coached; calls fine"}, format="json")
    assert resolved.json()["status"] == "resolved"
    again = regional.post(f"{base}/acknowledge/", {}, format="json")
    assert again.status_code == 400
    assert "status" in again.json()["errors"]

    history = resolved.json()["history"]
    assert [h["action"] for h in history] == [
        "opened", "acknowledge", "plan", "monitor", "note", "resolve",
    ]  # fmt: skip
    assert {h["actor"] for h in history[1:]} == {judged.regional.username}
    assert history[2]["note"] == "Coach the team"


def test_only_managers_of_the_branch_move_cases_and_never_api_keys(
    judged: Chain, api: APIClient
) -> None:
    case = case_of(judged)
    url = f"/api/v1/cases/{case.pk}/acknowledge/"
    assert api.post(url, {}, format="json").status_code == 403
    assert session(judged.agent).post(url, {}, format="json").status_code == 403
    south_manager = UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[judged.south])
    assert session(south_manager).post(url, {}, format="json").status_code == 404
    assert session(south_manager).get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert session(judged.regional).post(url, {"note": 5}, format="json").status_code == 400
    assert session(judged.regional).post(url, {"mood": "ok"}, format="json").status_code == 400
    assert "/acknowledge/" not in str(api.get("/api/v1/flags/").json())  # flags: evidence only
    case.refresh_from_db()
    assert case.status == "open"
    assert not case.events.exclude(action="opened").exists()


def test_cases_reach_webhook_subscribers_with_the_analytics_scope(
    chain: Chain, key_client: KeyClient
) -> None:
    watcher = key_client(scopes=["analytics:read", "webhooks:manage"])
    blind = key_client(scopes=["webhooks:manage"])
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["case.opened", "case.updated"]}
    assert watcher.post("/api/v1/webhooks/subscriptions/", hook, format="json").status_code == 201
    refused = blind.post("/api/v1/webhooks/subscriptions/", hook, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["events"] == [
        "These events need the scope analytics:read, which this integration's keys lack."
    ]
    contacts(chain.north_a, 100, 40)
    contacts(chain.north_b, 100, 1)
    consistency_recompute()
    deliveries = WebhookDelivery.objects.select_related("event", "subscription__integration")
    assert {d.subscription.integration_id for d in deliveries} == {watcher.integration.pk}  # type: ignore[attr-defined]
    opened = [d.event.payload for d in deliveries if d.event.event_type == "case.opened"]
    assert [p["data"]["branch"] for p in opened] == ["n-a"]
    assert opened[0]["data"]["status"] == "open"
    case = case_of(chain)
    session(chain.regional).post(f"/api/v1/cases/{case.pk}/acknowledge/", {}, format="json")
    updated = WebhookDelivery.objects.filter(event__event_type="case.updated").last()
    assert updated is not None
    assert updated.event.payload["data"]["id"] == case.pk
    assert updated.event.payload["data"]["status"] == "acknowledged"
    consistency_recompute()  # nothing new: no more events
    assert WebhookDelivery.objects.filter(event__event_type__startswith="case.").count() == 2


def test_a_zero_standard_error_reads_as_a_null_z_not_a_broken_response(
    chain: Chain, api: APIClient
) -> None:
    """Every one of 25 NPS answers a 10: the trinomial variance is 0, z is infinite."""
    Interaction.objects.bulk_create(
        InteractionFactory.build(
            branch=chain.north_a,
            occurred_at=datetime(2026, 3, 3, 12, tzinfo=UTC),
            outcome="resolved",
            nps=10,
            customer=None,
        )
        for _ in range(25)
    )
    consistency_recompute()
    response = api.get("/api/v1/consistency/metrics/", {"metric": "nps", "channel": "all"})
    assert response.status_code == 200
    nps = cell(response.json(), "n-a", "nps")
    assert (nps["value"], nps["standard"]["z"], nps["standard"]["status"]) == (1.0, None, "ok")
