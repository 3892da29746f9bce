"""GET /api/v1/consistency/complaint-types/: each type's rate per branch against the chain."""

from __future__ import annotations

import csv
import io

import pytest

from branches.models import Role
from consistency.recompute import consistency_recompute
from tests.consistency.test_complaint_types import MONDAY, planted_chain
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/consistency/complaint-types/"


def test_each_type_at_each_branch_with_the_chain_rate_and_the_flag(client) -> None:
    branches = planted_chain(weeks=1)
    consistency_recompute()
    client.force_login(UserFactory.create(role=Role.ADMIN))
    answer = client.get(URL, {"period_start": MONDAY.isoformat(), "type": "wrong-amount"})
    assert answer.status_code == 200
    rows = {row["branch"]: row for row in answer.json()}
    assert len(rows) == 12
    planted = rows[branches[0].code]
    assert planted["x"] == 6
    assert planted["n"] == 300
    assert planted["area"] == "cash"
    assert planted["metric"] == "complaint_rate:wrong-amount"
    assert planted["flag"] == "alarm"
    assert planted["chain_value"] == pytest.approx(17 / 3600)
    assert rows[branches[1].code]["flag"] == ""

    exported = client.get(URL, {"period_start": MONDAY.isoformat(), "format": "csv"})
    table = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert len(table) == 12 * 3  # three types in the chain that week
    assert {r["type"] for r in table} == {"wrong-amount", "queue-too-long", "unfriendly-staff"}


def test_bad_input_is_a_field_error(client) -> None:
    client.force_login(UserFactory.create(role=Role.ADMIN))
    answer = client.get(URL, {"period_start": "2026-03-03"})  # a Tuesday
    assert answer.status_code == 400
    assert "period_start" in answer.json()["errors"]
    assert client.get(URL, {"branch": "nowhere"}).status_code == 400


def test_flags_and_cases_of_a_type_are_listed_and_filtered_by_its_metric(client) -> None:
    branches = planted_chain()
    consistency_recompute()
    client.force_login(UserFactory.create(role=Role.ADMIN))
    flags = client.get("/api/v1/flags/", {"metric": "complaint_rate:wrong-amount"})
    assert flags.status_code == 200
    rows = flags.json()["results"]
    assert {r["branch"] for r in rows} == {branches[0].code}
    assert {r["metric"] for r in rows} == {"complaint_rate:wrong-amount"}
    cases = client.get("/api/v1/cases/", {"metric": "complaint_rate:wrong-amount"}).json()
    assert [c["branch"] for c in cases["results"]] == [branches[0].code]
    assert "Complaints: Wrong amount" in cases["results"][0]["summary"]
    wrong = client.get("/api/v1/flags/", {"metric": "complaints"})
    assert wrong.status_code == 400
    assert "metric" in wrong.json()["errors"]
