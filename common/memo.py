"""Per-process copies of the small, rarely changed rows that every API request reads: API
keys and their integrations, the branch directory, survey rules, webhook subscriptions.

Reading them from the database on every request cost more than the request's own work.
Each copy is kept under a version stamp held in the shared cache (Redis in production):
a change to a memoised table (``memo_invalidate``, wired to the models' save and delete
signals) drops this process's copies at once and stamps a new version, which every other
process notices within ``VERSION_RECHECK_SECONDS``; it stamps again when the writing
transaction commits, so a copy read by another process before the commit is dropped
too. No copy is older than ``MAX_AGE_SECONDS`` in any case, which bounds what a change
that bypasses the signals (a queryset ``update``) can leave behind.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

VERSION_KEY = "memo:version"
VERSION_RECHECK_SECONDS = 1.0
MAX_AGE_SECONDS = 60.0

_lock = threading.Lock()
_version: tuple[str | None, float] = (None, float("-inf"))  # (stamp, when read)
_copies: dict[str, tuple[str | None, float, Any]] = {}  # name -> (stamp, when loaded, value)


def _current_version(now: float) -> str | None:
    global _version
    stamp, read_at = _version
    if now - read_at >= VERSION_RECHECK_SECONDS:
        stamp = cache.get(VERSION_KEY)
        _version = (stamp, now)
    return stamp


def memoized(name: str, load: Callable[[], T]) -> T:
    """This process's copy of ``name``, loaded by ``load`` when missing, stale or old."""
    now = time.monotonic()
    stamp = _current_version(now)
    copy = _copies.get(name)
    if copy is not None and copy[0] == stamp and now - copy[1] < MAX_AGE_SECONDS:
        return copy[2]
    value = load()
    with _lock:
        _copies[name] = (stamp, now, value)
    return value


def _stamp() -> None:
    global _version
    stamp = uuid.uuid4().hex
    cache.set(VERSION_KEY, stamp, timeout=None)
    with _lock:
        _version = (stamp, time.monotonic())
        _copies.clear()


def memo_invalidate(*args: Any, **kwargs: Any) -> None:
    """A memoised table changed: drop every copy here and everywhere (also usable as a
    signal receiver)."""
    _stamp()
    transaction.on_commit(_stamp, robust=True)


def memo_reset() -> None:
    """Forget every copy in this process (tests: each starts from the database)."""
    global _version
    with _lock:
        _copies.clear()
        _version = (None, float("-inf"))


def invalidate_on_change(*senders: type[models.Model]) -> None:
    """Drop the copies whenever a row of these models is saved or deleted; a many-to-many
    manager's ``through`` model passed here also counts its adds and removes."""
    for sender in senders:
        uid = f"memo:{getattr(sender, '__qualname__', sender)}"
        post_save.connect(memo_invalidate, sender=sender, dispatch_uid=f"{uid}:save")
        post_delete.connect(memo_invalidate, sender=sender, dispatch_uid=f"{uid}:delete")
        m2m_changed.connect(memo_invalidate, sender=sender, dispatch_uid=f"{uid}:m2m")
