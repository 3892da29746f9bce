"""Cursor depth: does a sync page cost the same deep in the feed as on the first page?

Usage (a scratch PostgreSQL database; it is created when missing and its interactions
are replaced):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_cursor \\
        .venv/bin/python benchmarks/cursor_depth.py

Options: --rows 10000000 (interactions to seed), --reseed (seed even when the table
already holds --rows), --depths 0,1000000,5000000, --requests 30 (per depth),
--baseline-runs 5 (runs of the slow OR-form query per depth), --workers 2.

Seeds --rows interactions with INSERT ... SELECT FROM generate_series (in chunks, with
progress), VACUUM ANALYZEs the table, then starts gunicorn on 127.0.0.1 (DEBUG off) and,
for each depth, builds the cursor of the row at that offset in sync order and times
``GET /api/v1/interactions/?page_size=100&cursor=...`` (no cursor at depth 0). It also
times the page's own SQL (captured once through the test client), the same SQL with the
cursor spelt ``updated_at > X OR (updated_at = X AND id > Y)`` (the form the cursor used
to be), and /healthz. Prints a table, the EXPLAIN (ANALYZE, BUFFERS) of the deepest page
and a VERDICT: the goal is a flat cost, every depth's HTTP p50 at most 2x the first
page's. Exits 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bulk_sync import free_port, setup_django, start_server  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_cursor"
GOAL_RATIO = 2.0
PAGE_SIZE = 100
TABLE = "interactions_interaction"
REGION_CODE = "cur"
BRANCHES = 6
CUSTOMERS = 2000
CUSTOMER_SOURCE = "cursor-bench"
# Sync order columns exactly as Django writes them in the page's SQL.
UPDATED = f'"{TABLE}"."updated_at"'
ID = f'"{TABLE}"."id"'
ROW_COMPARISON = re.compile(
    re.escape(f"({UPDATED}, {ID}) > (") + r"(?P<ts>'[^']*'(?:::[a-z ]+)?), (?P<id>\d+)\)"
)

# One chunk of interactions n = lo..hi. Sync timestamps are one second apart but shuffled
# within each block of 1000 rows (389 is coprime with 1000, so the shuffle is a
# permutation), which keeps id order and (updated_at, id) order different without making
# index inserts random. Four rows per block repeat their neighbour's timestamp (ties the
# id has to break), and one row per block is a tombstone, hidden from the default feed.
SEED_SQL = """
INSERT INTO interactions_interaction (
    created_at, updated_at, deleted_at, source, external_id, channel, direction,
    occurred_at, wait_seconds, handle_seconds, outcome, topic, is_complaint, notes,
    csat, nps, branch_id, customer_id, staff_id, moment_id, feedback_at, feedback_comment
)
SELECT
    t.occurred + interval '15 minutes',
    t.updated,
    CASE WHEN mod(n, 1000) = 500 THEN t.updated END,
    '', '',
    (ARRAY['in_person', 'phone', 'email', 'chat'])[1 + mod(n, 4)],
    CASE WHEN mod(n, 5) = 0 THEN 'outbound' ELSE 'inbound' END,
    t.occurred,
    5 + mod(n, 300),
    60 + mod(n, 900),
    (ARRAY['resolved', 'resolved', 'follow_up', 'escalated'])[1 + mod(n, 4)],
    (ARRAY['', 'card', 'loan', 'account'])[1 + mod(n, 4)],
    mod(n, 50) = 0,
    '',
    CASE WHEN mod(n, 3) = 0 THEN 1 + mod(n, 5) END,
    CASE WHEN mod(n, 4) = 0 THEN mod(n, 11) END,
    (%(branches)s::bigint[])[1 + mod(n, cardinality(%(branches)s::bigint[]))],
    CASE WHEN mod(n, 2) = 0
        THEN (%(customers)s::bigint[])[1 + mod(n / 2, cardinality(%(customers)s::bigint[]))]
    END,
    NULL, NULL, NULL, ''
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS n
CROSS JOIN LATERAL (
    SELECT
        %(base)s::timestamptz + (n - 3600) * interval '1 second' AS occurred,
        %(base)s::timestamptz + (
            (n - 1) / 1000 * 1000
            + mod(
                (mod(n - 1, 1000) - CASE WHEN mod(mod(n - 1, 1000), 250) = 1 THEN 1 ELSE 0 END)
                * 389,
                1000
            )
        ) * interval '1 second' AS updated
) AS t
"""


@dataclass
class Depth:
    depth: int
    cursor: str | None
    expected_first_id: int
    http_ms: list[float]
    sql: str
    sql_ms: list[float]
    old_sql: str | None
    old_ms: list[float]


def say(message: str) -> None:
    print(message, flush=True)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value at least ``share`` of them reach."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def ensure_database(url: str) -> str:
    """Create the database named in ``url`` when it does not exist; its name."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit("DATABASE_URL names no database.")
    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            say(f"created database {name}")
        else:
            say(f"database {name} exists")
    return name


def count_rows() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")  # noqa: S608 (a constant name)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def reference_data() -> tuple[list[int], list[int]]:
    """The benchmark's branches and customers (made once), as ids."""
    from branches.models import Branch, Region
    from customers.models import Customer

    region, _ = Region.objects.get_or_create(code=REGION_CODE, defaults={"name": "Cursor bench"})
    branch_ids = []
    for n in range(1, BRANCHES + 1):
        branch, _ = Branch.objects.get_or_create(
            code=f"{REGION_CODE}-{n:02}", defaults={"region": region, "name": f"Bench {n}"}
        )
        branch_ids.append(branch.pk)
    have = set(
        Customer.objects.filter(source=CUSTOMER_SOURCE).values_list("external_id", flat=True)
    )
    missing = [f"c{n}" for n in range(CUSTOMERS) if f"c{n}" not in have]
    Customer.objects.bulk_create(
        [
            Customer(name=f"Bench customer {ref}", source=CUSTOMER_SOURCE, external_id=ref)
            for ref in missing
        ],
        batch_size=1000,
    )
    customer_ids = list(
        Customer.objects.filter(source=CUSTOMER_SOURCE).order_by("pk").values_list("pk", flat=True)
    )
    return branch_ids, customer_ids


def seed(rows: int, chunk: int, reseed: bool) -> None:
    from django.db import connection

    from interactions.partitions import partitions_ensure

    began = time.perf_counter()
    have = count_rows()
    say(f"{TABLE} holds {have:,} rows (counted in {time.perf_counter() - began:.1f} s)")
    if have == rows and not reseed:
        say("seeding skipped: the table already holds --rows (pass --reseed to redo it)")
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLE}")
        say(f"ANALYZE in {time.perf_counter() - began:.1f} s")
        return
    branch_ids, customer_ids = reference_data()
    base = datetime(2025, 1, 6, 8, tzinfo=UTC)
    # PostgreSQL partitions interactions by month: make the months the rows will fill.
    partitions_ensure(since=base - timedelta(hours=1))
    with connection.cursor() as cursor:
        # A scratch database: whatever pointed at the old rows goes with them.
        cursor.execute(f"TRUNCATE {TABLE} RESTART IDENTITY CASCADE")
        cursor.execute("SET synchronous_commit TO off")
        began = time.perf_counter()
        for lo in range(1, rows + 1, chunk):
            hi = min(lo + chunk - 1, rows)
            cursor.execute(
                SEED_SQL,
                {
                    "branches": branch_ids,
                    "customers": customer_ids,
                    "lo": lo,
                    "hi": hi,
                    "base": base,
                },
            )
            elapsed = time.perf_counter() - began
            rate = hi / max(elapsed, 1e-9)
            eta = (rows - hi) / max(rate, 1e-9)
            say(
                f"  seeded {hi:>12,}/{rows:,} rows  {elapsed:7.1f} s  "
                f"{rate:>9,.0f} rows/s  eta {eta:6.0f} s"
            )
        cursor.execute("RESET synchronous_commit")
        say(f"seeded {rows:,} interactions in {time.perf_counter() - began:.1f} s")
        # VACUUM as well as ANALYZE: it sets hint bits and the visibility map now, so
        # autovacuum does not wake up on the fresh rows in the middle of the timings.
        began = time.perf_counter()
        cursor.execute(f"VACUUM (ANALYZE) {TABLE}")
        say(f"VACUUM (ANALYZE) in {time.perf_counter() - began:.1f} s")


def make_key() -> str:
    from crm.services import api_key_create, integration_create

    integration = integration_create(
        name=f"cursor depth benchmark {time.time_ns()}", scopes=["interactions:read"]
    )
    _, key = api_key_create(integration=integration)
    return key


def page_path(cursor: str | None) -> str:
    path = f"/api/v1/interactions/?page_size={PAGE_SIZE}"
    return path if cursor is None else f"{path}&cursor={cursor}"


def position(depth: int) -> tuple[str | None, int]:
    """The cursor that skips ``depth`` rows of the default feed (None at 0: the first page)
    and the id its page should start with."""
    from django.db import connection

    from common.api.pagination import encode_cursor

    began = time.perf_counter()
    start = max(depth - 1, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT updated_at, id FROM {TABLE} WHERE deleted_at IS NULL "  # noqa: S608
            "ORDER BY updated_at, id OFFSET %s LIMIT 2",
            [start],
        )
        found = cursor.fetchall()
    if depth == 0:
        first = found[0][1]
        cursor_value = None
    else:
        if len(found) < 2:
            raise SystemExit(f"depth {depth:,} is past the end of the feed: lower --depths")
        cursor_value = encode_cursor(list(found[0]))
        first = found[1][1]
    say(f"  depth {depth:>11,}: cursor row read in {time.perf_counter() - began:.1f} s")
    return cursor_value, int(first)


def capture_sql(key: str, cursor: str | None) -> str:
    """The SQL of the page query, as the view runs it (through the test client)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Api-Key {key}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page_path(cursor))
    if response.status_code != 200:
        raise SystemExit(f"page via test client: HTTP {response.status_code} {response.content!r}")
    pages = [
        q["sql"]
        for q in queries.captured_queries
        if f'FROM "{TABLE}"' in q["sql"] and "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]
    ]
    if len(pages) != 1:
        raise SystemExit(f"expected one page query, captured {len(pages)}")
    return pages[0]


def spelt_out(sql: str) -> str:
    """``sql`` with its row comparison rewritten as the OR form the cursor used to be."""
    match = ROW_COMPARISON.search(sql)
    if match is None or len(ROW_COMPARISON.findall(sql)) != 1:
        raise SystemExit(f"no single row comparison in the page SQL:\n{sql}")
    ts, pk = match["ts"], match["id"]
    old = f"({UPDATED} > {ts} OR ({UPDATED} = {ts} AND {ID} > {pk}))"
    return sql[: match.start()] + old + sql[match.end() :]


def time_sql(sql: str, runs: int) -> list[float]:
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            began = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            timings.append((time.perf_counter() - began) * 1000)
    return timings


def explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return [str(row[0]) for row in cursor.fetchall()]


def get_ms(session: requests.Session, url: str, expected_first_id: int | None) -> float:
    """One timed GET; stops the run when the answer is not the page expected."""
    began = time.perf_counter()
    response = session.get(url, timeout=120)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code} {response.text[:300]}")
    if expected_first_id is not None:
        results = response.json()["results"]
        if len(results) != PAGE_SIZE or results[0]["id"] != expected_first_id:
            first = results[0]["id"] if results else None
            raise SystemExit(
                f"{url}: wrong page ({len(results)} rows, first id {first}, "
                f"expected {expected_first_id})"
            )
    return elapsed


def time_pages(
    session: requests.Session, base: str, measured: list[Depth], rounds: int
) -> list[float]:
    """``rounds`` rounds of one request per depth then one /healthz, so that drift in the
    machine's load spreads over every depth alike; the /healthz timings."""
    health = []
    for n in range(-3, rounds):  # three untimed rounds warm both workers
        for entry in measured:
            ms = get_ms(session, base + page_path(entry.cursor), entry.expected_first_id)
            if n >= 0:
                entry.http_ms.append(ms)
        ms = get_ms(session, base + "/healthz", None)
        if n >= 0:
            health.append(ms)
        if n + 1 == rounds or (n >= 0 and (n + 1) % 10 == 0):
            say(f"  round {n + 1}/{rounds}")
    return health


def time_queries(measured: list[Depth], rounds: int) -> None:
    """The row-comparison page SQL of every depth, interleaved the same way."""
    for n in range(-2, rounds):
        for entry in measured:
            [ms] = time_sql(entry.sql, 1)
            if n >= 0:
                entry.sql_ms.append(ms)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--rows", type=int, default=10_000_000, help="interactions to seed")
    parser.add_argument("--chunk", type=int, default=500_000, help="rows per INSERT")
    parser.add_argument("--reseed", action="store_true", help="seed even if already seeded")
    parser.add_argument("--depths", default="0,1000000,5000000", help="rows skipped")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per depth")
    parser.add_argument(
        "--baseline-runs", type=int, default=5, help="runs of the OR-form SQL per depth"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        print("Set DATABASE_URL to a scratch PostgreSQL database (its data is replaced).")
        return 2
    depths = sorted({int(d) for d in args.depths.split(",")})
    if depths[0] != 0:
        depths.insert(0, 0)  # the first page is what every depth is compared with
    if depths[-1] + PAGE_SIZE >= args.rows:
        print(f"--depths must stay below --rows ({args.rows:,}) by more than a page.")
        return 2

    ensure_database(url)
    setup_django()
    from django.core.management import call_command

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    say(f"migrated in {time.perf_counter() - began:.1f} s")
    seed(args.rows, args.chunk, args.reseed)
    key = make_key()

    say("building cursors and capturing the page SQL ...")
    measured: list[Depth] = []
    for depth in depths:
        cursor, first_id = position(depth)
        sql = capture_sql(key, cursor)
        measured.append(
            Depth(
                depth=depth,
                cursor=cursor,
                expected_first_id=first_id,
                http_ms=[],
                sql=sql,
                sql_ms=[],
                old_sql=spelt_out(sql) if cursor is not None else None,
                old_ms=[],
            )
        )
    say(f"page SQL at depth {depths[-1]:,}:\n  {measured[-1].sql}")

    port = free_port()
    say(f"starting gunicorn on 127.0.0.1:{port} with {args.workers} worker(s) ...")
    server = start_server(port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Api-Key {key}"
        say(f"timing {args.requests} rounds: one page per depth, then /healthz ...")
        health_ms = time_pages(session, base, measured, args.requests)
    finally:
        server.terminate()
        server.wait(10)

    say("timing the page SQL directly ...")
    time_queries(measured, args.requests)
    for entry in measured:
        if entry.old_sql is not None:
            time_sql(entry.old_sql, 1)  # warm-up
            began = time.perf_counter()
            entry.old_ms = time_sql(entry.old_sql, args.baseline_runs)
            say(
                f"  depth {entry.depth:>11,}: OR form, {args.baseline_runs} runs in "
                f"{time.perf_counter() - began:.1f} s"
            )

    deepest = measured[-1]
    plan = explain(deepest.sql)
    say(f"\nEXPLAIN (ANALYZE, BUFFERS), row comparison, depth {deepest.depth:,}:")
    for line in plan:
        say(f"  {line}")
    if deepest.old_sql is not None:
        say(f"\nEXPLAIN (ANALYZE, BUFFERS), old OR form, depth {deepest.depth:,}:")
        for line in explain(deepest.old_sql):
            say(f"  {line}")
    index_condition = any("Index Cond" in line and "ROW(" in line for line in plan)

    first_p50 = statistics.median(measured[0].http_ms)
    say(
        f"\n{count_rows():,} interactions, page_size={PAGE_SIZE}, {args.requests} requests per "
        f"depth (OR form: {args.baseline_runs} runs), {args.workers} gunicorn worker(s)"
    )
    say(
        f"{'depth':>11} {'HTTP p50 ms':>12} {'HTTP p95 ms':>12} {'SQL p50 ms':>11} "
        f"{'OR-form p50 ms':>15} {'x first page':>13}"
    )
    worst = 0.0
    for entry in measured:
        p50 = statistics.median(entry.http_ms)
        ratio = p50 / first_p50
        worst = max(worst, ratio)
        old = f"{statistics.median(entry.old_ms):15.1f}" if entry.old_ms else f"{'-':>15}"
        say(
            f"{entry.depth:>11,} {p50:12.1f} {percentile(entry.http_ms, 0.95):12.1f} "
            f"{statistics.median(entry.sql_ms):11.2f} {old} {ratio:13.2f}"
        )
    say(
        f"/healthz through the same server: p50 {statistics.median(health_ms):.1f} ms, "
        f"p95 {percentile(health_ms, 0.95):.1f} ms"
    )
    say(
        "deepest page's plan: "
        + (
            "index condition on the row comparison"
            if index_condition
            else "NO index condition on the row comparison (see EXPLAIN above)"
        )
    )
    met = worst <= GOAL_RATIO
    say(
        f"VERDICT: {'PASS' if met else 'FAIL'}: slowest depth's HTTP p50 is {worst:.2f}x the "
        f"first page's (goal <= {GOAL_RATIO:.0f}x)"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
