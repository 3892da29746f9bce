"""Reads that may go to a read replica, and the database router that sends them there.

With ``DATABASE_REPLICA_URL`` set, the ``replica`` database is a streaming standby of the
primary. Only reads marked as safe to serve a little late go there: dashboards,
comparisons, exports and the survey-rate page (``replica_reads``, or the
``reads_from_replica`` view decorator). Everything else stays on the primary: every write
and ``select_for_update``, the API's cursor sync, and any read

- after a write in the same request (the router notices the write),
- inside a transaction on the primary,
- by a browser that wrote something in the last ``REPLICA_PIN_SECONDS`` (the
  ``ReplicaPinMiddleware`` cookie: a manager who acknowledges a case sees it acknowledged),
- while the replica lags more than ``REPLICA_MAX_LAG_SECONDS`` or cannot be reached
  (checked at most every few seconds per process; the primary answers meanwhile).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"
LAG_CHECK_SECONDS = 5.0  # how long one lag reading is trusted
DOWN_SECONDS = 30.0  # how long an unreachable replica is left alone

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class ReadState:
    """What the current request (or task) allows its reads; one object per request."""

    replica_ok: int = 0  # inside this many replica_reads(): the reads may be a little late
    wrote: bool = False  # something was written: read your own writes from the primary
    pinned: bool = False  # this browser wrote a moment ago


_state: ContextVar[ReadState | None] = ContextVar("replica_read_state", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES and bool(getattr(settings, "REPLICA_READS", False))


@contextmanager
def request_reads(*, pinned: bool = False) -> Iterator[ReadState]:
    """A request's (or a task's) own read state, starting from nothing."""
    state = ReadState(pinned=pinned)
    token = _state.set(state)
    try:
        yield state
    finally:
        _state.reset(token)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside may be served by the replica (unless a rule above says otherwise)."""
    state = _state.get()
    if state is None:  # outside a request: a state for just these reads
        with request_reads(), replica_reads():
            yield
        return
    state.replica_ok += 1
    try:
        yield
    finally:
        state.replica_ok -= 1


def reads_from_replica(view: F) -> F:
    """A view whose reads may be served by the replica: a dashboard or an export."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def current_read_state() -> ReadState | None:
    return _state.get()


@contextmanager
def restored(state: ReadState | None, *, replica_ok: bool) -> Iterator[None]:
    """Reads of a streamed export, which runs after its view has returned: with the
    request's state (its writes and pin), as replica reads if ``replica_ok``."""
    token = _state.set(state or ReadState())
    try:
        if replica_ok:
            with replica_reads():
                yield
        else:
            yield
    finally:
        _state.reset(token)


def may_use_replica(state: ReadState, *, in_transaction: bool, healthy: bool) -> bool:
    """The rule, apart from configuration: marked reads, no write seen, not pinned, not in
    a transaction on the primary, a replica that answers and keeps up."""
    return (
        state.replica_ok > 0
        and not state.wrote
        and not state.pinned
        and not in_transaction
        and healthy
    )


@dataclass
class _Health:
    checked_at: float = float("-inf")
    healthy: bool = False
    until: float = float("-inf")  # when to read the lag again


_health = _Health()


def replica_lag_seconds() -> float:
    """How far the replica's replay is behind: 0 when it has replayed all it received."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM "
            "pg_last_wal_replay_lsn() THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM "
            "now() - pg_last_xact_replay_timestamp()), 0) END"
        )
        row = cursor.fetchone()
    return float(row[0]) if row else 0.0


def replica_healthy(now: float | None = None) -> bool:
    """Whether the replica answers and lags less than REPLICA_MAX_LAG_SECONDS; read at most
    every LAG_CHECK_SECONDS, and after a failure not tried again for DOWN_SECONDS."""
    now = time.monotonic() if now is None else now
    if now < _health.until:
        return _health.healthy
    try:
        lag = replica_lag_seconds()
    except DatabaseError as error:
        log.warning("The read replica is unreachable; reading from the primary: %s", error)
        _health.healthy, _health.until = False, now + DOWN_SECONDS
        return False
    _health.healthy = lag <= settings.REPLICA_MAX_LAG_SECONDS
    _health.until = now + LAG_CHECK_SECONDS
    if not _health.healthy:
        log.warning("The read replica lags %.1f s; reading from the primary.", lag)
    return _health.healthy


def replica_health_reset() -> None:
    _health.until = float("-inf")


def read_alias() -> str:
    """Where a read made now goes."""
    if not replica_configured():
        return DEFAULT_DB_ALIAS
    state = _state.get()
    if state is None or not state.replica_ok:  # the common case: no replica, no question
        return DEFAULT_DB_ALIAS
    in_transaction = connections[DEFAULT_DB_ALIAS].in_atomic_block
    if not may_use_replica(state, in_transaction=in_transaction, healthy=True):
        return DEFAULT_DB_ALIAS
    return REPLICA if replica_healthy() else DEFAULT_DB_ALIAS


class ReplicaRouter:
    """Django's database router: marked reads to the replica, the rest to the primary."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        state = _state.get()
        if state is not None:
            state.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two copies

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA  # the standby replays the primary's schema
