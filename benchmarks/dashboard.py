"""Dashboard latency: the regional comparison and the flag queue at chain scale.

Usage, on a PostgreSQL database seeded at the size to measure (read only here):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_ui \\
        .venv/bin/python manage.py seed_demo --regions 1 --branches 100 --weeks 52 \\
        --interactions 10000000 --reset
    DATABASE_URL=... .venv/bin/python manage.py recompute_consistency
    DATABASE_URL=... .venv/bin/python benchmarks/dashboard.py

Signs in as the regional manager of the largest region through a real gunicorn on
127.0.0.1 (DEBUG off) and requests each page --requests times, one after another; prints
p50, p95 and the largest latency per page, the SQL queries each page runs, and whether the
goal (p95 <= 150 ms for the comparison and the flag queue) is met. The pages read the
rollups and flags, never the interactions table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bulk_sync import free_port, setup_django, start_server  # noqa: E402

GOAL_MS = 150.0


def pages(region: str, branch: str) -> dict[str, tuple[str, bool]]:
    """Label: (path, held to the goal), for the measured region and one of its branches."""
    return {
        "comparison (latest week, all channels)": (f"/comparison/?region={region}", True),
        "comparison (phone, sorted by NPS)": (
            f"/comparison/?region={region}&channel=phone&sort=nps&dir=asc",
            True,
        ),
        "comparison (a month)": (f"/comparison/?region={region}&kind=month", True),
        "flag queue (open, first page)": ("/flags/", True),
        "flag queue (alarms, page 3)": ("/flags/?severity=alarm&page=3", True),
        "flag queue (one branch, all statuses)": (f"/flags/?status=&branch={branch}", True),
        "funnel plot (response)": (f"/funnel/?region={region}", False),
        "home": ("/", False),
    }


def query_counts(username: str, paths: dict[str, tuple[str, bool]]) -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from branches.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=username))
    counts = {}
    for label, (path, _) in paths.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        refuse_unless_ok(path, response.status_code, response.content)
        touched = [
            q["sql"] for q in queries.captured_queries if "interactions_interaction" in q["sql"]
        ]
        counts[label] = len(queries.captured_queries)
        if touched and "funnel" not in label:
            print(f"  note: {label} read interactions: {touched[0][:120]}", file=sys.stderr)
    return counts


def refuse_unless_ok(path: str, status: int, body: bytes) -> None:
    if status != 200:
        start = body[:300].decode("utf-8", "replace")
        raise SystemExit(f"{path}: HTTP {status}; the answer begins: {start!r}")


def signed_in(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/login/", timeout=30)
    response = session.post(
        f"{base}/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"could not sign in as {username}: HTTP {response.status_code}")
    return session


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--password", default="demo1234")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a seeded PostgreSQL database (see the docstring).")
        return 2
    setup_django()
    from django.db import connection
    from django.db.models import Count

    from branches.models import Branch, Region

    region = Region.objects.annotate(size=Count("branches")).order_by("-size").first()
    # The region's branch with the most flags: its queue is the longest to filter.
    branch = (
        Branch.objects.filter(region=region)
        .annotate(flagged=Count("flags"))
        .order_by("-flagged", "code")
        .first()
    )
    if region is None or branch is None:
        print("The database has no branches: seed it first (see the docstring).")
        return 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM interactions_interaction")
        (interactions,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM consistency_rollup")
        (rollups,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM consistency_flag")
        (flags,) = cursor.fetchone()
    username = f"rm.{region.code}"
    print(
        f"{interactions:,} interactions, region {region.code} with {region.size} branches, "
        f"{rollups:,} rollups, {flags:,} flags; signed in as {username}, one branch {branch.code}; "
        f"{args.requests} requests per page, {args.workers} gunicorn workers"
    )
    paths = pages(region.code, branch.code)
    queries = query_counts(username, paths)
    port = free_port()
    server = start_server(port, args.workers)
    base = f"http://127.0.0.1:{port}"
    met = True
    try:
        session = signed_in(base, username, args.password)
        print(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'KiB':>7} {'SQL':>4}  goal")
        for label, (path, held) in paths.items():
            for _ in range(5):  # warm the workers and the database's caches
                session.get(base + path, timeout=60)
            times = []
            size = 0
            for _ in range(args.requests):
                began = time.perf_counter()
                response = session.get(base + path, timeout=60)
                times.append((time.perf_counter() - began) * 1000)
                refuse_unless_ok(path, response.status_code, response.content)
                size = len(response.content)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            verdict = ""
            if held:
                verdict = "met" if p95 <= GOAL_MS else "NOT met"
                met = met and p95 <= GOAL_MS
            print(
                f"{label:<40} {statistics.median(times):>8.1f} {p95:>8.1f} {times[-1]:>8.1f} "
                f"{size / 1024:>7.0f} {queries[label]:>4}  {verdict}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"goal: p95 <= {GOAL_MS:.0f} ms for the comparison and the flag queue -> "
        f"{'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
