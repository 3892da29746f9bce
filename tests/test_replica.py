"""The read replica: which reads go there, and (with a real streaming replica, as in CI's
PostgreSQL pass) that dashboards, exports and the analytics API are served by it while
writes, the cursor sync and a browser's reads right after its own write stay on the
primary, and a replica that lags is not read."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date

import pytest
from django.conf import settings as django_settings
from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from common import replica
from common.replica import (
    REPLICA,
    ReadState,
    ReplicaRouter,
    may_use_replica,
    read_alias,
    replica_reads,
    request_reads,
)
from consistency.models import ConsistencyIndex
from crm.middleware import ReplicaPinMiddleware
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import InteractionFactory

ROUTER = ReplicaRouter()
# The databases the streaming tests use (pytest refuses an alias the settings lack).
WITH_REPLICA = ["default", REPLICA] if REPLICA in django_settings.DATABASES else ["default"]


# --- the rule, with or without a replica -------------------------------------------------


@pytest.mark.parametrize(
    ("state", "in_transaction", "healthy", "expected"),
    [
        (ReadState(replica_ok=1), False, True, True),
        (ReadState(), False, True, False),  # an ordinary read
        (ReadState(replica_ok=1, wrote=True), False, True, False),  # read your writes
        (ReadState(replica_ok=1, pinned=True), False, True, False),  # wrote a moment ago
        (ReadState(replica_ok=1), True, True, False),  # inside a transaction
        (ReadState(replica_ok=1), False, False, False),  # lagging or down
    ],
)
def test_which_reads_may_go_to_the_replica(
    state: ReadState, in_transaction: bool, healthy: bool, expected: bool
) -> None:
    assert may_use_replica(state, in_transaction=in_transaction, healthy=healthy) is expected


@pytest.fixture
def pretend_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured, healthy replica as far as the router can tell (no connection made)."""
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    monkeypatch.setattr("crm.middleware.replica_configured", lambda: True)
    monkeypatch.setattr(replica, "replica_healthy", lambda now=None: True)


@pytest.mark.django_db(transaction=True)  # no test transaction around it: reads may leave
@pytest.mark.usefixtures("pretend_replica")
def test_the_router_sends_marked_reads_there_until_the_request_writes() -> None:
    with request_reads():
        assert ROUTER.db_for_read(Interaction) == "default"
        with replica_reads():
            assert ROUTER.db_for_read(Interaction) == REPLICA
            with transaction.atomic():
                assert ROUTER.db_for_read(Interaction) == "default"
            assert ROUTER.db_for_write(Interaction) == "default"
            assert ROUTER.db_for_read(Interaction) == "default"  # after a write
        assert ROUTER.db_for_read(Interaction) == "default"
    assert ROUTER.allow_migrate(REPLICA, "interactions") is False
    assert ROUTER.allow_migrate("default", "interactions") is True


@pytest.mark.django_db
def test_without_a_replica_every_read_stays_on_the_primary() -> None:
    with request_reads(), replica_reads():
        assert read_alias() == "default"


@pytest.mark.usefixtures("pretend_replica")
def test_a_browser_that_wrote_reads_from_the_primary_for_a_while(
    settings: object,
) -> None:
    settings.REPLICA_PIN_SECONDS = 10  # type: ignore[attr-defined]
    seen: list[ReadState | None] = []

    def writes(request: HttpRequest) -> HttpResponse:
        ROUTER.db_for_write(Interaction)
        return HttpResponse("ok")

    def reads(request: HttpRequest) -> HttpResponse:
        seen.append(replica.current_read_state())
        return HttpResponse("ok")

    response = ReplicaPinMiddleware(writes)(RequestFactory().post("/cases/1/acknowledge/"))
    cookie = response.cookies[ReplicaPinMiddleware.COOKIE]
    assert cookie["max-age"] == 10
    assert cookie["httponly"]
    later = RequestFactory().get("/comparison/")
    later.COOKIES[ReplicaPinMiddleware.COOKIE] = cookie.value
    ReplicaPinMiddleware(reads)(later)
    stale = RequestFactory().get("/comparison/")
    stale.COOKIES[ReplicaPinMiddleware.COOKIE] = str(int(time.time()) - 1)
    ReplicaPinMiddleware(reads)(stale)
    assert [state.pinned for state in seen if state is not None] == [True, False]
    quiet = ReplicaPinMiddleware(reads)(RequestFactory().get("/comparison/"))
    assert ReplicaPinMiddleware.COOKIE not in quiet.cookies


def test_a_lagging_or_unreachable_replica_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    settings.REPLICA_MAX_LAG_SECONDS = 5  # type: ignore[attr-defined]
    replica.replica_health_reset()
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: 2.0)
    assert replica.replica_healthy(now=100.0)
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: 60.0)
    assert replica.replica_healthy(now=101.0)  # the reading is trusted a few seconds
    assert not replica.replica_healthy(now=100.0 + replica.LAG_CHECK_SECONDS)

    def down() -> float:
        raise DatabaseError("connection refused")

    monkeypatch.setattr(replica, "replica_lag_seconds", down)
    replica.replica_health_reset()
    assert not replica.replica_healthy(now=200.0)
    monkeypatch.setattr(replica, "replica_lag_seconds", lambda: 0.0)
    assert not replica.replica_healthy(now=200.0 + replica.DOWN_SECONDS - 1)
    assert replica.replica_healthy(now=200.0 + replica.DOWN_SECONDS)
    replica.replica_health_reset()


# --- a real streaming replica (CI's PostgreSQL pass) ---------------------------------------


@pytest.fixture
def streaming(settings: object) -> Iterator[None]:
    """Reads marked for the replica go to the real one; its replay is running again and
    caught up at the end."""
    if REPLICA not in settings.DATABASES:  # type: ignore[attr-defined]
        if os.environ.get("REPLICA_REQUIRED", "").lower() in {"1", "true", "yes"}:
            pytest.fail("REPLICA_REQUIRED is set but DATABASE_REPLICA_URL names no replica.")
        pytest.skip("needs a streaming replica: DATABASE_REPLICA_URL (scripts/pg_replica.sh)")
    settings.REPLICA_READS = True  # type: ignore[attr-defined]
    settings.REPLICA_MAX_LAG_SECONDS = 3600  # type: ignore[attr-defined]
    replica.replica_health_reset()
    try:
        yield
    finally:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
        replica.replica_health_reset()


def caught_up(timeout: float = 30.0) -> None:
    """Wait until the replica has replayed everything the primary has committed."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        target = cursor.fetchone()[0]
    deadline = time.monotonic() + timeout
    with connections[REPLICA].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica did not reach {target} in {timeout} s")
            time.sleep(0.05)


def pause_replay() -> None:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")


def index_weeks(client: Client) -> list[str]:
    response = client.get("/api/v1/consistency/index/", {"kind": "week"})
    assert response.status_code == 200, response.content
    return [row["period_start"] for row in response.json()]


def replica_queries(client: Client, path: str) -> tuple[int, int]:
    """Statements the primary and the replica ran for one GET."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as standby,
    ):
        response = client.get(path)
        assert response.status_code == 200
        if response.streaming:  # an export reads as it streams
            b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return len(primary), len(standby)


@pytest.mark.django_db(transaction=True, databases=WITH_REPLICA)
@pytest.mark.usefixtures("streaming")
def test_analytics_come_from_the_replica_and_the_sync_feed_from_the_primary(
    chain: Chain,
) -> None:
    client = Client()
    client.force_login(chain.admin)
    ConsistencyIndex.objects.create(kind="week", period_start=date(2026, 11, 2), inside=8, cells=10)
    caught_up()
    assert index_weeks(client) == ["2026-11-02"]
    pause_replay()
    ConsistencyIndex.objects.create(kind="week", period_start=date(2026, 11, 9), inside=9, cells=10)
    fresh = InteractionFactory.create(branch=chain.north_a)
    # The analytics API is read from the paused replica: last week is not there yet ...
    assert index_weeks(client) == ["2026-11-02"]
    # ... while the cursor sync reads the primary and has the new interaction at once.
    feed = client.get("/api/v1/interactions/", {"page_size": 1000}).json()
    assert fresh.pk in [row["id"] for row in feed["results"]]
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")
    caught_up()
    assert index_weeks(client) == ["2026-11-02", "2026-11-09"]


@pytest.mark.django_db(transaction=True, databases=WITH_REPLICA)
@pytest.mark.usefixtures("streaming")
def test_dashboards_read_the_replica_but_not_right_after_a_write(chain: Chain) -> None:
    manager = Client()
    manager.force_login(chain.regional)
    caught_up()
    primary, standby = replica_queries(manager, "/comparison/")
    assert standby > 0  # the comparison's reads were served by the replica
    exports = replica_queries(manager, "/comparison/?format=csv")
    assert exports[1] > 0
    # The manager changes something: for a while their pages come from the primary.
    response = manager.post("/language/", {"language": "id", "next": "/comparison/"})
    assert response.status_code == 302
    assert ReplicaPinMiddleware.COOKIE in response.cookies
    primary, standby = replica_queries(manager, "/comparison/")
    assert standby == 0
    assert primary > 0
    # An agent's log page is no dashboard: always the primary.
    agent = Client()
    agent.force_login(chain.agent)
    assert replica_queries(agent, "/log/")[1] == 0


@pytest.mark.django_db(transaction=True, databases=WITH_REPLICA)
@pytest.mark.usefixtures("streaming")
def test_a_replica_that_lags_too_far_is_not_read(chain: Chain, settings: object) -> None:
    manager = Client()
    manager.force_login(chain.regional)
    caught_up()
    pause_replay()
    InteractionFactory.create(branch=chain.north_a)  # replay now falls behind
    time.sleep(1.1)
    settings.REPLICA_MAX_LAG_SECONDS = 1  # type: ignore[attr-defined]
    replica.replica_health_reset()
    primary, standby = replica_queries(manager, "/comparison/")
    assert standby == 1  # only the lag check itself
    assert primary > 0
