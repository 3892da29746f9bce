"""Request overhead of the integrations' API against the honest limits, in one run.

Usage (PostgreSQL; with no --existing, the database is dropped, created, migrated and
seeded with --rows interactions first):

    .venv/bin/python benchmarks/api_overhead.py [--rows 20000]
    .venv/bin/python benchmarks/api_overhead.py --existing \\
        --database-url postgres://postgres@127.0.0.1:5432/crm_bench10m

Starts gunicorn on 127.0.0.1 (DEBUG off, --workers sync workers as in production) and
measures, each beside its limit measured in the same run:

- ``/healthz`` through the same server: the latency of one request (sequential) and the
  rate --clients clients reach (before and after the creates: the machine drifts); and
  ``GET /api/v1/integration/``, an authenticated API call that reads nothing (DRF's floor);
  the single requests are timed in interleaved rounds, so drift spreads over all alike;
- a first page of 25 interactions (``GET /api/v1/interactions/?page_size=25``): p50 through
  the server against /healthz's p50 (goal <= 2x) and against its own SQL run alone;
- one interaction by id: p50;
- ``POST /api/v1/interactions/`` from --clients clients: creates/s against /healthz's rate
  (goal >= 50 %) and against raw ``INSERT`` + ``COMMIT`` of the same row from as many
  connections;
- ``POST /api/v1/interactions/bulk/`` of --bulk-items items in batches of 1 000 from one
  sender, against raw ``COPY`` of the same rows (goal >= 20 %, moonshot 50 %);

and the SQL statements each of those requests runs (captured in-process), the load
average, and with --profile the functions a create and a list page spend their time in
(cProfile). Rows it writes carry source ``bench-api`` (removed at the end with
--existing). Exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bulk_sync import free_port, start_server  # noqa: E402
from benchmarks.cursor_depth import ensure_database, percentile, time_sql  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_api"
SOURCE = "bench-api"
LIST_PATH = "/api/v1/interactions/?page_size=25"
COLUMNS = (
    "branch_id, channel, direction, occurred_at, wait_seconds, handle_seconds, outcome, "
    "topic, is_complaint, notes, csat, feedback_comment, source, external_id, "
    "created_at, updated_at"
)


def say(message: str) -> None:
    print(message, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--existing", action="store_true", help="measure this database as it is (no reseed)"
    )
    parser.add_argument("--rows", type=int, default=20_000, help="interactions to seed")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per test")
    parser.add_argument("--creates", type=int, default=1200, help="POSTs from --clients")
    parser.add_argument("--bulk-items", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="print where requests go")
    return parser.parse_args()


def prepare(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["CONSISTENCY_RECOMPUTE_AFTER_WRITE"] = "false"
    if not args.existing:
        import psycopg
        from psycopg import sql

        name = args.database_url.rsplit("/", 1)[1]
        admin = args.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    ensure_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if not args.existing:
        say(f"seeding {args.rows:,} interactions ...")
        call_command("migrate", verbosity=0)
        call_command(
            "seed_demo",
            interactions=args.rows,
            branches=24,
            weeks=12,
            verbosity=0,
            truth_file=ROOT / "var" / "bench-api-truth.json",
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")


def make_key() -> str:
    from crm.services import api_key_create, integration_create

    integration = integration_create(
        name=f"api overhead benchmark {time.time_ns()}",
        scopes=["interactions:read", "interactions:write", "customers:read"],
    )
    _, key = api_key_create(integration=integration)
    return key


def item(n: int, prefix: str, branch: str, start: datetime) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "external_id": f"{prefix}-{n}",
        "branch": branch,
        "channel": ("in_person", "phone", "email", "chat")[n % 4],
        "occurred_at": (start + timedelta(seconds=n)).isoformat(),
        "wait_seconds": 5 + n % 90,
        "handle_seconds": 60 + n % 600,
        "outcome": ("resolved", "resolved", "follow_up", "escalated")[n % 4],
        "topic": "benchmark",
    }


def row_of(values: dict[str, Any], branch_id: int, now: datetime) -> tuple[Any, ...]:
    return (
        branch_id,
        values["channel"],
        "inbound",
        datetime.fromisoformat(values["occurred_at"]),
        values["wait_seconds"],
        values["handle_seconds"],
        values["outcome"],
        values["topic"],
        False,
        "",
        None,
        "",
        values["source"],
        values["external_id"],
        now,
        now,
    )


def query_counts(key: str, branch: str, start: datetime) -> tuple[dict[str, int], str]:
    """Statements per request, captured in-process; and the list page's own SQL."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from interactions.models import Interaction

    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}", HTTP_HOST="127.0.0.1")
    some = Interaction.objects.order_by("-id").values_list("pk", flat=True).first()
    calls: dict[str, Callable[[], Any]] = {
        "list page of 25": lambda: client.get(LIST_PATH),
        "one by id": lambda: client.get(f"/api/v1/interactions/{some}/"),
        "create": lambda: client.post(
            "/api/v1/interactions/",
            json.dumps(item(0, f"qc{time.time_ns()}", branch, start)),
            content_type="application/json",
        ),
        "bulk of 100": lambda: client.post(
            "/api/v1/interactions/bulk/",
            json.dumps([item(n, f"qcb{time.time_ns()}", branch, start) for n in range(100)]),
            content_type="application/json",
        ),
    }
    counts, list_sql = {}, ""
    for label, call in calls.items():
        call()  # warm: the first request fills the per-process caches
        with CaptureQueriesContext(connection) as captured:
            response = call()
        if response.status_code >= 300:
            raise SystemExit(f"{label}: HTTP {response.status_code} {response.content[:300]!r}")
        counts[label] = len(captured.captured_queries)
        if label == "list page of 25":
            list_sql = captured.captured_queries[-1]["sql"]
    return counts, list_sql


def profile(key: str, branch: str, start: datetime) -> None:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}", HTTP_HOST="127.0.0.1")
    for label, call in {
        "create": lambda n: client.post(
            "/api/v1/interactions/",
            json.dumps(item(n, "prof", branch, start)),
            content_type="application/json",
        ),
        "list page": lambda n: client.get(LIST_PATH),
    }.items():
        call(-1)
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(200):
            call(n)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        say(f"--- where a {label} spends its time (200 requests, in-process) ---")
        say(out.getvalue())


def sequential(session: requests.Session, url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        began = time.perf_counter()
        response = session.get(url, timeout=60)
        times.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    return times


def interleaved(
    session: requests.Session, urls: dict[str, str], rounds: int
) -> dict[str, list[float]]:
    """``rounds`` rounds of one request per URL, so the machine's drift spreads over all."""
    times: dict[str, list[float]] = {label: [] for label in urls}
    for _ in range(rounds):
        for label, url in urls.items():
            times[label] += sequential(session, url, 1)
    return times


def concurrent(
    clients: int, count: int, request: Callable[[requests.Session, int], requests.Response]
) -> tuple[float, list[float]]:
    """``count`` requests from ``clients`` threads: requests per second and latencies."""
    local = threading.local()

    def one(n: int) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        began = time.perf_counter()
        response = request(local.session, n)
        if response.status_code >= 300:
            raise SystemExit(f"HTTP {response.status_code}: {response.text[:300]}")
        return (time.perf_counter() - began) * 1000

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(one, range(count)))
    return count / (time.perf_counter() - began), latencies


def raw_inserts(url: str, clients: int, count: int, branch_id: int, start: datetime) -> float:
    """The limit of a create: INSERT one row and COMMIT, from ``clients`` connections."""
    import psycopg

    now = datetime.now(UTC)
    placeholders = ", ".join(["%s"] * len(COLUMNS.split(",")))
    statement = f"INSERT INTO interactions_interaction ({COLUMNS}) VALUES ({placeholders})"  # noqa: S608
    local = threading.local()
    connections: list[Any] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(url)
            with lock:
                connections.append(local.conn)
        with local.conn.transaction():
            local.conn.execute(
                statement, row_of(item(n, f"raw{start:%s}", "", start), branch_id, now)
            )

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(count)))
    rate = count / (time.perf_counter() - began)
    for conn in connections:
        conn.close()
    return rate


def raw_copy(url: str, count: int, branch_id: int, start: datetime) -> float:
    import psycopg

    now = datetime.now(UTC)
    began = time.perf_counter()
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cursor,
        cursor.copy(f"COPY interactions_interaction ({COLUMNS}) FROM STDIN") as copy,
    ):
        for n in range(count):
            copy.write_row(row_of(item(n, "copy", "", start), branch_id, now))
    return count / (time.perf_counter() - began)


def bulk(base: str, headers: dict[str, str], count: int, branch: str, start: datetime) -> float:
    session = requests.Session()
    session.headers.update(headers)
    began = time.perf_counter()
    for offset in range(0, count, 1000):
        batch = [item(n, "bulk", branch, start) for n in range(offset, offset + 1000)]
        response = session.post(f"{base}/api/v1/interactions/bulk/", json=batch, timeout=120)
        if response.status_code != 200 or response.json()["created"] != len(batch):
            raise SystemExit(f"bulk batch at {offset}: {response.status_code} {response.text[:99]}")
    return count / (time.perf_counter() - began)


def main() -> int:
    args = parse_args()
    if not args.database_url.startswith("postgres"):
        print("--database-url must name a PostgreSQL database.")
        return 2
    prepare(args)
    from django.db import connection

    from branches.models import Branch
    from interactions.models import Interaction

    branch = Branch.objects.filter(is_active=True).order_by("code").first()
    if branch is None:
        raise SystemExit("The database has no branches: seed it first.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM interactions_interaction")
        rows = cursor.fetchone()[0]
    key = make_key()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    stamp = f"{time.time_ns()}"
    counts, list_sql = query_counts(key, branch.code, start)
    if args.profile:
        profile(key, branch.code, start)
    say(
        f"{rows:,} interactions; {args.workers} gunicorn workers, {args.clients} clients; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    port = free_port()
    os.environ["DATABASE_URL"] = args.database_url
    server = start_server(port, args.workers)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Api-Key {key}"}
    session = requests.Session()
    session.headers.update(headers)
    try:
        some = Interaction.objects.order_by("-id").values_list("pk", flat=True).first()
        urls = {
            "health": f"{base}/healthz",
            "floor": f"{base}/api/v1/integration/",
            "page": f"{base}{LIST_PATH}",
            "detail": f"{base}/api/v1/interactions/{some}/",
        }
        interleaved(session, urls, 30)  # every worker warm, its statements prepared
        times = interleaved(session, urls, args.requests)
        health, floor, page, detail = (times[k] for k in ("health", "floor", "page", "detail"))
        sql = time_sql(list_sql, args.requests)
        health_rate_before, _ = concurrent(
            args.clients, args.creates, lambda s, n: s.get(f"{base}/healthz", timeout=60)
        )
        create_rate, create_ms = concurrent(
            args.clients,
            args.creates,
            lambda s, n: s.post(
                f"{base}/api/v1/interactions/",
                json=item(n, f"c{stamp}", branch.code, start),
                headers=headers,
                timeout=60,
            ),
        )
        health_rate_after, _ = concurrent(
            args.clients, args.creates, lambda s, n: s.get(f"{base}/healthz", timeout=60)
        )
        insert_rate = raw_inserts(args.database_url, args.clients, args.creates, branch.pk, start)
        bulk_rate = bulk(base, headers, args.bulk_items, branch.code, start)
        copy_rate = raw_copy(args.database_url, args.bulk_items, branch.pk, start)
    finally:
        server.terminate()
        server.wait(10)
    if args.existing:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM interactions_interaction WHERE source = %s OR topic = %s",
                [SOURCE, "benchmark"],
            )

    health_p50 = statistics.median(health)
    health_rate = (health_rate_before + health_rate_after) / 2
    page_p50 = statistics.median(page)
    say("")
    say(f"{'request':<44} {'p50 ms':>8} {'p95 ms':>8}   the limit beside it")
    say(f"{'/healthz (one at a time)':<44} {health_p50:8.2f} {percentile(health, 0.95):8.2f}")
    say(
        f"{'an API call that reads nothing (DRF floor)':<44} {statistics.median(floor):8.2f} "
        f"{percentile(floor, 0.95):8.2f}   {statistics.median(floor) / health_p50:.2f}x /healthz"
    )
    say(
        f"{'first page of 25 interactions':<44} {page_p50:8.2f} {percentile(page, 0.95):8.2f}"
        f"   {page_p50 / health_p50:.2f}x /healthz (goal <= 2x); its SQL alone "
        f"{statistics.median(sql):.2f} ms"
    )
    say(
        f"{'one interaction by id':<44} {statistics.median(detail):8.2f} "
        f"{percentile(detail, 0.95):8.2f}   {statistics.median(detail) / health_p50:.2f}x /healthz"
    )
    say("")
    say(f"{'throughput':<44} {'per s':>8}   the limit beside it")
    say(
        f"{f'/healthz, {args.clients} clients (before / after)':<44} {health_rate:8.0f}"
        f"   {health_rate_before:.0f} / {health_rate_after:.0f}"
    )
    say(
        f"{f'POST /interactions/, {args.clients} clients':<44} {create_rate:8.0f}"
        f"   {create_rate / health_rate:.0%} of /healthz (goal >= 50%); raw INSERT+COMMIT "
        f"{insert_rate:.0f}/s ({create_rate / insert_rate:.0%}); p50 "
        f"{statistics.median(create_ms):.1f} ms, p99 {percentile(create_ms, 0.99):.1f} ms"
    )
    say(
        f"{'POST /interactions/bulk/, 1 sender (items)':<44} {bulk_rate:8.0f}"
        f"   {bulk_rate / copy_rate:.0%} of raw COPY's {copy_rate:.0f} rows/s "
        "(goal >= 20%, moonshot 50%)"
    )
    say("")
    say("SQL statements per request: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    goals = {
        "list page <= 2x /healthz": page_p50 <= 2 * health_p50,
        "creates >= 50% of /healthz": create_rate >= 0.5 * health_rate,
        "bulk >= 20% of COPY": bulk_rate >= 0.2 * copy_rate,
    }
    say("goals: " + "; ".join(f"{g}: {'met' if ok else 'NOT met'}" for g, ok in goals.items()))
    say(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
