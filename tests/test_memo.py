"""Per-process copies (common.memo): loaded once, dropped here at once on a change and
in other processes within a second, never older than a minute; the API's keys, branches,
survey rules and webhook subscriptions follow every change without a query per request."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branches.access import IntegrationPrincipal, branch_scope
from common import memo
from common.memo import memo_invalidate, memoized
from crm.models import Integration
from crm.services import api_key_authenticate, api_key_create, integration_create
from tests.conftest import Chain
from tests.factories import BranchFactory


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(memo.time, "monotonic", ticking)
    return ticking


def counting_loader() -> tuple[list[int], Callable[[], int]]:
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    return loads, load


def test_a_copy_is_loaded_once_and_dropped_on_a_change(clock: Clock, db: None) -> None:
    loads, load = counting_loader()
    assert memoized("test", load) == 1
    assert memoized("test", load) == 1
    memo_invalidate()
    assert memoized("test", load) == 2
    assert len(loads) == 2


def test_another_process_change_is_seen_within_a_second(clock: Clock) -> None:
    _, load = counting_loader()
    memoized("test", load)
    cache.set(memo.VERSION_KEY, "stamped by another process", timeout=None)
    clock.now += 0.5
    assert memoized("test", load) == 1
    clock.now += memo.VERSION_RECHECK_SECONDS
    assert memoized("test", load) == 2


def test_no_copy_outlives_its_maximum_age(clock: Clock) -> None:
    _, load = counting_loader()
    memoized("test", load)
    clock.now += memo.MAX_AGE_SECONDS - 1
    assert memoized("test", load) == 1
    clock.now += 2
    assert memoized("test", load) == 2


def test_an_api_key_is_checked_without_a_query_and_follows_changes(chain: Chain) -> None:
    integration = integration_create(name="pos", scopes=["interactions:read"])
    _, key = api_key_create(integration=integration)
    first = api_key_authenticate(key)
    assert isinstance(first, IntegrationPrincipal)
    with CaptureQueriesContext(connection) as queries:
        again = api_key_authenticate(key)
    assert again == first
    assert len(queries) == 0  # last_used_at was written by the first call, within the minute
    integration.scopes = ["interactions:read", "interactions:write"]
    integration.save()
    changed = api_key_authenticate(key)
    assert changed is not None
    assert changed.has_scope("interactions:write")
    integration.branches.set([chain.north_a])
    limited = api_key_authenticate(key)
    assert limited is not None
    assert limited.branch_ids == {chain.north_a.pk}
    Integration.objects.filter(pk=integration.pk).first().delete()  # type: ignore[union-attr]
    assert api_key_authenticate(key) is None


def test_a_new_or_closed_branch_counts_for_writes_at_once(chain: Chain) -> None:
    principal = IntegrationPrincipal(
        integration_id=1, name="pos", scopes=frozenset(), branch_ids=None
    )
    assert branch_scope(principal, for_write=True).allows(chain.north_a.pk)
    assert not branch_scope(principal, for_write=True).allows(chain.closed.pk)
    opened = BranchFactory.create(region=chain.north)
    assert branch_scope(principal, for_write=True).allows(opened.pk)
    chain.north_a.is_active = False
    chain.north_a.save()
    assert not branch_scope(principal, for_write=True).allows(chain.north_a.pk)
    assert branch_scope(principal).allows(chain.north_a.pk)  # still readable
