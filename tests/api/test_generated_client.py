"""The API as an integrator meets it: the live schema checked by openapi-spec-validator, a
client generated from it by openapi-python-client (every operation, not one warning), and
a sync run end to end through that client, and through examples/sync.py, against a live
server: keys, bulk upserts retried with their Idempotency-Key, cursor pages to the end with
deletions, If-Match, a signed webhook checked as a receiver would, and flags read."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.request import urlopen

import pytest
from openapi_spec_validator import validate

from crm.services import api_key_create, integration_create
from crm.webhooks import webhook_deliveries_send
from customers.models import Customer
from interactions.models import Interaction
from tests.api.conftest import ALL_SCOPES
from tests.factories import BranchFactory, RegionFactory

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "crm_api_client"
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client_package(live_server: Any, tmp_path: Path) -> Iterator[ModuleType]:
    """A client generated from the schema the live server serves, importable."""
    schema = json.loads(urlopen(f"{live_server.url}/api/schema/?format=json").read())  # noqa: S310
    validate(schema)  # raises on anything an OpenAPI 3.0 document may not say
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    # The generator formats its output with ruff, which lives beside this Python.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(
        [
            str(GENERATOR), "generate", "--path", str(tmp_path / "schema.json"),
            "--meta", "none", "--output-path", str(tmp_path / PACKAGE),
        ],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    said = run.stdout + run.stderr
    assert run.returncode == 0, said
    assert "Warning" not in said, said
    assert "Skipping" not in said, said
    operations = {op["operationId"] for item in schema["paths"].values() for op in item.values()}
    generated = {p.stem for p in (tmp_path / PACKAGE / "api").rglob("v1_*.py")}
    assert generated == operations  # not one endpoint dropped
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class Receiver(BaseHTTPRequestHandler):
    """A partner's webhook endpoint: keeps what it is sent."""

    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()


def api(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.v1.{name}")


def model(package: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def pages(package: ModuleType, client: Any, since: datetime) -> list[Any]:
    """Every interaction changed since ``since``, deletions included, two a page."""
    listing = api(package, "v1_interactions_list")
    rows, cursor, seen = [], None, 0
    while True:
        page = listing.sync(
            client=client,
            updated_after=since,
            include_deleted=True,
            page_size=2,
            **({"cursor": cursor} if cursor else {}),
        )
        seen += 1
        rows += page.results
        if page.next_ is None:
            return rows
        cursor = page.cursor
        assert seen < 50, "the cursor never ends"


def test_a_partner_syncs_through_the_generated_client(
    client_package: ModuleType, live_server: Any, receiver: str, tmp_path: Path
) -> None:
    branch = BranchFactory.create(region=RegionFactory.create(), code="jkt-01")
    integration = integration_create(name="partner", scopes=ALL_SCOPES)
    _, key = api_key_create(integration=integration)
    client = client_package.AuthenticatedClient(
        base_url=live_server.url, token=key, prefix="Api-Key", raise_on_unexpected_status=True
    )
    started = datetime.now(UTC) - timedelta(seconds=5)

    # A webhook, whose secret is shown once.
    subscribe = api(client_package, "v1_webhooks_subscriptions_create")
    request = model(client_package, "SubscriptionRequest").from_dict(
        {"url": receiver, "events": ["interaction.created"]}
    )
    subscription = subscribe.sync(client=client, body=request)
    secret = subscription.secret

    # The initial load, in bulk, each batch with its Idempotency-Key; sent again (a retry
    # after a timeout), it writes nothing twice and answers the same.
    customers = [
        {"source": "core", "external_id": f"c-{i}", "name": f"Nasabah {i}"} for i in range(3)
    ]
    bulk = api(client_package, "v1_customers_bulk_create")
    item = model(client_package, "V1CustomersBulkCreateBodyItem")
    batch_key = str(uuid.uuid4())
    first = bulk.sync_detailed(
        client=client, body=[item.from_dict(c) for c in customers], idempotency_key=batch_key
    )
    again = bulk.sync_detailed(
        client=client, body=[item.from_dict(c) for c in customers], idempotency_key=batch_key
    )
    assert first.parsed.created == 3
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.parsed.to_dict() == first.parsed.to_dict()
    assert Customer.objects.filter(source="core").count() == 3

    calls = [
        {
            "source": "core", "external_id": f"i-{i}", "branch": branch.code,
            "customer_ref": {"source": "core", "external_id": f"c-{i % 3}"},
            "channel": "phone", "occurred_at": "2026-11-30T09:00:00Z", "outcome": "resolved",
            "wait_seconds": 20,
        }
        for i in range(5)
    ]  # fmt: skip
    upsert = api(client_package, "v1_interactions_bulk_create")
    call_item = model(client_package, "V1InteractionsBulkCreateBodyItem")
    answer = upsert.sync(client=client, body=[call_item.from_dict(c) for c in calls])
    assert (answer.created, answer.errors) == (5, 0)
    retried = upsert.sync(client=client, body=[call_item.from_dict(c) for c in calls])
    assert (retried.created, retried.unchanged) == (0, 5)  # upserted by source + external_id
    assert Interaction.objects.filter(source="core").count() == 5

    # The incremental pull, page by page to the end: each row once, none missed.
    rows = pages(client_package, client, started)
    ids = [row.id for row in rows]
    assert len(ids) == len(set(ids)) == 5

    # A deletion is reported to the next pull, as a tombstone.
    gone = ids[0]
    time.sleep(1.1)  # the next pull starts after every row read so far was written
    mark = datetime.now(UTC)
    delete = api(client_package, "v1_interactions_destroy").sync_detailed(id=gone, client=client)
    assert delete.status_code == 204
    later = pages(client_package, client, mark)
    assert [row.id for row in later] == [gone]
    assert later[0].deleted is True

    # A write with a stale ETag is refused; with the current one it lands.
    read = api(client_package, "v1_interactions_retrieve").sync_detailed(id=ids[1], client=client)
    etag = read.headers["ETag"]
    patch = api(client_package, "v1_interactions_partial_update")
    change = model(client_package, "PatchedInteractionRequest")
    ok = patch.sync_detailed(
        id=ids[1], client=client, body=change.from_dict({"wait_seconds": 25}), if_match=etag
    )
    assert ok.status_code == 200
    stale = patch.sync_detailed(
        id=ids[1], client=client, body=change.from_dict({"wait_seconds": 30}), if_match=etag
    )
    assert stale.status_code == 412
    assert Interaction.objects.get(pk=ids[1]).wait_seconds == 25

    # The webhooks, verified as a receiver does: the HMAC and a fresh timestamp.
    deadline = time.monotonic() + 5
    while len(Receiver.received) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    if len(Receiver.received) < 5:  # a broker without a worker here: send as beat would
        webhook_deliveries_send()
    assert len(Receiver.received) == 5
    sync = importlib.import_module("examples.sync")
    guide = (ROOT / "docs" / "integrations.md").read_text()
    snippet: dict[str, Any] = {}
    exec(guide.split("```python\n")[1].split("```")[0], snippet)  # noqa: S102 - the guide's own lines
    for headers, body in Receiver.received:
        assert snippet["verify_webhook"](secret, headers["X-Signature"], body)
        assert sync.verify_webhook(secret, headers["X-Signature"], body)
        assert not sync.verify_webhook(secret, headers["X-Signature"], body + b" ")
        assert not sync.verify_webhook(
            secret, headers["X-Signature"], body, now=time.time() + 3600
        )  # replayed an hour later
    created = {json.loads(body)["data"]["id"] for _, body in Receiver.received}
    assert created == set(ids)

    # Evidence and work are read the same way.
    flags = api(client_package, "v1_flags_list").sync_detailed(client=client)
    cases = api(client_package, "v1_cases_list").sync_detailed(client=client)
    assert (flags.status_code, cases.status_code) == (200, 200)
    assert flags.parsed.results == []


def test_the_example_pushes_and_pulls_to_the_end(live_server: Any, tmp_path: Path) -> None:
    branch = BranchFactory.create(region=RegionFactory.create(), code="sby-01")
    _, key = api_key_create(integration=integration_create(name="example", scopes=ALL_SCOPES))
    env = {**os.environ, "CRM_URL": live_server.url, "CRM_API_KEY": key}
    rows = [
        {
            "source": "pos", "external_id": f"t-{i}", "branch": branch.code,
            "channel": "in_person", "occurred_at": "2026-11-30T09:00:00Z", "outcome": "resolved",
        }
        for i in range(1203)
    ]  # fmt: skip
    (tmp_path / "calls.json").write_text(json.dumps(rows))
    example = [sys.executable, str(ROOT / "examples" / "sync.py")]

    def run(*args: str) -> list[dict[str, Any]]:
        done = subprocess.run(
            [*example, *args], capture_output=True, text=True, env=env, timeout=600, check=True
        )
        return [json.loads(line) for line in done.stdout.splitlines()]

    pushed = run("push", "interactions", str(tmp_path / "calls.json"), "--run", "nightly-1")
    assert [p["created"] for p in pushed] == [1000, 203]  # two batches
    assert run("push", "interactions", str(tmp_path / "calls.json"), "--run", "nightly-1") == (
        pushed
    )  # the same run again: replayed, nothing written twice
    assert Interaction.objects.filter(source="pos").count() == 1203
    *records, last = run("pull", "interactions")
    assert len({r["id"] for r in records}) == len(records) == 1203
    changed_call = Interaction.objects.get(pk=records[0]["id"])
    changed_call.wait_seconds = 99
    changed_call.save()  # a change after the pull
    *changed, mark = run("pull", "interactions", "--since", last["watermark"])
    assert records[0]["id"] in {r["id"] for r in changed}
    assert {r["id"] for r in changed} <= {r["id"] for r in records}  # re-reads, never new ones
    assert mark["watermark"] > last["watermark"]

    refused = subprocess.run(
        [*example, "pull", "interactions", "--since", "yesterday"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "--since: not an ISO 8601 time" in refused.stderr
