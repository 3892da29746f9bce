"""CSV in (import_csv, idempotent, with a per-row report) and out (?format=csv, streamed)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from customers.models import Customer
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import InteractionFactory

CUSTOMERS = """source,external_id,name,email,phone,home_branch,consent_surveys,tags
pos,C-1,Ada Lovelace,ada@example.com,+44 20 7946 0018,n-a,true,vip;early
pos,C-2,Alan Turing,alan@example.org,,s-a,false,
pos,C-3,Broken,not-an-email,,n-a,,
pos,C-4,Nowhere,,,no-such-branch,,
"""
INTERACTIONS = """\
source,external_id,branch,customer_source,customer_external_id,channel,occurred_at,\
wait_seconds,outcome,csat,is_complaint
callcentre,K-1,n-a,pos,C-1,phone,2026-11-02T09:00:00Z,25,resolved,5,false
callcentre,K-2,s-a,pos,C-2,email,2026-11-02T10:00:00Z,3600,follow_up,,true
callcentre,K-3,n-a,pos,C-9,phone,2026-11-02T11:00:00Z,25,resolved,,
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(*args: object) -> tuple[str, str, bool]:
    out, err = io.StringIO(), io.StringIO()
    failed = False
    try:
        call_command("import_csv", *map(str, args), stdout=out, stderr=err)
    except CommandError as exc:
        failed = True
        err.write(str(exc))
    return out.getvalue(), err.getvalue(), failed


def test_import_reports_each_bad_row_keeps_the_good_ones_and_is_idempotent(
    chain: Chain, tmp_path: Path
) -> None:
    customers = write(tmp_path, "customers.csv", CUSTOMERS)
    out, err, failed = run("customers", customers)
    assert failed
    assert "2 created" in out
    assert "2 error" in out
    assert "line 4: email" in err
    assert "line 5: home_branch" in err
    ada = Customer.objects.get(external_id="C-1")
    assert (ada.phone, ada.tags, ada.consent_surveys, ada.home_branch) == (
        "+442079460018",
        ["vip", "early"],
        True,
        chain.north_a,
    )
    out, _, _ = run("customers", customers)
    assert "0 created, 0 updated, 2 unchanged" in out
    assert Customer.objects.count() == 2

    interactions = write(tmp_path, "interactions.csv", INTERACTIONS)
    out, err, failed = run("interactions", interactions)
    assert failed
    assert "2 created" in out
    assert "line 4: customer_ref" in err
    call = Interaction.objects.get(external_id="K-1")
    assert (call.customer, call.csat, call.wait_seconds) == (ada, 5, 25)
    assert Interaction.objects.get(external_id="K-2").is_complaint


def test_dry_run_saves_nothing(chain: Chain, tmp_path: Path) -> None:
    out, _, _ = run("customers", write(tmp_path, "c.csv", CUSTOMERS), "--dry-run")
    assert out.startswith("Would import")
    assert not Customer.objects.exists()


def test_import_refuses_missing_or_empty_files(chain: Chain, tmp_path: Path) -> None:
    assert "No such file" in run("customers", tmp_path / "absent.csv")[1]
    assert "empty" in run("customers", write(tmp_path, "e.csv", ""))[1]


def test_csv_export_streams_every_matching_row_scoped(chain: Chain, key_client: object) -> None:
    InteractionFactory.create_batch(3, branch=chain.north_a, topic="=HYPERLINK(1)")
    InteractionFactory.create(branch=chain.south_a)
    client: APIClient = key_client(branches=["n-a"])  # type: ignore[operator]
    response = client.get("/api/v1/interactions/", {"format": "csv", "page_size": "1"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(rows) == 3  # every row, not one page; only the key's branch
    assert {r["branch"] for r in rows} == {"n-a"}
    assert rows[0]["topic"] == "'=HYPERLINK(1)"  # formulas are neutralised for spreadsheets


@pytest.mark.parametrize("fmt", ["xml", ""])
def test_unknown_export_formats_are_refused(chain: Chain, api: APIClient, fmt: str) -> None:
    assert api.get("/api/v1/customers/", {"format": fmt}).status_code in {400, 404}
