"""Quality reviews sent by a QA tool in bulk, against raw COPY of the same rows.

Usage (a scratch PostgreSQL database; its data is replaced):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_reviews \
        .venv/bin/python benchmarks/review_bulk.py --items 50000

Seeds a demo chain with --interactions interactions and the demo's two scorecards, starts
gunicorn on 127.0.0.1 (DEBUG off, --workers), then:

1. sends --items reviews through ``POST /api/v1/quality/reviews/bulk/`` in batches of 1 000
   from one sender, each naming its interaction by the caller's reference (source,
   external_id), as a speech-analytics tool does: every review is created;
2. sends --items more from --senders senders at once (a sync job may);
3. ANALYZEs the reviews table (what autovacuum does after a load this size) and sends the
   first batches again (a retried sync: every item comes back unchanged);
4. loads the same number of review rows with COPY, the honest limit.

Goal (issue 17): at least 5 000 items/s in bulk. Prints one table and the verdict (the
better of one sender and --senders).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bulk_sync import free_port, progress, setup_django, start_server  # noqa: E402

GOAL = 5000
BATCH = 1000


def prepare(interactions: int) -> tuple[str, list[tuple[int, str, str]]]:
    """A fresh chain, the demo's scorecards, a key with the staff scopes; the interactions
    to review as (id, source, external_id), each given a reference first."""
    from django.core.management import call_command
    from django.db import connection

    from crm.services import api_key_create, integration_create
    from interactions.models import Interaction
    from quality.demo import _scorecards_create

    call_command("migrate", verbosity=0)
    call_command(
        "seed_demo", reset=True, interactions=interactions, branches=20, weeks=8, verbosity=0,
        truth_file=ROOT / "var" / "benchmark-truth.json",
    )  # fmt: skip
    _scorecards_create(datetime(2000, 1, 1, tzinfo=UTC).date())
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE interactions_interaction SET source = 'pbx', external_id = 'call-' || id "
            "WHERE channel IN ('phone', 'in_person') AND staff_id IS NOT NULL"
        )
        cursor.execute("VACUUM ANALYZE")  # autovacuum may be off on a benchmark cluster
    integration = integration_create(
        name=f"qa tool {time.time_ns()}", scopes=["staff:read", "staff:write"]
    )
    _, key = api_key_create(integration=integration)
    calls = list(
        Interaction.objects.filter(source="pbx")
        .order_by("id")
        .values_list("id", "channel", "external_id")
    )
    return key, calls


ANSWERS = {
    "phone": lambda n: {
        "answers-with-name": 1, "verifies-identity": 1 if n % 50 else 0,
        "does-not-interrupt": n % 7 != 0, "confirms-amount": None if n % 3 else 1,
        "clear-explanation": 1 + n % 5, "summarises-next-steps": None,
        "closes-politely": 1,
    },
    "in_person": lambda n: {
        "greets-by-name": 1, "friendly-manner": 1 + n % 5, "does-not-interrupt": 1,
        "confirms-amount": 1 if n % 40 else 0, "offers-more-help": None, "thanks-customer": 1,
    },
}  # fmt: skip
CARD = {"phone": "phone", "in_person": "counter"}


def item(n: int, call: tuple[int, str, str]) -> dict[str, Any]:
    _, channel, external_id = call
    answers = {k: int(v) if isinstance(v, bool) else v for k, v in ANSWERS[channel](n).items()}
    return {
        "source": "speechqa",
        "external_id": f"qa-{n}",
        "interaction_ref": {"source": "pbx", "external_id": external_id},
        "scorecard": CARD[channel],
        "answers": answers,
        "comment": "benchmark" if n % 4 == 0 else "",
    }


def send(
    base: str, key: str, items: list[dict[str, Any]], label: str, expect: str, senders: int = 1
) -> float:
    """POST ``items`` in batches from ``senders`` threads; the items a second."""
    local = threading.local()
    lock = threading.Lock()
    done = 0
    began = time.perf_counter()

    def post(offset: int) -> None:
        nonlocal done
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers.update({"Authorization": f"Api-Key {key}"})
        batch = items[offset : offset + BATCH]
        response = local.session.post(
            f"{base}/api/v1/quality/reviews/bulk/", json=batch, timeout=120
        )
        body = response.json()
        if response.status_code != 200 or body.get(expect) != len(batch):
            sys.exit(f"{label} batch at {offset}: {response.status_code} {json.dumps(body)[:300]}")
        with lock:
            done += len(batch)
            progress(label, done, len(items), began)

    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(post, range(0, len(items), BATCH)))
    return len(items) / (time.perf_counter() - began)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE quality_review")


def copy_rate(items: list[dict[str, Any]], calls: list[tuple[int, str, str]]) -> float:
    """The same reviews' rows written by COPY: the database's own limit for them."""
    from django.db import connection

    from interactions.models import Interaction
    from quality.models import Review, Scorecard

    cards = dict(Scorecard.objects.values_list("code", "pk"))
    facts = {
        i.pk: i
        for i in Interaction.objects.filter(pk__in=[c[0] for c in calls[: len(items)]]).only(
            "pk", "branch_id", "staff_id", "channel", "occurred_at"
        )
    }
    columns = (
        "interaction_id, scorecard_id, agent_id, branch_id, channel, occurred_at, kind, answers, "
        "comment, score, passed, critical_fail, disputed, source, external_id, created_at, "
        "updated_at"
    )
    now = datetime.now(UTC)
    began = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Review._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for n, values in enumerate(items):
            i = facts[calls[n % len(calls)][0]]
            copy.write_row(
                (
                    i.pk, cards[values["scorecard"]], i.staff_id, i.branch_id, i.channel,
                    i.occurred_at, "regular", json.dumps(values["answers"]), values["comment"],
                    0.9, True, False, False, "copy", f"copy-{n}", now, now,
                )
            )  # fmt: skip
    return len(items) / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--interactions", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--senders", type=int, default=2)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a scratch PostgreSQL database (its data is replaced).")
        return 2
    setup_django()
    key, calls = prepare(args.interactions)
    if len(calls) < 2 * args.items:
        sys.exit(f"only {len(calls)} interactions to review; raise --interactions")
    items = [item(n, calls[n]) for n in range(args.items)]
    more = [item(n, calls[n]) for n in range(args.items, 2 * args.items)]
    port = free_port()
    server = start_server(port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        created = send(base, key, items, "bulk, new reviews, 1 sender", "created")
        parallel = send(
            base, key, more, f"bulk, new reviews, {args.senders} senders", "created", args.senders
        )
        analyze()
        unchanged = send(base, key, items, "bulk, the same again", "unchanged")
    finally:
        server.terminate()
        server.wait()
    copied = copy_rate(items, calls)
    print()
    print(f"reviews: {args.items:,} in batches of {BATCH}, {args.workers} gunicorn workers,")
    print(f"load average {os.getloadavg()[0]:.1f}")
    for label, rate in (
        ("bulk, new reviews, 1 sender", created),
        (f"bulk, new reviews, {args.senders} senders", parallel),
        ("bulk, retried batch, 1 sender", unchanged),
    ):
        print(f"{label + ' (items/s)':<44} {rate:8.0f}  {rate / copied:.0%} of COPY")
    print(f"{'raw COPY of the same rows (rows/s)':<44} {copied:8.0f}")
    verdict = max(created, parallel) >= GOAL
    print(f"goal: bulk >= {GOAL} items/s: {'PASS' if verdict else 'FAIL'}")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
