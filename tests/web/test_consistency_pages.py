"""The comparison, funnel plot, branch page and the flag queue, on the demo chain."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone

from consistency.models import Case, Flag
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return match[1]


def test_each_role_lands_on_its_home(demo: dict) -> None:
    assert signed_in("agent.eas-04.1").get("/")["Location"] == "/log/"
    regional = signed_in("rm.east").get("/")
    assert "Open cases" in regional.text
    assert "eas-04" in regional.text
    assert "cen-02" not in regional.text
    admin = signed_in("admin").get("/")
    assert "The whole chain" in admin.text
    assert "Administration" in admin.text


def test_the_comparison_shows_value_n_and_the_planted_branch_in_alarm(demo: dict) -> None:
    page = signed_in("rm.east").get("/comparison/", {"period": "2026-11-09"})
    assert page.status_code == 200
    row = re.search(r"eas-04</a>.*?</tr>", page.text, re.S)
    assert row is not None
    assert "status-alarm" in row.group(0)  # its complaint rate
    assert re.search(r"n \d+ · vs standard", row.group(0))
    # The tiny noisy branch is grey (insufficient) somewhere, never flagged green by default.
    small = re.search(r"eas-08</a>.*?</tr>", page.text, re.S)
    assert small is not None
    assert "insufficient data" in small.group(0)


def test_the_comparison_sorts_by_a_metric(demo: dict) -> None:
    client = signed_in("admin")
    worst_first = client.get("/comparison/", {"sort": "complaint_rate", "dir": "desc"}).text
    codes = re.findall(r'<th scope="row"><a href="/branches/([\w-]+)/', worst_first)
    assert codes[0] == "eas-04"
    best_first = client.get("/comparison/", {"sort": "complaint_rate", "dir": "asc"}).text
    assert re.findall(r'<th scope="row"><a href="/branches/([\w-]+)/', best_first)[0] != "eas-04"


def test_bad_choices_are_a_400_with_the_reason(demo: dict) -> None:
    client = signed_in("admin")
    for query in [{"period": "31/02/2026"}, {"channel": "fax"}, {"kind": "decade"}]:
        response = client.get("/comparison/", query)
        assert response.status_code == 400
        assert "correct the choices" in response.text
    assert client.get("/flags/", {"severity": "doom"}).status_code == 400


def test_the_funnel_plot_draws_every_branch_and_the_limits(demo: dict) -> None:
    page = signed_in("admin").get("/funnel/", {"metric": "complaint_rate", "period": "2026-11-09"})
    figure = json.loads(found(r'id="funnel-data"[^>]*>(.*?)</script>', page.text))
    names = {trace["name"] for trace in figure["data"]}
    assert {"Standard 95 %", "Standard 99.8 %", "Peers 95 %", "Target", "Branches"} <= names
    points = next(t for t in figure["data"] if t["name"] == "Branches")
    assert "eas-04" in points["text"]
    assert len(points["text"]) >= 7
    upper = [t for t in figure["data"] if t["name"] == "Standard 99.8 %"][1]["y"]
    assert upper[0] > upper[-1]  # limits narrow as samples grow
    # The alarm branch is listed first in the table below the plot.
    assert re.findall(r'<th scope="row"><a href="/branches/([\w-]+)/', page.text)[0] == "eas-04"


def test_a_branch_page_has_trends_cusum_and_moments(demo: dict) -> None:
    page = signed_in("bm.nor-05").get("/branches/nor-05/")
    assert page.status_code == 200
    for chart in ["trend-response_within_standard", "cusum-response_within_standard", "trend-nps"]:
        assert f'id="{chart}"' in page.text
    assert "cusum-nps" not in page.text  # NPS is not charted by CUSUM
    assert "Moments of truth" in page.text
    assert "Count the money" in page.text
    assert "signalled on" in page.text  # the sliding branch's drift


def test_the_flag_queue_filters_and_exports(demo: dict) -> None:
    client = signed_in("admin")
    page = client.get("/flags/", {"branch": "eas-04", "metric": "complaint_rate"})
    assert page.status_code == 200
    assert "eas-04" in page.text
    assert "cen-02</a>" not in page.text
    csv = client.get("/flags/", {"branch": "eas-04", "format": "csv"}).getvalue()
    lines = csv.decode().strip().splitlines()
    assert lines[0].startswith("id,branch,metric")
    assert (
        len(lines) - 1
        == Flag.objects.filter(branch__code="eas-04").exclude(status__in=Flag.CLOSED).count()
    )
    assert all(",eas-04," in line for line in lines[1:])


def test_a_manager_works_a_case_through_its_lifecycle(demo: dict) -> None:
    case = Case.objects.get(branch__code="eas-04", metric="complaint_rate")
    client = signed_in("rm.east")
    page = client.get(f"/cases/{case.pk}/")
    assert "Complaint rate at eas-04" in found(
        r'<p class="lead" id="case-summary">(.*?)</p>', page.text
    )
    client.post(f"/cases/{case.pk}/acknowledge/", {"note": "Looking into it"})
    past = client.post(
        f"/cases/{case.pk}/plan/",
        {"owner": "bm.eas-04", "due_date": "2020-01-01", "plan": "Retrain the counter"},
    )
    assert past.status_code == 400
    assert "The due date is in the past." in past.text
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    client.post(
        f"/cases/{case.pk}/plan/", {"owner": "bm.eas-04", "due_date": due, "plan": "Retrain"}
    )
    client.post(f"/cases/{case.pk}/monitor/", {"note": ""})
    empty = client.post(f"/cases/{case.pk}/resolve/", {"note": ""})
    assert empty.status_code == 400
    assert "Say what was done." in empty.text
    done = client.post(f"/cases/{case.pk}/resolve/", {"note": "Counter retrained"}, follow=True)
    assert "Case closed." in done.text
    case.refresh_from_db()
    assert case.owner is not None
    assert (case.status, case.owner.username, case.due_date) == (
        "resolved", "bm.eas-04", date.fromisoformat(due),
    )  # fmt: skip
    history = found(r'<ol id="case-history">(.*?)</ol>', done.text)
    for step in [
        "acknowledge (open",
        "plan (acknowledged",
        "monitor (action_planned",
        "resolved): Counter retrained",
    ]:
        assert step in history


def test_the_queue_acknowledges_several_cases_at_once(demo: dict) -> None:
    client = signed_in("admin")  # the whole chain's queue
    open_cases = list(Case.objects.filter(status="open")[:2])
    assert len(open_cases) == 2
    queue = client.get("/cases/")
    for case in open_cases:
        assert f'value="{case.pk}"' in queue.text
    done = client.post("/cases/acknowledge/", {"case": [c.pk for c in open_cases]}, follow=True)
    assert "Acknowledged 2 cases." in done.text
    assert {c.status for c in Case.objects.filter(pk__in=[c.pk for c in open_cases])} == {
        "acknowledged"
    }
    foreign = Case.objects.exclude(branch__region__code="east").filter(status="open").first()
    assert foreign is not None
    nothing = signed_in("rm.east").post("/cases/acknowledge/", {"case": [foreign.pk]}, follow=True)
    assert "Tick the cases" in nothing.text
    assert Case.objects.get(pk=foreign.pk).status == "open"


def test_every_table_of_the_branch_and_flag_pages_exports(demo: dict) -> None:
    client = signed_in("bm.eas-04")
    moments = client.get("/branches/eas-04/", {"format": "csv", "table": "moments"})
    lines = moments.getvalue().decode().splitlines()
    assert lines[0].startswith("moment,critical,contacts,complaints")
    assert any("Count the money" in line for line in lines[1:])
    trends = client.get("/branches/eas-04/", {"format": "csv"}).getvalue().decode()
    assert trends.splitlines()[0].startswith("metric,period_start,x,n,value")
    assert trends.count("complaint_rate,") == 8  # eight weeks of the demo
    flag = Flag.objects.filter(branch__code="eas-04").first()
    assert flag is not None
    history = client.get(f"/flags/{flag.pk}/", {"format": "csv", "table": "history"})
    assert ",opened," in history.getvalue().decode()
    trend = client.get(f"/flags/{flag.pk}/", {"format": "csv"}).getvalue().decode()
    assert trend.splitlines()[0] == "period_start,x,n,value"
    assert (
        signed_in("agent.cen-02.1")
        .get(f"/flags/{flag.pk}/", {"format": "csv", "table": "history"})
        .status_code
        == 404
    )
