"""Page latency on the demo, as `make run` seeds it, through a real server.

Usage, on a scratch PostgreSQL database seeded like the demo (read only here):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_pages
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py seed_demo --reset     # the demo's defaults: 24 branches, 12 weeks
    .venv/bin/python manage.py seed_surveys
    .venv/bin/python manage.py recompute_consistency
    .venv/bin/python benchmarks/pages.py

Starts gunicorn on 127.0.0.1 (DEBUG off), signs in as the regional manager of the largest
region, the HQ admin and an agent of the busiest branch, and requests every page staff use
--requests times each (after a warm-up), one after another, with /healthz through the same
server as the baseline of the same run. Prints p50, p95, p50 above /healthz's p50 and the
SQL queries each page runs; exits 1 if any page's p50 is GOAL_MS or more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bulk_sync import free_port, setup_django, start_server  # noqa: E402
from benchmarks.dashboard import signed_in  # noqa: E402

GOAL_MS = 300.0


class Target(NamedTuple):
    label: str
    username: str  # "" for no session
    path: str


def targets() -> list[Target]:
    """Every page the issue names, as the role that uses it, on the demo's busiest data."""
    from django.db.models import Count

    from branches.models import Branch, Region, User
    from consistency.models import Case
    from customers.models import Customer

    region = Region.objects.annotate(size=Count("branches")).order_by("-size", "code").first()
    if region is None:
        raise SystemExit("The database has no regions: seed it first (see the docstring).")
    branch = (
        Branch.objects.filter(region=region)
        .annotate(volume=Count("interactions"))
        .order_by("-volume", "code")
        .first()
    )
    agent = (
        User.objects.filter(branches=branch, username__startswith="agent.").order_by("pk").first()
    )
    case = Case.objects.filter(branch__region=region).order_by("-pk").first()
    customer = Customer.objects.filter(home_branch=branch).exclude(name="").order_by("pk").first()
    if branch is None or agent is None or case is None or customer is None:
        raise SystemExit("The demo lacks a branch, an agent, a case or a customer: seed it first.")
    rm, clerk = f"rm.{region.code}", agent.username
    query = customer.name.split()[-1][:5]
    return [
        Target("/healthz (baseline)", "", "/healthz"),
        Target(f"home ({rm})", rm, "/"),
        Target("home (admin)", "admin", "/"),
        Target("comparison", rm, "/comparison/"),
        Target("funnel", rm, "/funnel/"),
        Target(f"branch {branch.code}", rm, f"/branches/{branch.code}/"),
        Target("cases", rm, "/cases/"),
        Target(f"case {case.pk}", rm, f"/cases/{case.pk}/"),
        Target("flags", rm, "/flags/"),
        Target("follow-ups", rm, "/follow-ups/"),
        Target(f"log ({clerk})", clerk, "/log/"),
        Target(f"customers ?q={query}", clerk, f"/customers/?q={query}"),
        Target("interactions", clerk, "/interactions/"),
        Target("walk-ins", clerk, "/walk-ins/"),
    ]


def query_counts(pages: list[Target]) -> dict[str, int]:
    """SQL queries per page, through Django's test client on the same database."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from branches.models import User

    counts = {}
    for target in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        if target.username:
            client.force_login(User.objects.get(username=target.username))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(target.path)
        if response.status_code != 200:
            raise SystemExit(f"{target.path} as {target.username}: HTTP {response.status_code}")
        counts[target.label] = len(queries.captured_queries)
    return counts


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)]


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30, help="per page, after the warm-up")
    parser.add_argument("--warmup", type=int, default=3, help="requests per page not counted")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--password", default="demo1234")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a PostgreSQL database seeded as the docstring says.")
        return 2
    setup_django()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM branches_branch), "
            "(SELECT count(*) FROM interactions_interaction), "
            "(SELECT count(*) FROM consistency_rollup), (SELECT count(*) FROM consistency_flag)"
        )
        branches, interactions, rollups, flags = cursor.fetchone()
    pages = targets()
    print(
        f"{branches} branches, {interactions:,} interactions, {rollups:,} rollups, "
        f"{flags:,} flags; {args.requests} requests per page after {args.warmup} warm-up, "
        f"gunicorn with {args.workers} workers on 127.0.0.1; load average {_load()}",
        file=sys.stderr,
    )
    queries = query_counts(pages)
    port = free_port()
    server = start_server(port, args.workers)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, tuple[float, float, int]] = {}
    try:
        sessions = {"": requests.Session()}
        for username in sorted({t.username for t in pages} - {""}):
            sessions[username] = signed_in(base, username, args.password)
        for n, target in enumerate(pages, start=1):
            session = sessions[target.username]
            times = []
            size = 0
            for i in range(args.warmup + args.requests):
                began = time.perf_counter()
                response = session.get(base + target.path, timeout=60, allow_redirects=False)
                elapsed = (time.perf_counter() - began) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{target.path}: HTTP {response.status_code}")
                if i >= args.warmup:
                    times.append(elapsed)
                size = len(response.content)
            results[target.label] = (statistics.median(times), percentile(times, 0.95), size)
            print(
                f"[{n}/{len(pages)}] {target.label}: p50 {results[target.label][0]:.1f} ms",
                file=sys.stderr,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    baseline = results[pages[0].label][0]
    print(f"load average after: {_load()} on {os.cpu_count()} CPUs (other work inflates times)")
    print(f"{'page':<28} {'p50 ms':>8} {'p95 ms':>8} {'-healthz':>9} {'KiB':>6} {'SQL':>4}")
    slow = []
    for target in pages:
        p50, p95, size = results[target.label]
        mark = ""
        if p50 >= GOAL_MS:
            slow.append(target.label)
            mark = "  >= goal"
        print(
            f"{target.label:<28} {p50:>8.1f} {p95:>8.1f} {p50 - baseline:>9.1f} "
            f"{size / 1024:>6.0f} {queries[target.label]:>4}{mark}"
        )
    verdict = "met" if not slow else f"NOT met ({', '.join(slow)})"
    print(f"goal: every page's p50 < {GOAL_MS:.0f} ms -> {verdict}")
    return 0 if not slow else 1


if __name__ == "__main__":
    raise SystemExit(main())
