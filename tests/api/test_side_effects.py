"""A side effect run after a write commits never changes the answer to that write."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rest_framework.test import APIClient

from consistency import tasks
from consistency.models import DirtyDay
from interactions.models import Interaction
from tests.api.test_bulk import calls
from tests.conftest import Chain


@pytest.mark.django_db(transaction=True)
def test_a_failing_in_process_recompute_does_not_fail_the_committed_batch(
    chain: Chain,
    api: APIClient,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The demo recomputes in-process once a write commits. When that recompute fails, the
    batch has still been stored: the client hears 200 (a 500 would make it send again),
    the failure is logged and the stale days stay marked for the next run."""
    settings.CONSISTENCY_RECOMPUTE_AFTER_WRITE = True
    task = tasks.dirty_days_recompute
    # As in the demo, even when the suite has a broker: no broker, tasks run in-process.
    monkeypatch.setitem(task.app.conf, "task_always_eager", True)
    monkeypatch.setattr(task, "apply_async", lambda args=(), **_: task.apply(args=args))

    def broken() -> None:
        raise KeyError("a recompute bug")

    monkeypatch.setattr(tasks, "recompute", broken)
    with caplog.at_level(logging.ERROR):
        response = api.post("/api/v1/interactions/bulk/", calls(20), format="json")
        single = api.post("/api/v1/interactions/", calls(1, start=20)[0], format="json")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 20
    assert single.status_code == 201
    assert Interaction.objects.count() == 21
    assert DirtyDay.objects.exists()
    assert "dirty_days_recompute" in caplog.text
