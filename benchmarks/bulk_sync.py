"""Sync throughput through a real server: bulk endpoint vs raw COPY vs one POST per item.

Usage (a scratch PostgreSQL database; its data is replaced):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \
        .venv/bin/python benchmarks/bulk_sync.py

Starts gunicorn on 127.0.0.1 (production-like: DEBUG off), sends --items interactions
through /api/v1/interactions/bulk/ in batches of --batch (once from one sender, once from
--senders in parallel, as a sync job may), loads the same number of rows with COPY, sends
--single items one POST each, then measures single-POST latency with --clients concurrent
clients. Prints one table.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
    os.environ["DJANGO_DEBUG"] = "false"
    import django

    django.setup()


def prepare() -> tuple[str, list[str]]:
    """A fresh small chain and an API key reaching all of it."""
    from django.core.management import call_command

    from branches.models import Branch
    from crm.services import api_key_create, integration_create

    call_command("migrate", verbosity=0)
    call_command(
        "seed_demo",
        reset=True,
        interactions=0,
        branches=10,
        weeks=6,
        verbosity=0,
        truth_file=ROOT / "var" / "benchmark-truth.json",
    )
    integration = integration_create(
        name=f"benchmark {time.time_ns()}",
        scopes=["interactions:read", "interactions:write", "customers:read"],
    )
    _, key = api_key_create(integration=integration)
    return key, list(Branch.objects.order_by("code").values_list("code", flat=True))


def item(n: int, prefix: str, codes: list[str], start: datetime) -> dict[str, Any]:
    return {
        "source": "bench",
        "external_id": f"{prefix}-{n}",
        "branch": codes[n % len(codes)],
        "channel": ("in_person", "phone", "email", "chat")[n % 4],
        "occurred_at": (start + timedelta(seconds=n * 7)).isoformat(),
        "wait_seconds": 5 + n % 90,
        "handle_seconds": 60 + n % 600,
        "outcome": ("resolved", "resolved", "follow_up", "escalated")[n % 4],
        "topic": "benchmark",
        "csat": 1 + n % 5 if n % 3 == 0 else None,
    }


def progress(label: str, done: int, total: int, began: float) -> None:
    rate = done / max(time.perf_counter() - began, 1e-9)
    print(f"\r{label}: {done:,}/{total:,} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    if done >= total:
        print(file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "API_THROTTLE_RATE": "1000000/min",
        # As in production, beat recomputes the statistics; not every request.
        "CONSISTENCY_RECOMPUTE_AFTER_WRITE": "false",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "crm.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return server
        except requests.RequestException:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def copy_rows(count: int, codes: list[str], start: datetime) -> float:
    from django.db import connection

    from branches.models import Branch

    ids = dict(Branch.objects.values_list("code", "pk"))
    columns = (
        "branch_id, channel, direction, occurred_at, wait_seconds, handle_seconds, outcome, "
        "topic, is_complaint, notes, csat, feedback_comment, source, external_id, "
        "created_at, updated_at"
    )
    now = datetime.now(UTC)
    began = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY interactions_interaction ({columns}) FROM STDIN") as copy,
    ):
        for n in range(count):
            row = item(n, "copy", codes, start)
            copy.write_row(
                (
                    ids[row["branch"]],
                    row["channel"],
                    "inbound",
                    start + timedelta(seconds=n * 7),
                    row["wait_seconds"],
                    row["handle_seconds"],
                    row["outcome"],
                    row["topic"],
                    False,
                    "",
                    row["csat"],
                    "",
                    row["source"],
                    row["external_id"],
                    now,
                    now,
                )
            )
    return time.perf_counter() - began


def send_bulk(
    base: str,
    headers: dict[str, str],
    args: argparse.Namespace,
    codes: list[str],
    start: datetime,
    senders: int,
) -> float:
    """POST --items interactions in batches from ``senders`` threads; the seconds it took."""
    sessions = threading.local()
    done = 0
    lock = threading.Lock()
    began = time.perf_counter()

    def send(offset: int) -> None:
        nonlocal done
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
            sessions.session.headers.update(headers)
        prefix = f"bulk{senders}"
        batch = [item(n, prefix, codes, start) for n in range(offset, offset + args.batch)]
        response = sessions.session.post(base + "bulk/", json=batch, timeout=120)
        body = response.json()
        if response.status_code != 200 or body["created"] != len(batch):
            raise SystemExit(f"bulk batch at {offset} failed: {response.status_code} {body}")
        with lock:
            done += len(batch)
            progress(f"bulk, {senders} sender(s)", done, args.items, began)

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(send, range(0, args.items, args.batch)))
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--single", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8, help="for the latency of one POST")
    parser.add_argument("--senders", type=int, default=2, help="parallel bulk senders")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a scratch PostgreSQL database (its data is replaced).")
        return 2
    setup_django()
    key, codes = prepare()
    start = datetime(2026, 1, 5, 8, tzinfo=UTC)
    port = free_port()
    server = start_server(port, args.workers)
    base = f"http://127.0.0.1:{port}/api/v1/interactions/"
    headers = {"Authorization": f"Api-Key {key}"}
    try:
        session = requests.Session()
        session.headers.update(headers)
        bulk_seconds = send_bulk(base, headers, args, codes, start, senders=1)
        parallel_seconds = send_bulk(base, headers, args, codes, start, senders=args.senders)

        copy_seconds = copy_rows(args.items, codes, start)

        began = time.perf_counter()
        for n in range(args.single):
            response = session.post(base, json=item(n, "single", codes, start), timeout=30)
            if response.status_code != 201:
                raise SystemExit(f"single POST failed: {response.status_code} {response.text}")
            if (n + 1) % 100 == 0 or n + 1 == args.single:
                progress("one by one", n + 1, args.single, began)
        single_seconds = time.perf_counter() - began

        def timed_post(n: int) -> float:
            t0 = time.perf_counter()
            response = requests.post(
                base, json=item(n, "conc", codes, start), headers=headers, timeout=30
            )
            if response.status_code != 201:
                raise SystemExit(f"concurrent POST failed: {response.status_code}")
            return (time.perf_counter() - t0) * 1000

        with ThreadPoolExecutor(args.clients) as pool:
            latencies = sorted(pool.map(timed_post, range(args.single)))
    finally:
        server.terminate()
        server.wait(10)

    bulk_rate = args.items / bulk_seconds
    parallel_rate = args.items / parallel_seconds
    copy_rate = args.items / copy_seconds
    single_rate = args.single / single_seconds
    rows = [
        (f"POST /interactions/bulk/ (batches of {args.batch})", args.items, bulk_seconds),
        (f"  the same, {args.senders} senders in parallel", args.items, parallel_seconds),
        ("raw COPY into interactions_interaction", args.items, copy_seconds),
        ("POST /interactions/ one item each", args.single, single_seconds),
    ]
    print(f"{'path':<44} {'items':>8} {'seconds':>8} {'items/s':>9}")
    for label, count, seconds in rows:
        print(f"{label:<44} {count:>8,} {seconds:>8.1f} {count / seconds:>9,.0f}")
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"single POST, {args.clients} concurrent clients: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(
        f"bulk / COPY = {bulk_rate / copy_rate:.0%} with 1 sender, "
        f"{parallel_rate / copy_rate:.0%} with {args.senders} (goal >= 20%); "
        f"bulk / one-by-one = {bulk_rate / single_rate:.1f}x (goal >= 10x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
