"""Mixed load through a real server: integrations, agents and managers at once, then a check
that every accepted write is stored exactly once.

Usage (its own PostgreSQL database on loopback: dropped, created, migrated and seeded here):

    .venv/bin/python benchmarks/load.py [--duration 300] [--single-pool] \\
        [--database-url postgres://postgres@127.0.0.1:5432/crm_bench_load]

Seeds a small demo chain (``manage.py seed_demo`` options ``--seed-*``), recomputes its
statistics and VACUUM ANALYZEs the database, then starts the app on 127.0.0.1 only as
production does (docker-compose.yml, benchmarks/servers.py): two gunicorn pools of the same
code, ``web`` for the counter's pages (``--web-workers``, ``--web-timeout``) and ``api`` for
the integrations (``--api-workers``, ``--api-timeout``), behind Debian's nginx running a
local copy of deploy/nginx.conf; every client talks to nginx only. ``--single-pool`` runs
the old way instead: one pool (``--workers``, ``--worker-timeout``), no proxy. Sync workers
as in production, DEBUG off, consistency recomputed by a stand-in for Celery beat every
``--recompute-every`` seconds rather than in the request. Then for ``--duration`` seconds it
runs, all at once:

- ``--integrations`` API clients, each with its own key, POSTing batches of
  ``--batch-min``..``--batch-max`` interactions or customers to the bulk endpoints, keyed by
  (source, external_id) drawn from a shared, slowly growing pool, so concurrent batches
  overlap and race to create and to update the same records;
- ``--agents`` demo agents signed in through /login/, logging interactions with the web
  form (CSRF, POST /log/), each with a unique marker in its notes;
- ``--managers`` regional managers reading /comparison/, /flags/, a branch page and /funnel/.

Prints per-operation throughput, p50/p95/p99 latency and errors (non-2xx/3xx answers,
per-item errors in bulk results, connection errors), the servers' tracebacks, what nginx saw
of each pool (and that /api/ alone reached api), and then checks the database: every
(source, external_id) reported created or updated exists exactly once with the values of its
last accepted write (where the order of writes is known), rows created equal 'created'
results, and every marker an agent logged exists exactly once. The agents' operations (their
log page and POST /log/) get p50/p95/p99 of their own, beside the bulk items accepted per
second in the window and the share of the window with a batch in flight. Ends with two
verdict lines, 0 errors, 0 lost, 0 duplicated, and the counter's goal, agent p95 <=
``--agent-p95-goal`` ms while bulk sync runs (at least ``--min-bulk-rate`` items/s, a batch
in flight ``--min-bulk-busy`` of the window), and exits 1 when either is missed. Hard stop:
clients get ``--grace`` seconds after the load window to finish their last request; the
whole run is bounded by an alarm.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bulk_sync import setup_django  # noqa: E402
from benchmarks.dashboard import signed_in  # noqa: E402
from benchmarks.servers import (  # noqa: E402
    PoolSpec,
    Stack,
    proxy_report,
    start_behind_proxy,
    start_single_pool,
    stop_process,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_load"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PASSWORD = "demo1234"  # noqa: S105 - the documented demo password (interactions.demo)
SOURCES = ("load-pos", "load-crm")  # two sources sharing external ids: distinct records
CHANNELS = ("in_person", "phone", "email", "chat")
OUTCOMES = ("resolved", "resolved", "follow_up", "escalated", "abandoned")
BEAT_MARK = "LOADBEAT "
PROGRESS_EVERY = 15.0
SAMPLES_PER_KIND = 5
AGENT_OPS = ("agent GET /log/", "agent POST /log/")
ACCEPTED = frozenset({"created", "updated", "unchanged"})

# --- the records each write produces ----------------------------------------------------


def key_ref(kind: str, key: int) -> tuple[str, str]:
    """Pool number -> (source, external_id); keys 2n and 2n+1 share an external id."""
    return SOURCES[key % 2], f"{'I' if kind == 'interactions' else 'C'}{key // 2:07d}"


def interaction_values(
    key: int, version: int, customer: int, codes: list[str], base: datetime
) -> dict[str, Any]:
    """What write ``version`` of interaction ``key`` sends (deterministic, so the check can
    rebuild it from the version stored in notes)."""
    r = random.Random(version * 1_000_003 + key)  # noqa: S311 - test data, not secrets
    channel = CHANNELS[r.randrange(4)]
    outcome = OUTCOMES[r.randrange(len(OUTCOMES))]
    if outcome == "abandoned" and channel == "email":
        outcome = "resolved"
    source, external_id = key_ref("interactions", key)
    item: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "branch": codes[r.randrange(len(codes))],
        "channel": channel,
        "occurred_at": (base - timedelta(minutes=r.randint(10, 28 * 24 * 60))).isoformat(),
        "wait_seconds": r.randint(0, 900),
        "handle_seconds": None if outcome == "abandoned" else r.randint(30, 1800),
        "outcome": outcome,
        "topic": f"load topic {r.randrange(20)}",
        "is_complaint": r.random() < 0.05,
        "csat": r.choice([None, None, 1, 2, 3, 4, 5]),
        "nps": r.choice([None, None, None, *range(11)]),
        "notes": f"v{version}",
    }
    if customer >= 0:
        c_source, c_external_id = key_ref("customers", customer)
        item["customer_ref"] = {"source": c_source, "external_id": c_external_id}
    else:  # an omitted field would keep the customer an earlier write set
        item["customer"] = None
    return item


def customer_values(key: int, version: int, codes: list[str]) -> dict[str, Any]:
    r = random.Random(version * 1_000_003 + key)  # noqa: S311 - test data, not secrets
    source, external_id = key_ref("customers", key)
    return {
        "source": source,
        "external_id": external_id,
        "name": f"Load Customer {key} v{version}",
        # Mixed case and spaces: the model stores them tidied (lower case, digits only).
        "email": f"C{key}.V{version}@Load.Example",
        "phone": f"+46 70 {key % 100_000:05d} {version % 1000:03d}",
        "preferred_channel": CHANNELS[r.randrange(4)],
        "home_branch": codes[r.randrange(len(codes))],
        "consent_marketing": r.random() < 0.5,
        "consent_surveys": r.random() < 0.5,
        "tags": [f"load-{version % 7}"],
        "notes": f"v{version}",
    }


@dataclass(slots=True)
class Write:
    """One item of one batch: its key, the version it carried and what the API answered
    ('failed' when the request itself failed or was still in flight at the hard stop)."""

    key: int
    version: int
    batch: int
    status: str
    row_id: int | None
    customer: int = -1  # for interactions: the pool customer named by customer_ref


@dataclass
class AgentLog:
    marker: str
    username: str
    user_id: int
    branch_id: int
    channel: str
    outcome: str
    customer_id: int | None
    new_name: str
    ok: bool
    answer: str


@dataclass
class OpStats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    items: int = 0
    item_errors: int = 0


class Load:
    """State the client threads share; every mutation is under ``lock``."""

    def __init__(self, args: argparse.Namespace, codes: list[str]) -> None:
        self.args = args
        self.codes = codes
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.started = time.perf_counter()
        self.ended = self.started
        self.base = datetime.now(UTC).replace(second=0, microsecond=0)
        self.version = 0
        self.batches: list[tuple[float, float]] = []  # (sent, answered) per batch number
        self.writes: dict[str, list[Write]] = {"interactions": [], "customers": []}
        self.in_flight: dict[int, tuple[str, list[Write]]] = {}
        self.customer_ids: list[tuple[int, int]] = []  # (pool key, row id) acknowledged
        self.customer_rows: dict[int, int] = {}  # pool key -> row id, as found by the check
        self.frozen = False  # set at the hard stop: late answers are no longer recorded
        self.agent_logs: list[AgentLog] = []
        self.ops: dict[str, OpStats] = defaultdict(OpStats)
        self.samples: dict[str, list[str]] = defaultdict(list)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def window(self, kind: str) -> tuple[int, int]:
        size, growth = (
            (self.args.pool_interactions, self.args.pool_growth)
            if kind == "interactions"
            else (self.args.pool_customers, self.args.pool_growth / 4)
        )
        high = size + int(growth * self.elapsed())
        return max(0, high - size), high

    def next_versions(self, count: int) -> range:
        with self.lock:
            first = self.version + 1
            self.version += count
        return range(first, first + count)

    def record(self, op: str, ms: float, *, ok: bool, items: int = 0, sample: str = "") -> None:
        with self.lock:
            if self.frozen:
                return
            stats = self.ops[op]
            stats.latencies.append(ms)
            stats.items += items
            if not ok:
                stats.errors += 1
                if sample and len(self.samples[op]) < SAMPLES_PER_KIND:
                    self.samples[op].append(sample)

    def item_errors(self, op: str, count: int, sample: str) -> None:
        with self.lock:
            self.ops[op].item_errors += count
            if sample and len(self.samples[op + " (items)"]) < SAMPLES_PER_KIND:
                self.samples[op + " (items)"].append(sample)

    def total_errors(self) -> int:
        with self.lock:
            return sum(s.errors + s.item_errors for s in self.ops.values())


# --- the clients ------------------------------------------------------------------------


def integration_client(load: Load, base: str, key: str, seed: int) -> None:
    args = load.args
    rng = random.Random(seed)  # noqa: S311 - test data
    session = requests.Session()
    session.headers.update({"Authorization": f"Api-Key {key}"})
    ident = threading.get_ident()
    while not load.stop.is_set():
        kind = "customers" if rng.random() < args.customer_share else "interactions"
        low, high = load.window(kind)
        size = min(rng.randint(args.batch_min, args.batch_max), high - low)
        keys = rng.sample(range(low, high), size)
        versions = load.next_versions(size)
        with load.lock:
            known = list(load.customer_ids[-5000:])
            number = len(load.batches)
            load.batches.append((math.inf, math.inf))
        writes = []
        items = []
        for pool_key, version in zip(keys, versions, strict=True):
            if kind == "customers":
                items.append(customer_values(pool_key, version, load.codes))
                writes.append(Write(pool_key, version, number, "failed", None))
            else:
                customer = rng.choice(known)[0] if known and rng.random() < 0.5 else -1
                items.append(interaction_values(pool_key, version, customer, load.codes, load.base))
                writes.append(Write(pool_key, version, number, "failed", None, customer))
        with load.lock:
            load.in_flight[ident] = (kind, writes)
        op = f"bulk {kind}"
        sent = time.perf_counter()
        try:
            response = session.post(
                f"{base}/api/v1/{kind}/bulk/", json=items, timeout=args.request_timeout
            )
        except requests.RequestException as exc:
            answered = time.perf_counter()
            load.record(op, (answered - sent) * 1000, ok=False, sample=f"{type(exc).__name__}")
            finish_batch(load, ident, kind, writes, number, (sent, answered), [])
            continue
        answered = time.perf_counter()
        ms = (answered - sent) * 1000
        body: Any = None
        with contextlib.suppress(ValueError):
            body = response.json()
        results = body.get("results") if isinstance(body, dict) else None
        answers: list[tuple[str, int | None]] = []
        if response.status_code != 200 or not isinstance(results, list):
            load.record(
                op, ms, ok=False, sample=f"HTTP {response.status_code}: {response.text[:300]}"
            )
        elif len(results) != len(items):
            load.record(op, ms, ok=False, sample=f"{len(results)} results for {len(items)} items")
        else:
            load.record(op, ms, ok=True, items=len(items))
            answers = [(str(r.get("status")), r.get("id")) for r in results]
            errors = [r for r in results if r.get("status") == "error"]
            if errors:
                load.item_errors(op, len(errors), json.dumps(errors[0].get("errors"))[:300])
        finish_batch(load, ident, kind, writes, number, (sent, answered), answers)


def finish_batch(
    load: Load,
    ident: int,
    kind: str,
    writes: list[Write],
    number: int,
    times: tuple[float, float],
    answers: list[tuple[str, int | None]],
) -> None:
    """Record a batch's answer (none: the request failed), unless the hard stop came first
    and already counted the batch as failed."""
    with load.lock:
        if load.frozen:
            return
        for write, (status, row_id) in zip(writes, answers, strict=False):
            write.status, write.row_id = status, row_id
            if status == "created" and kind == "customers" and row_id:
                load.customer_ids.append((write.key, row_id))
        load.batches[number] = times
        load.writes[kind].extend(writes)
        load.in_flight.pop(ident, None)


def agent_client(
    load: Load, base: str, username: str, user_id: int, branch_id: int, seed: int, run: str
) -> None:
    args = load.args
    rng = random.Random(seed)  # noqa: S311 - test data
    try:
        session = signed_in(base, username, PASSWORD)
    except (SystemExit, requests.RequestException) as exc:
        load.record("agent sign-in", 0.0, ok=False, sample=f"{username}: {exc}")
        return
    sequence = 0
    while not load.stop.is_set():
        sequence += 1
        marker = f"load-agent {run} {username} {sequence}"
        channel = CHANNELS[rng.randrange(4)]
        outcome = rng.choice(("resolved", "resolved", "follow_up", "escalated"))
        customer_id: int | None = None
        new_name = ""
        pick = rng.random()
        with load.lock:
            known = load.customer_ids[-2000:]
            chosen = rng.choice(known)[1] if known and pick < 0.3 else None
        if chosen is not None:
            customer_id = chosen
        elif pick > 0.9:
            new_name = f"Walk-in {run} {username} {sequence}"
        data = {
            "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            "channel": channel,
            "customer": "new" if new_name else str(customer_id or ""),
            "new_name": new_name,
            "new_email": "",
            "new_phone": "",
            "branch": str(branch_id),
            "direction": "inbound",
            "occurred_at": "",
            "wait_seconds": str(rng.randint(0, 600)),
            "handle_seconds": str(rng.randint(30, 1200)),
            "outcome": outcome,
            "topic": f"counter topic {rng.randrange(10)}",
            "moment": "",
            "notes": marker,
        }
        log = AgentLog(
            marker,
            username,
            user_id,
            branch_id,
            channel,
            outcome,
            customer_id,
            new_name,
            ok=False,
            answer="in flight at the hard stop",
        )
        with load.lock:
            load.agent_logs.append(log)
        sent = time.perf_counter()
        answer = ""
        try:
            response = session.post(
                f"{base}/log/",
                data=data,
                headers={"Referer": f"{base}/log/"},
                timeout=args.request_timeout,
                allow_redirects=False,
            )
            location = response.headers.get("Location", "")
            ok = response.status_code == 302 and location.rstrip("/").endswith("/log")
            answer = f"HTTP {response.status_code} {location}".strip()
            if not ok:
                answer += f": {response.text[:200]}"
        except requests.RequestException as exc:
            ok = False
            answer = type(exc).__name__
        ms = (time.perf_counter() - sent) * 1000
        load.record("agent POST /log/", ms, ok=ok, items=1, sample=f"{username}: {answer}")
        with load.lock:
            if not load.frozen:
                log.ok, log.answer = ok, answer
        if ok:  # the browser follows the redirect to the empty form and its confirmation
            get_page(load, session, "agent GET /log/", f"{base}/log/", expect=b"Logged:")
        load.stop.wait(rng.uniform(0, 2 * args.agent_think))


def get_page(load: Load, session: requests.Session, op: str, url: str, expect: bytes = b"") -> None:
    sent = time.perf_counter()
    try:
        response = session.get(url, timeout=load.args.request_timeout, allow_redirects=False)
    except requests.RequestException as exc:
        load.record(op, (time.perf_counter() - sent) * 1000, ok=False, sample=type(exc).__name__)
        return
    ms = (time.perf_counter() - sent) * 1000
    ok = response.status_code == 200 and expect in response.content
    sample = f"{url}: HTTP {response.status_code} {response.headers.get('Location', '')}"
    if response.status_code == 200 and not ok:
        sample += f" (no {expect.decode()!r} in the page)"
    load.record(op, ms, ok=ok, sample=sample)


def manager_client(load: Load, base: str, region: str, branches: list[str], seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data
    username = f"rm.{region}"
    try:
        session = signed_in(base, username, PASSWORD)
    except (SystemExit, requests.RequestException) as exc:
        load.record("manager sign-in", 0.0, ok=False, sample=f"{username}: {exc}")
        return
    while not load.stop.is_set():
        pages = [
            ("manager GET /comparison/", f"/comparison/?region={region}"),
            ("manager GET /flags/", "/flags/"),
            ("manager GET /branches/<code>/", f"/branches/{rng.choice(branches)}/"),
            ("manager GET /funnel/", f"/funnel/?region={region}"),
        ]
        for op, path in pages:
            if load.stop.is_set():
                break
            get_page(load, session, op, base + path)
            load.stop.wait(rng.uniform(0, 2 * load.args.manager_think))


# --- the servers, the stand-in for Celery beat, the database ------------------------------


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings.local",
        "DJANGO_DEBUG": "false",
        # As in production: writes only mark days stale; the beat stand-in recomputes them.
        "CONSISTENCY_RECOMPUTE_AFTER_WRITE": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def pools(args: argparse.Namespace) -> list[PoolSpec]:
    """What runs: docker-compose.yml's web and api pools, or (--single-pool) the old one."""
    if args.single_pool:
        return [PoolSpec("app", args.workers, args.threads, args.worker_timeout)]
    return [
        PoolSpec("web", args.web_workers, args.threads, args.web_timeout),
        PoolSpec("api", args.api_workers, args.threads, args.api_timeout, args.api_timeout),
    ]


def start_app(args: argparse.Namespace, out: Path) -> Stack:
    if args.single_pool:
        return start_single_pool(pools(args)[0], server_env(), out)
    # nginx appends the address it saw to X-Forwarded-For: counted, as compose does.
    web, api = pools(args)
    return start_behind_proxy(web, api, {**server_env(), "TRUSTED_PROXY_COUNT": "1"}, out)


def beat_worker(interval: float) -> int:
    """The hidden ``--beat-worker`` mode: what Celery beat's consistency-recompute does,
    every ``interval`` seconds until terminated; one line per run on stdout."""
    setup_django()
    from django.db import connection

    from consistency.recompute import dirty_days_recompute

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    while not stopping.wait(interval):
        began = time.perf_counter()
        line: dict[str, Any]
        try:
            result = dirty_days_recompute()
            line = {"ok": True, "seconds": time.perf_counter() - began, "branches": result.branches}
        except Exception as exc:
            print(
                f"[beat] dirty_days_recompute failed at {time.strftime('%H:%M:%S')}:",
                file=sys.stderr,
            )
            traceback.print_exc()
            sys.stderr.flush()
            line = {"ok": False, "seconds": time.perf_counter() - began, "error": repr(exc)[:400]}
            connection.close()
        print(BEAT_MARK + json.dumps(line), flush=True)
    return 0


def read_beat(process: subprocess.Popen[str], runs: list[dict[str, Any]]) -> None:
    assert process.stdout is not None  # noqa: S101 - opened with stdout=PIPE
    for line in process.stdout:
        if line.startswith(BEAT_MARK):
            runs.append(json.loads(line[len(BEAT_MARK) :]))


def check_target(url: str) -> str:
    """The database name, after refusing anything but a loopback PostgreSQL benchmark
    database (it is dropped and created again)."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"--database-url must be a postgres:// URL, not {parts.scheme!r}.")
    if (parts.hostname or "") not in LOOPBACK:
        raise SystemExit(f"Refusing non-loopback database host {parts.hostname!r}.")
    name = unquote(parts.path.lstrip("/"))
    if not re.fullmatch(r"[A-Za-z0-9_]*bench[A-Za-z0-9_]*", name):
        raise SystemExit(
            f"Refusing database {name!r}: it is dropped and recreated, so its name must "
            "contain 'bench' (e.g. crm_bench_load)."
        )
    return name


def recreate_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@dataclass
class Chain:
    codes: list[str]
    branch_ids: dict[str, int]
    regions: dict[str, list[str]]  # region code -> its branch codes
    agents: list[tuple[str, int, int]]  # username, user id, branch id
    keys: list[str]


def prepare(args: argparse.Namespace, out: Path) -> Chain:
    from django.core.management import call_command
    from django.db import connection

    from branches.models import Branch, User
    from crm.services import api_key_create, integration_create

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"  migrated in {time.perf_counter() - began:.1f} s", flush=True)
    began = time.perf_counter()
    print(
        f"  seeding: seed_demo --regions {args.seed_regions} --branches {args.seed_branches} "
        f"--weeks {args.seed_weeks} --interactions {args.seed_interactions} ...",
        flush=True,
    )
    call_command(
        "seed_demo",
        regions=args.seed_regions,
        branches=args.seed_branches,
        weeks=args.seed_weeks,
        interactions=args.seed_interactions,
        verbosity=0,
        truth_file=out / "truth.json",
    )
    print(f"  seeded in {time.perf_counter() - began:.1f} s", flush=True)
    began = time.perf_counter()
    # Quiet: the console e-mail backend prints the alarm digests it "sends".
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        call_command("recompute_consistency", stdout=io.StringIO(), stderr=io.StringIO())
    print(f"  statistics recomputed in {time.perf_counter() - began:.1f} s", flush=True)
    began = time.perf_counter()
    # What autovacuum does in production soon after a load this size; without it the planner
    # knows nothing of the seeded rows (the agents' log page took 190 ms, not 0.5, to find
    # its 10 recent interactions), and a server with autovacuum off never catches up.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    print(f"  VACUUM (ANALYZE) in {time.perf_counter() - began:.1f} s", flush=True)

    branches = list(Branch.objects.select_related("region").order_by("code"))
    regions: dict[str, list[str]] = defaultdict(list)
    for branch in branches:
        regions[branch.region.code].append(branch.code)
    # Agents round-robin over the regions, one per branch.
    by_region = [list(codes) for codes in regions.values()]
    order = [
        codes[i] for i in range(max(map(len, by_region))) for codes in by_region if i < len(codes)
    ]
    ids = {b.code: b.pk for b in branches}
    agents = []
    for code in order[: args.agents]:
        user = User.objects.get(username=f"agent.{code}.1")
        agents.append((user.username, user.pk, ids[code]))
    keys = []
    for n in range(args.integrations):
        integration = integration_create(
            name=f"load {n + 1} {time.time_ns()}",
            scopes=["interactions:read", "interactions:write", "customers:read", "customers:write"],
        )
        keys.append(api_key_create(integration=integration)[1])
    connection.close()
    return Chain([b.code for b in branches], ids, dict(regions), agents, keys)


# --- the report -------------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def print_table(load: Load) -> None:
    seconds = load.ended - load.started
    print(
        f"{'operation':<32} {'ops':>6} {'errors':>6} {'ops/s':>7} {'items/s':>8} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for op in sorted(load.ops):
        stats = load.ops[op]
        ordered = sorted(stats.latencies)
        errors = f"{stats.errors}" + (f"+{stats.item_errors}i" if stats.item_errors else "")
        rate = f"{stats.items / seconds:>8.1f}" if stats.items else f"{'':>8}"
        print(
            f"{op:<32} {len(ordered):>6} {errors:>6} {len(ordered) / seconds:>7.2f} {rate} "
            f"{percentile(ordered, 0.5):>8.0f} {percentile(ordered, 0.95):>8.0f} "
            f"{percentile(ordered, 0.99):>8.0f} {(ordered[-1] if ordered else math.nan):>8.0f}"
        )
    total = sum(len(s.latencies) for s in load.ops.values())
    items = sum(s.items for s in load.ops.values())
    print(
        f"{'all':<32} {total:>6} {load.total_errors():>6} {total / seconds:>7.2f} "
        f"{items / seconds:>8.1f}   (items: bulk items accepted for processing + forms posted)"
    )
    if load.samples:
        print("error samples:")
        for op, samples in sorted(load.samples.items()):
            for sample in samples:
                print(f"  {op}: {sample}")


@dataclass
class Bulk:
    """How much bulk sync ran in the load window."""

    items_per_second: float  # items accepted in batches answered within the window
    batches: int  # batches answered within the window
    busy: float  # share of the window with at least one batch in flight


def bulk_in_window(load: Load) -> Bulk:
    seconds = max(load.ended - load.started, 1e-9)
    answered = {n for n, (_, at) in enumerate(load.batches) if at <= load.ended}
    items = sum(
        1
        for writes in load.writes.values()
        for w in writes
        if w.status in ACCEPTED and w.batch in answered
    )
    busy, edge = 0.0, load.started
    for sent, at in sorted(load.batches):
        if sent >= load.ended:
            break
        start, end = max(sent, edge), min(at, load.ended)
        if end > start:
            busy += end - start
            edge = end
    return Bulk(items / seconds, len(answered), busy / seconds)


def print_agents(load: Load, bulk: Bulk) -> dict[str, float]:
    """The counter's operations on their own; their p95s by operation."""
    print()
    print(
        f"{'agents (the counter)':<32} {'ops':>6} {'errors':>6} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    rows = [(op, load.ops.get(op, OpStats())) for op in AGENT_OPS]
    both = OpStats(
        [ms for _, stats in rows for ms in stats.latencies], sum(st.errors for _, st in rows)
    )
    p95s = {}
    for op, stats in [*rows, ("agent, both", both)]:
        ordered = sorted(stats.latencies)
        p95s[op] = percentile(ordered, 0.95)
        print(
            f"{op:<32} {len(ordered):>6} {stats.errors:>6} {percentile(ordered, 0.5):>8.0f} "
            f"{p95s[op]:>8.0f} {percentile(ordered, 0.99):>8.0f} "
            f"{(ordered[-1] if ordered else math.nan):>8.0f}"
        )
    print(
        f"bulk sync in the window: {bulk.items_per_second:,.0f} items/s accepted "
        f"({bulk.batches} batches answered), a batch in flight {bulk.busy:.0%} of the window"
    )
    return {op: p95s[op] for op in AGENT_OPS}


def counter_verdict(args: argparse.Namespace, p95s: dict[str, float], bulk: Bulk) -> bool:
    # nan (no request of an operation) never meets the goal.
    fast = all(ms <= args.agent_p95_goal for ms in p95s.values())
    ran = bulk.items_per_second >= args.min_bulk_rate and bulk.busy >= args.min_bulk_busy
    met = fast and ran
    times = ", ".join(f"{op.removeprefix('agent ')} {ms:.0f} ms" for op, ms in p95s.items())
    print(
        f"VERDICT (counter): {'goal met' if met else 'goal NOT met'}: agent p95 {times}"
        f"{'' if fast else ' (too slow)'}; bulk sync {bulk.items_per_second:,.0f} items/s, "
        f"in flight {bulk.busy:.0%} of the window{'' if ran else ' (bulk sync did not run)'} "
        f"(goal: agent p95 <= {args.agent_p95_goal:.0f} ms while bulk sync runs, at least "
        f"{args.min_bulk_rate:,.0f} items/s and in flight {args.min_bulk_busy:.0%} of the window)"
    )
    return met


LOG_HEADER = re.compile(
    r"^(\[\d{4}-\d\d-\d\d |\[beat\] |[A-Z][A-Za-z ]+(Error|Request|Forbidden|Found|Allowed|"
    r"Conflict|Requests|Unavailable|Gone|Large|Entity|Failed|Unauthorized)\b[^:]*: /)"
)


def log_records(text: str) -> list[list[str]]:
    """The server log cut into records: a request's log line with its traceback (chained
    exceptions included), a gunicorn line, a beat failure."""
    records: list[list[str]] = []
    for line in text.splitlines():
        chained = bool(records) and any(
            ln.startswith(("During handling", "The above exception")) for ln in records[-1][-3:]
        )
        fresh = LOG_HEADER.match(line) or (line.startswith("Traceback (") and not chained)
        if fresh or not records:
            records.append([line])
        else:
            records[-1].append(line)
    return records


def server_log_report(log: Path) -> int:
    """Tracebacks and worker timeouts in the server's log; the number of tracebacks."""
    text = log.read_text(errors="replace") if log.exists() else ""
    records = log_records(text)
    tracebacks = [r for r in records if any(ln.startswith("Traceback (") for ln in r)]
    timeouts = sum(1 for r in records if "WORKER TIMEOUT" in r[0])
    failed = sum(1 for r in records if re.match(r"^[A-Z][A-Za-z ]+[^:]*: /", r[0]))
    kinds: Counter[str] = Counter()
    first: dict[str, list[str]] = {}
    for record in tracebacks:
        final = [
            ln
            for ln in record
            if ln
            and not ln[0].isspace()
            and not ln.startswith(("Traceback", "During handling", "The above exception"))
        ]
        kind = f"{record[0][:70]} -> {final[-1][:120] if final else '?'}"
        kinds[kind] += 1
        first.setdefault(kind, record)
    print(
        f"server log {log}: {len(records)} records, {failed} failed requests logged, "
        f"{len(tracebacks)} tracebacks, {timeouts} worker timeouts"
    )
    for kind, count in kinds.most_common(8):
        print(f"  {count} x {kind}")
    for kind, record in list(first.items())[:3]:
        print(f"  --- first traceback of: {kind[:100]} ---")
        lines = record if len(record) <= 40 else [*record[:3], "  ...", *record[-36:]]
        for line in lines:
            print(f"  | {line}")
    return len(tracebacks)


# --- the database check -------------------------------------------------------------------


@dataclass
class Check:
    problems: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def problem(self, kind: str, detail: str) -> None:
        if self.problems[kind] < SAMPLES_PER_KIND:
            self.notes.append(f"  {kind}: {detail}")
        self.problems[kind] += 1


def tidy_phone(value: str) -> str:
    return re.sub(r"[\s().\-/]", "", value.strip())


def check_records(load: Load, chain: Chain, check: Check, kind: str) -> dict[int, int]:
    """Compare what the API reported for ``kind`` with the table; pool key -> row id."""
    from customers.models import Customer
    from interactions.models import Interaction

    model: Any = Interaction if kind == "interactions" else Customer
    columns = (
        [
            "id",
            "source",
            "external_id",
            "notes",
            "branch_id",
            "channel",
            "occurred_at",
            "wait_seconds",
            "handle_seconds",
            "outcome",
            "topic",
            "is_complaint",
            "csat",
            "nps",
            "customer_id",
            "deleted_at",
        ]
        if kind == "interactions"
        else [
            "id",
            "source",
            "external_id",
            "notes",
            "name",
            "email",
            "phone",
            "preferred_channel",
            "home_branch_id",
            "consent_marketing",
            "consent_surveys",
            "tags",
            "deleted_at",
        ]
    )
    rows: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in model.objects.filter(source__in=SOURCES).values(*columns).iterator(chunk_size=5000):
        rows[(row["source"], row["external_id"])].append(row)
    writes_by_key: dict[int, list[Write]] = defaultdict(list)
    for write in load.writes[kind]:
        writes_by_key[write.key].append(write)
    customer_rows = load.customer_rows
    accepted_statuses = ACCEPTED
    stored_keys = 0
    determinable = 0
    created_results = 0
    key_ids: dict[int, int] = {}
    seen_refs = set()
    for key, writes in writes_by_key.items():
        ref = key_ref(kind, key)
        seen_refs.add(ref)
        accepted = [w for w in writes if w.status in accepted_statuses]
        created = [w for w in accepted if w.status == "created"]
        created_results += len(created)
        found = rows.get(ref, [])
        if len(found) > 1:
            check.problem(f"{kind}: duplicated rows", f"{ref} has {len(found)} rows")
        if len(created) > 1:
            check.problem(
                f"{kind}: created twice",
                f"{ref} reported created {len(created)} times (ids {[w.row_id for w in created]})",
            )
        if not found:
            if accepted:
                check.problem(f"{kind}: lost", f"{ref} accepted {len(accepted)} times, no row")
            continue
        stored_keys += 1
        row = found[0]
        key_ids[key] = row["id"]
        if accepted and not created:
            check.problem(f"{kind}: updated but never created", f"{ref}")
        ids = {w.row_id for w in accepted}
        if ids and ids != {row["id"]}:
            check.problem(f"{kind}: reported id differs", f"{ref}: API {ids}, row {row['id']}")
        if row["deleted_at"] is not None:
            check.problem(f"{kind}: deleted", f"{ref}")
        # Which writes may be the last one: those no accepted write started after.
        if not accepted:
            check.problem(
                f"{kind}: stored but never accepted (request failed or in flight)", f"{ref}"
            )
            continue
        latest_start = max(load.batches[w.batch][0] for w in accepted)
        candidates = {w.version: w for w in accepted if load.batches[w.batch][1] >= latest_start}
        if len(candidates) == 1:
            determinable += 1
        match = re.fullmatch(r"v(\d+)", row["notes"] or "")
        version = int(match.group(1)) if match else -1
        last = candidates.get(version)
        if last is None:
            others = {w.version: w for w in writes}
            if version in others and others[version].status in accepted_statuses:
                check.problem(
                    f"{kind}: stale value (an earlier write won)",
                    f"{ref}: v{version} stored; possible last {sorted(candidates)}",
                )
            elif version in others:
                check.problem(
                    f"{kind}: value of a failed request",
                    f"{ref}: v{version} ({others[version].status}) stored",
                )
            else:
                check.problem(f"{kind}: unknown value", f"{ref}: notes {row['notes']!r}")
            continue
        differences = compare(kind, key, last, row, chain, customer_rows, load.base)
        if differences:
            check.problem(f"{kind}: torn or wrong fields", f"{ref} v{version}: {differences}")
    for ref in rows:
        if ref not in seen_refs:
            check.problem(f"{kind}: row nobody sent", f"{ref}")
    row_count = sum(len(found) for found in rows.values())
    if row_count != created_results:
        check.problem(
            f"{kind}: rows != 'created' results",
            f"{row_count} rows, {created_results} 'created' results",
        )
    accepted_total = sum(1 for w in load.writes[kind] if w.status in accepted_statuses)
    statuses = Counter(w.status for w in load.writes[kind])
    print(
        f"  {kind}: {len(load.writes[kind]):,} items sent ({dict(sorted(statuses.items()))}); "
        f"{accepted_total:,} accepted for {len(writes_by_key):,} keys; {row_count:,} rows, "
        f"{created_results:,} 'created' results; {stored_keys:,} keys stored, "
        f"{determinable:,} with one possible last write"
    )
    return key_ids


def compare(
    kind: str,
    key: int,
    write: Write,
    row: dict[str, Any],
    chain: Chain,
    customer_rows: dict[int, int],
    base: datetime,
) -> dict[str, tuple[Any, Any]]:
    """Fields of the row that differ from what ``write`` sent (sent, stored)."""
    if kind == "customers":
        sent = customer_values(key, write.version, chain.codes)
        expected = {
            "name": sent["name"],
            "email": sent["email"].lower(),
            "phone": tidy_phone(sent["phone"]),
            "preferred_channel": sent["preferred_channel"],
            "home_branch_id": chain.branch_ids[sent["home_branch"]],
            "consent_marketing": sent["consent_marketing"],
            "consent_surveys": sent["consent_surveys"],
            "tags": sent["tags"],
        }
    else:
        sent = interaction_values(key, write.version, write.customer, chain.codes, base)
        expected = {
            "branch_id": chain.branch_ids[sent["branch"]],
            "channel": sent["channel"],
            "occurred_at": datetime.fromisoformat(sent["occurred_at"]),
            "wait_seconds": sent["wait_seconds"],
            "handle_seconds": sent["handle_seconds"],
            "outcome": sent["outcome"],
            "topic": sent["topic"],
            "is_complaint": sent["is_complaint"],
            "csat": sent["csat"],
            "nps": sent["nps"],
            "customer_id": customer_rows.get(write.customer) if write.customer >= 0 else None,
        }
    return {k: (v, row[k]) for k, v in expected.items() if row[k] != v}


def check_agents(load: Load, check: Check, run: str) -> None:
    from customers.models import Customer
    from interactions.models import Interaction

    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in Interaction.objects.filter(notes__startswith=f"load-agent {run} ").values(
        "notes", "staff_id", "branch_id", "channel", "outcome", "customer_id", "source"
    ):
        rows[row["notes"]].append(row)
    names = Counter(
        Customer.objects.filter(name__startswith=f"Walk-in {run} ").values_list("name", flat=True)
    )
    customer_names = dict(
        Customer.objects.filter(name__startswith=f"Walk-in {run} ").values_list("pk", "name")
    )
    logged = {log.marker for log in load.agent_logs}
    ok = 0
    for log in load.agent_logs:
        found = rows.get(log.marker, [])
        if not log.ok:
            if found:
                check.problem("agents: stored although the POST failed", f"{log.marker}")
            continue
        ok += 1
        if not found:
            check.problem("agents: lost", f"{log.marker} ({log.answer})")
            continue
        if len(found) > 1:
            check.problem("agents: duplicated", f"{log.marker}: {len(found)} rows")
        row = found[0]
        expected = {
            "staff_id": log.user_id,
            "branch_id": log.branch_id,
            "channel": log.channel,
            "outcome": log.outcome,
        }
        if not log.new_name:
            expected["customer_id"] = log.customer_id
        wrong = {k: (v, row[k]) for k, v in expected.items() if row[k] != v}
        if log.new_name:
            if names[log.new_name] != 1:
                check.problem(
                    "agents: new customer not stored once",
                    f"{log.new_name}: {names[log.new_name]}",
                )
            if customer_names.get(row["customer_id"]) != log.new_name:
                wrong["customer"] = (log.new_name, customer_names.get(row["customer_id"]))
        if wrong:
            check.problem("agents: wrong fields", f"{log.marker}: {wrong}")
    for marker in rows:
        if marker not in logged:
            check.problem("agents: row nobody logged", marker)
    stored = sum(len(found) for found in rows.values())
    if stored != ok:
        check.problem("agents: rows != successful logs", f"{stored} rows, {ok} logged")
    print(
        f"  agents: {len(load.agent_logs):,} forms posted, {ok:,} accepted (302 to /log/), "
        f"{stored:,} rows carry a marker, {len(rows):,} distinct markers"
    )


def check_database(load: Load, chain: Chain, run: str) -> Check:
    from django.db import connection

    check = Check()
    load.customer_rows = check_records(load, chain, check, "customers")
    check_records(load, chain, check, "interactions")
    check_agents(load, check, run)
    connection.close()
    return check


# --- main -----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--duration", type=float, default=300.0, help="seconds of load")
    add("--grace", type=float, default=60.0, help="hard stop this long after the load window")
    add("--database-url", default=DEFAULT_DATABASE_URL, help="dropped and recreated")
    add("--integrations", type=int, default=4, help="concurrent bulk API clients")
    add("--agents", type=int, default=4, help="concurrent agents on the log form")
    add("--managers", type=int, default=2, help="concurrent regional managers")
    add("--batch-min", type=int, default=200)
    add("--batch-max", type=int, default=500)
    add("--customer-share", type=float, default=0.3, help="share of batches that are customers")
    add("--pool-interactions", type=int, default=5000, help="interaction keys batches draw from")
    add("--pool-customers", type=int, default=2000, help="customer keys batches draw from")
    add(
        "--pool-growth",
        type=float,
        default=40.0,
        help="new interaction keys per second entering the pool (customers: a quarter)",
    )
    add("--agent-think", type=float, default=0.5, help="mean seconds between an agent's logs")
    add("--manager-think", type=float, default=1.0, help="mean seconds between pages")
    add("--request-timeout", type=float, default=60.0)
    add(
        "--single-pool",
        action="store_true",
        help="the old way: one gunicorn pool serving every route, no proxy",
    )
    add("--web-workers", type=int, default=4, help="web pool (docker-compose.yml: WEB_WORKERS)")
    add("--web-timeout", type=int, default=30, help="web pool's gunicorn --timeout")
    add("--api-workers", type=int, default=2, help="api pool (docker-compose.yml: API_WORKERS)")
    add("--api-timeout", type=int, default=120, help="api pool's --timeout and --graceful-timeout")
    add("--workers", type=int, default=3, help="--single-pool's workers (WEB_CONCURRENCY was 3)")
    add("--worker-timeout", type=int, default=30, help="--single-pool's gunicorn --timeout")
    add("--threads", type=int, default=1, help="gunicorn threads per worker (production: 1)")
    add("--agent-p95-goal", type=float, default=300.0, help="ms, per agent operation")
    add(
        "--min-bulk-rate",
        type=float,
        default=100.0,
        help="bulk items accepted per second below which bulk sync did not run (goal unmet)",
    )
    add(
        "--min-bulk-busy",
        type=float,
        default=0.9,
        help="share of the window a bulk batch must be in flight for the agent goal to count",
    )
    add(
        "--recompute-every",
        type=float,
        default=60.0,
        help="seconds between dirty-day recomputes, the Celery beat stand-in "
        "(production: 180); 0 for none",
    )
    add("--seed-regions", type=int, default=2)
    add("--seed-branches", type=int, default=16)
    add("--seed-weeks", type=int, default=12)
    add("--seed-interactions", type=int, default=300_000)
    add("--seed", type=int, default=1, help="random seed of the clients")
    add("--beat-worker", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1 <= args.batch_min <= args.batch_max <= 1000:
        parser.error("need 1 <= --batch-min <= --batch-max <= 1000")
    return args


def main() -> int:
    args = parse_args()
    if args.beat_worker is not None:
        return beat_worker(args.beat_worker)
    name = check_target(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.update({k: v for k, v in server_env().items() if k.startswith(("DJANGO", "CONS"))})
    run = secrets.token_hex(4)
    out = ROOT / "var" / "load" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    beat_log = out / "beat.log"

    # The whole run is bounded: setup, load, hard stop, check.
    budget = int(args.duration + args.grace + 900)

    def alarm(*_: Any) -> None:
        raise SystemExit(f"HARD STOP: the run exceeded its {budget} s budget")

    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(budget)

    shape = (
        "one gunicorn pool, no proxy"
        if args.single_pool
        else "two gunicorn pools behind nginx (deploy/nginx.conf)"
    )
    print(
        f"load run {run}: {args.duration:.0f} s; {args.integrations} integrations "
        f"(batches {args.batch_min}-{args.batch_max}, {args.customer_share:.0%} customers), "
        f"{args.agents} agents, {args.managers} managers; {shape}: "
        f"{'; '.join(p.describe() for p in pools(args))}; {os.cpu_count()} CPUs, "
        f"load average {load_average()}",
        flush=True,
    )
    print(f"database {name} on {urlsplit(args.database_url).hostname}: recreating", flush=True)
    recreate_database(args.database_url, name)
    setup_django()
    logging.getLogger("kombu").setLevel(logging.ERROR)  # "No hostname was supplied" (no broker)
    chain = prepare(args, out)

    stack: Stack | None = None
    beat: subprocess.Popen[str] | None = None
    beat_runs: list[dict[str, Any]] = []
    reader: threading.Thread | None = None
    load = Load(args, chain.codes)
    try:
        stack = start_app(args, out)
        base = stack.base
        print(f"up: {stack.description} (logs: {out})", flush=True)
        if args.recompute_every > 0:
            with beat_log.open("a") as beat_errors:
                beat = subprocess.Popen(
                    [sys.executable, __file__, "--beat-worker", str(args.recompute_every)],
                    cwd=ROOT,
                    env=server_env(),
                    stdout=subprocess.PIPE,
                    stderr=beat_errors,
                    text=True,
                )
            reader = threading.Thread(target=read_beat, args=(beat, beat_runs), daemon=True)
            reader.start()
        threads = []
        for n, key in enumerate(chain.keys):
            threads.append(
                threading.Thread(
                    target=integration_client, args=(load, base, key, args.seed * 100 + n)
                )
            )
        for n, (username, user_id, branch_id) in enumerate(chain.agents):
            threads.append(
                threading.Thread(
                    target=agent_client,
                    args=(load, base, username, user_id, branch_id, args.seed * 200 + n, run),
                )
            )
        regions = list(chain.regions)
        for n in range(args.managers):
            region = regions[n % len(regions)]
            threads.append(
                threading.Thread(
                    target=manager_client,
                    args=(load, base, region, chain.regions[region], args.seed * 300 + n),
                )
            )
        print(f"load window starts; load average {load_average()}", flush=True)
        load.started = time.perf_counter()
        for thread in threads:
            thread.daemon = True
            thread.start()
        deadline = load.started + args.duration
        while (left := deadline - time.perf_counter()) > 0:
            time.sleep(min(PROGRESS_EVERY, left))
            with load.lock:
                batches = sum(len(s.latencies) for o, s in load.ops.items() if "bulk" in o)
                items = sum(load.ops[o].items for o in load.ops if o.startswith("bulk"))
                logs = len(load.agent_logs)
                agent = sorted(ms for o in AGENT_OPS for ms in load.ops.get(o, OpStats()).latencies)
                pages = sum(len(s.latencies) for o, s in load.ops.items() if "manager" in o)
            print(
                f"  [{load.elapsed():5.0f} s] {batches} batches ({items:,} items), {logs} forms "
                f"logged (agent p95 {percentile(agent, 0.95):.0f} ms), {pages} dashboard pages, "
                f"{load.total_errors()} errors",
                flush=True,
            )
        load.stop.set()
        load.ended = time.perf_counter()
        window_end_load = load_average()
        hard_stop = load.ended + args.grace
        for thread in threads:
            thread.join(max(0.0, hard_stop - time.perf_counter()))
        still = [t for t in threads if t.is_alive()]
        if still:
            print(f"HARD STOP: {len(still)} clients still busy {args.grace:.0f} s after the end")
            with load.lock:
                for kind, writes in load.in_flight.values():
                    load.writes[kind].extend(writes)
                    load.ops[f"bulk {kind}"].errors += 1
                    load.samples[f"bulk {kind}"].append("in flight at the hard stop")
                load.in_flight.clear()
                for entry in load.agent_logs:
                    if entry.answer.startswith("in flight"):
                        load.ops["agent POST /log/"].errors += 1
                load.frozen = True
    finally:
        stop_process(beat)
        if stack is not None:
            stack.stop()
        if reader is not None:
            reader.join(10)

    print()
    print(
        f"load window {load.ended - load.started:.1f} s; load average at its end "
        f"{window_end_load} (shared machine, {os.cpu_count()} CPUs: figures are noisy)"
    )
    print(f"ran: {stack.description}")
    print_table(load)
    bulk = bulk_in_window(load)
    agent_p95s = print_agents(load, bulk)
    failed_runs = [r for r in beat_runs if not r.get("ok")]
    if args.recompute_every > 0:
        durations = sorted(r["seconds"] for r in beat_runs)
        print(
            f"beat stand-in: {len(beat_runs)} dirty-day recomputes, {len(failed_runs)} failed"
            + (
                f", {statistics_line(durations)}; branches per run "
                f"{[r.get('branches') for r in beat_runs if r.get('ok')]}"
                if durations
                else ""
            )
        )
        for r in failed_runs[:3]:
            print(f"  failed: {r.get('error')}")
    tracebacks = sum(server_log_report(log) for log in [*stack.app_logs, beat_log])
    routing, misrouted = proxy_report(stack)
    for line in routing:
        print(line)

    print("database check:")
    check = check_database(load, chain, run)
    for line in check.notes:
        print(line)
    lost = sum(n for k, n in check.problems.items() if k.endswith("lost"))
    duplicated = sum(n for k, n in check.problems.items() if "duplicated" in k or "twice" in k)
    other = sum(check.problems.values()) - lost - duplicated
    errors = load.total_errors() + len(failed_runs)
    other += misrouted
    met = errors == 0 and lost == 0 and duplicated == 0 and other == 0 and tracebacks == 0
    print(
        f"VERDICT: {'goal met' if met else 'goal NOT met'}: {errors} errors, {lost} lost, "
        f"{duplicated} duplicated, {other} other mismatches (counts, ids, values"
        f"{', routing' if stack.access_log else ''}), {tracebacks} server tracebacks "
        "(goal: 0 errors, 0 lost, 0 duplicated)"
    )
    counter_met = counter_verdict(args, agent_p95s, bulk)
    return 0 if met and counter_met else 1


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def statistics_line(durations: list[float]) -> str:
    return (
        f"p50 {percentile(durations, 0.5):.1f} s, max {durations[-1]:.1f} s per run"
        if durations
        else ""
    )


if __name__ == "__main__":
    raise SystemExit(main())
