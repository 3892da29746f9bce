"""Fault tests: the real broker, a real worker, the real database, and things going wrong.

The helpers here point the Celery app at another broker for a while, run tasks the way the
deployed worker does (an embedded worker on the configured broker, or in-process when no
broker is configured), and take snapshots of the consistency engine's output to compare a
recovered run with a clean one.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from celery import Task
from celery.signals import task_failure, task_postrun
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from rest_framework.test import APIClient

from branches.models import Branch
from consistency.defaults import standard_create
from consistency.dirty import days_mark_dirty
from consistency.models import ConsistencyIndex, Flag, FlagStatus, Rollup, Standard, Target
from consistency.recompute import consistency_recompute
from crm.celery import app
from crm.services import api_key_create, integration_create
from interactions.models import Interaction
from tests.api.conftest import ALL_SCOPES
from tests.factories import BranchFactory, InteractionFactory, RegionFactory

BROKER = settings.CELERY_BROKER_URL
POSTGRES = connection.vendor == "postgresql"
needs_broker = pytest.mark.skipif(not BROKER, reason="needs a real broker: CELERY_BROKER_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL: DATABASE_URL")
WAIT_SECONDS = 30  # the longest any test waits for a worker, a server or a database


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
    """Poll ``condition`` until it is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


# --- the standard ---------------------------------------------------------------------------


@pytest.fixture
def standard(db: None) -> None:
    """The default chain standard made by migration 0002. Tests on committed data start
    from empty tables once an earlier such test has flushed them, so make it again."""
    if not Standard.objects.exists():
        standard_create(Standard, Target)


# --- API clients ----------------------------------------------------------------------------


@pytest.fixture
def api(db: None) -> APIClient:
    """An API client with a key of a new integration allowed everything."""
    cache.clear()  # a fresh throttle budget
    integration = integration_create(name="fault tests", scopes=ALL_SCOPES)
    _, key = api_key_create(integration=integration)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


# --- a webhook receiver ---------------------------------------------------------------------


class Receiver:
    """A local HTTP endpoint on 127.0.0.1 that answers 200 (after ``delay`` seconds) and
    keeps what it got."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append((dict(self.headers), body))
                time.sleep(receiver.delay)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def event_ids(self) -> list[int]:
        with self.lock:
            return [json.loads(body)["id"] for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


# --- the broker -----------------------------------------------------------------------------


@contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it) but
    not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _forget_connections() -> None:
    """Drop the app's cached producer pool and result backend so the next send connects
    to whatever ``app.conf`` now names."""
    celery: Any = app  # Celery keeps these caches private
    celery._pool = None
    celery.amqp._producer_pool = None
    celery._backend_cache = None
    celery._local.__dict__.pop("backend", None)


@contextmanager
def broker_down() -> Iterator[str]:
    """Point the app's broker, and its result backend when one is configured (by default
    the same Redis), at a port that refuses connections; tasks are sent, not run eagerly.
    Yields the refused URL."""
    scheme = urlsplit(BROKER).scheme if BROKER else "redis"
    conf: Any = app.conf
    saved = (conf.broker_url, conf.result_backend, conf.task_always_eager)
    # Celery reads these variables before its configuration (CI sets the first).
    names = ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"]
    environment = {name: os.environ.get(name) for name in names}
    with refused_port() as port:
        url = f"{scheme}://guest:guest@127.0.0.1:{port}/0"
        if scheme.startswith("amqp"):
            url = f"{scheme}://guest:guest@127.0.0.1:{port}//"
        conf.broker_url = os.environ["CELERY_BROKER_URL"] = url
        if conf.result_backend:
            conf.result_backend = os.environ["CELERY_RESULT_BACKEND"] = url
        conf.task_always_eager = False
        _forget_connections()
        try:
            yield url
        finally:
            for name, value in environment.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            conf.broker_url, conf.result_backend, conf.task_always_eager = saved
            _forget_connections()


@dataclass
class TaskRuns:
    """Tasks run as the deployment runs them: through the configured broker by a real
    (embedded) worker consuming a queue of its own, or in-process when no broker is set."""

    queue: str
    done: list[str] = field(default_factory=list)
    failed: list[tuple[str, BaseException]] = field(default_factory=list)

    def run(self, task: Task, *args: Any, task_id: str | None = None, times: int = 1) -> None:
        """Deliver ``task(*args)`` ``times`` times with one task id (what a redelivered
        message looks like) and wait until each delivery has run."""
        task_id = task_id or str(uuid.uuid4())
        before = self.done.count(task_id)
        for _ in range(times):
            if BROKER:
                task.apply_async(args=args, task_id=task_id, queue=self.queue)
            else:
                task.apply(args=args, task_id=task_id, throw=True)
        wait_until(
            lambda: self.failed or self.done.count(task_id) - before >= times,
            f"{times} run(s) of {task.name}",
        )
        if self.failed:
            name, error = self.failed[0]
            raise AssertionError(f"{name} failed in the worker: {error!r}") from error


def new_queue() -> str:
    return f"faults-{uuid.uuid4().hex[:12]}"


@contextmanager
def task_runs(queue: str | None = None) -> Iterator[TaskRuns]:
    """Run tasks on a real worker (embedded, consuming ``queue``) when a broker is set."""
    runs = TaskRuns(queue=queue or new_queue())

    def finished(sender: Any = None, task_id: str = "", **kwargs: Any) -> None:
        runs.done.append(task_id)

    def failed(sender: Any = None, exception: BaseException | None = None, **kw: Any) -> None:
        runs.failed.append((getattr(sender, "name", "?"), exception or RuntimeError()))

    task_postrun.connect(finished, weak=False)
    task_failure.connect(failed, weak=False)
    try:
        if not BROKER:
            yield runs
            return
        from celery.contrib.testing.worker import start_worker

        queues: Any = app.amqp.queues
        consumed = queues._consume_from
        try:
            with start_worker(
                app,
                pool="solo",
                perform_ping_check=False,
                shutdown_timeout=10,
                queues=[runs.queue],
            ):
                yield runs
        finally:
            queues._consume_from = consumed
            queue_delete(runs.queue)
    finally:
        task_postrun.disconnect(finished)
        task_failure.disconnect(failed)


def queue_delete(name: str) -> None:
    """Remove a test queue from the broker, and on Redis any message of it a killed worker
    left unacknowledged (it would come back after the visibility timeout)."""
    from kombu import Queue

    with app.connection_for_write() as conn:
        Queue(name, no_declare=True).bind(conn.default_channel).delete()
    if urlsplit(BROKER).scheme.startswith("redis"):
        import redis

        client = redis.Redis.from_url(BROKER)
        for tag, payload in client.hgetall("unacked").items():
            text = payload.decode(errors="replace") if isinstance(payload, bytes) else payload
            if name in str(text):
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
        client.close()


@pytest.fixture
def tasks() -> Iterator[TaskRuns]:
    with task_runs() as runs:
        yield runs


# --- PostgreSQL -----------------------------------------------------------------------------


def database_url() -> str:
    """A URL of the database the tests use (pytest-django's test database)."""
    s = connection.settings_dict
    user = quote(s["USER"] or "", safe="")
    password = f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else ""
    host = s["HOST"] or "127.0.0.1"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{s['NAME']}"


def admin_connection() -> Any:
    """A psycopg connection of its own to the test database (not Django's)."""
    import psycopg

    s = connection.settings_dict
    return psycopg.connect(
        dbname=s["NAME"],
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or None,
    )


# --- snapshots of the engine's output -------------------------------------------------------

ROLLUP_FIELDS = [f.name for f in Rollup._meta.concrete_fields if f.name != "id"]
ROLLUP_FIELDS = [("branch_id" if name == "branch" else name) for name in ROLLUP_FIELDS]
FLAG_FIELDS = [
    "branch_id", "kind", "period_start", "metric", "channel", "test", "severity", "x", "n",
    "centre", "critical_moments",
]  # fmt: skip


def rollups() -> list[tuple[Any, ...]]:
    return sorted(Rollup.objects.values_list(*ROLLUP_FIELDS))


def live_flags() -> list[tuple[Any, ...]]:
    """Flags whose evidence stands (a cleared flag is history, not a verdict), with their
    value rounded: the same divergence is the same flag however it was reached."""
    rows = Flag.objects.exclude(status=FlagStatus.CLEARED).values_list(*FLAG_FIELDS, "value")
    return sorted((*row[:-1], round(row[-1], 9)) for row in rows)


def index() -> list[tuple[Any, ...]]:
    return sorted(ConsistencyIndex.objects.values_list("kind", "period_start", "inside", "cells"))


def output() -> dict[str, list[tuple[Any, ...]]]:
    return {"rollups": rollups(), "flags": live_flags(), "index": index()}


def output_from_scratch() -> dict[str, list[tuple[Any, ...]]]:
    """What a clean recompute of all data gives: computed in a transaction that is rolled
    back, so the database is left as it was."""
    from django.db import transaction

    class RollbackError(Exception):
        pass

    fresh: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with transaction.atomic():
            Flag.objects.all().delete()
            Rollup.objects.all().delete()
            ConsistencyIndex.objects.all().delete()
            consistency_recompute()
            fresh.update(output())
            raise RollbackError
    except RollbackError:
        pass
    return fresh


def opened_once() -> bool:
    """Every flag was opened exactly once (nothing created twice)."""
    from django.db.models import Count, Q

    counts = Flag.objects.annotate(opened=Count("events", filter=Q(events__action="opened")))
    return all(flag.opened == 1 for flag in counts)


# --- a chain with weeks of history ------------------------------------------------------

FIRST_WEEK = date(2026, 6, 1)  # a Monday; all weeks are months old: no alarm e-mails
WEEKS = 6


def moment(day: int, hour: int) -> datetime:
    when = FIRST_WEEK + timedelta(days=day)
    return datetime(when.year, when.month, when.day, hour, 7 * day % 60, tzinfo=UTC)


def history_chain(branches: int = 6, per_day: int = 5) -> list[Branch]:
    """``branches`` branches in two time zones with ``per_day`` interactions a day for
    WEEKS weeks, recomputed; the first branch complains a lot, the second answers slowly."""
    region = RegionFactory.create()
    made = [
        BranchFactory.create(region=region, timezone="UTC" if i % 2 else "America/New_York")
        for i in range(branches)
    ]
    channels = ["phone", "email", "chat", "in_person"]
    rows = []
    for b, branch in enumerate(made):
        for day in range(WEEKS * 7):
            for k in range(per_day):
                rows.append(
                    InteractionFactory.build(
                        branch=branch,
                        customer=None,
                        channel=channels[(day + k) % 4],
                        occurred_at=moment(day, 6 + 2 * k),
                        wait_seconds=(90 if b == 1 else 10) + k,
                        outcome=["resolved", "follow_up", "abandoned"][(day * k + b) % 3],
                        is_complaint=(b == 0 and k % 3 == 0) or (day + k + b) % 41 == 0,
                        csat=None if k % 2 else 1 + (day + k + b) % 5,
                        nps=None if k % 3 else (day * 3 + k + b) % 11,
                    )
                )
    Interaction.objects.bulk_create(rows)
    consistency_recompute()
    return made


def later_writes(branches: list[Branch], per_day: int = 2) -> int:
    """New interactions across all WEEKS, and some old ones deleted, with their
    branch-days marked stale (what the services' domain events do for every write).
    Returns how many interactions count now."""
    rows = [
        InteractionFactory.build(
            branch=branch,
            customer=None,
            channel="phone",
            occurred_at=moment(day, 7 + 3 * k),
            wait_seconds=5 + 20 * k,
            outcome="resolved" if k else "follow_up",
            is_complaint=b in (2, 3) and k == 0,
            csat=5 - k,
        )
        for b, branch in enumerate(branches[: len(branches) // 2 + 1])
        for day in range(WEEKS * 7)
        for k in range(per_day)
    ]
    Interaction.objects.bulk_create(rows)
    gone = Interaction.objects.filter(branch=branches[-1], occurred_at__lt=moment(20, 0))
    gone.update(deleted_at=timezone.now())
    touched = Interaction.objects.filter(
        Q(pk__in=[r.pk for r in rows]) | Q(branch=branches[-1], occurred_at__lt=moment(20, 0))
    ).select_related("branch")
    days_mark_dirty(
        (i.branch_id, i.occurred_at.astimezone(ZoneInfo(i.branch.timezone)).date()) for i in touched
    )
    return Interaction.objects.filter(deleted_at__isnull=True).count()


def counted_once(live: int) -> None:
    """Every live interaction is in exactly one day rollup: none lost, none twice."""
    from django.db.models import Sum

    days = Rollup.objects.filter(kind="day", channel="all").aggregate(total=Sum("contacts"))
    weeks = Rollup.objects.filter(kind="week", channel="all").aggregate(total=Sum("contacts"))
    assert days["total"] == live
    assert weeks["total"] == live
