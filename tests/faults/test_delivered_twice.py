"""A task delivered twice (acks_late: the worker died after the work, before the ack, or a
Redis visibility timeout ran out) does its work once: nothing counted twice, each webhook
sent once."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connections

from consistency.dirty import days_mark_dirty
from consistency.models import DirtyDay, FlagEvent
from consistency.tasks import dirty_days_recompute
from crm import webhooks
from crm.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from crm.services import integration_create
from crm.tasks import webhook_deliveries_send
from crm.webhooks import webhook_deliveries_send as deliveries_send
from interactions.models import Interaction
from interactions.services import interaction_log
from tests.factories import UserFactory
from tests.faults.conftest import (
    POSTGRES,
    Receiver,
    counted_once,
    history_chain,
    later_writes,
    opened_once,
    output,
    output_from_scratch,
    task_runs,
    wait_until,
)


def new_deliveries(monkeypatch: pytest.MonkeyPatch, branch: Any, url: str, count: int) -> list[int]:
    """``count`` interactions whose outbox rows are pending; their first try is left to
    the test (the on-commit send is held back)."""
    integration = integration_create(
        name=f"receiver {url}", scopes=["interactions:read", "webhooks:manage"]
    )
    WebhookSubscription.objects.create(
        integration=integration, url=url, events=["interaction.created"]
    )
    admin = UserFactory.create(role="admin")
    with monkeypatch.context() as patch:
        patch.setattr(webhooks, "_send_later", lambda ids: None)
        for i in range(count):
            interaction_log(
                actor=admin,
                branch=branch,
                channel="chat",
                occurred_at=Interaction.objects.earliest("occurred_at").occurred_at,
                wait_seconds=i,
                outcome="resolved",
            )
    made = WebhookDelivery.objects.filter(subscription__url=url)
    return sorted(made.values_list("pk", flat=True))


def sent_once(receiver: Receiver, ids: list[int]) -> None:
    deliveries = WebhookDelivery.objects.filter(pk__in=ids)
    assert {(d.status, d.attempts) for d in deliveries} == {(DeliveryStatus.DELIVERED, 1)}
    assert WebhookAttempt.objects.filter(delivery__in=ids).count() == len(ids)
    events = sorted(deliveries.values_list("event_id", flat=True))
    assert sorted(receiver.event_ids()) == events  # each event exactly once
    got = sorted(int(h["X-Webhook-Delivery"]) for h, _ in receiver.received)
    assert got == ids
    assert all(json.loads(body)["type"] == "interaction.created" for _, body in receiver.received)


@pytest.mark.django_db(transaction=True)
def test_a_recompute_and_a_webhook_delivery_delivered_twice_count_once(
    standard: None, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    branches = history_chain(branches=4, per_day=4)
    live = later_writes(branches)
    ids = new_deliveries(monkeypatch, branches[0], receiver.url, 3)
    live += 3

    with task_runs() as runs:
        runs.run(dirty_days_recompute, task_id="redelivered-recompute", times=2)
        once = output()
        events = FlagEvent.objects.count()
        assert not DirtyDay.objects.exists()
        counted_once(live)
        assert opened_once()
        assert once == output_from_scratch()

        # The same days go stale again (an edit that changes nothing) and the recompute is
        # delivered twice again: the same numbers, and no flag history is written.
        days_mark_dirty(Interaction.objects.values_list("branch_id", "occurred_at__date"))
        runs.run(dirty_days_recompute, task_id="redelivered-again", times=2)
        assert output() == once
        assert FlagEvent.objects.count() == events
        assert not DirtyDay.objects.exists()

        runs.run(webhook_deliveries_send, ids, task_id="redelivered-webhooks", times=2)
    sent_once(receiver, ids)


@pytest.mark.skipif(not POSTGRES, reason="needs concurrent sessions: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_webhook_delivery_run_twice_at_once_is_sent_once(
    standard: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redelivery while the first run is still sending (the visibility timeout ran out
    on a slow receiver): the claim's lease keeps the second run off the same deliveries."""
    receiver = Receiver(delay=0.3)
    try:
        branches = history_chain(branches=1, per_day=1)
        ids = new_deliveries(monkeypatch, branches[0], receiver.url, 4)
        sent: list[int] = []

        def run(after_first_post: bool) -> None:
            try:
                if after_first_post:  # the first run has claimed and is sending
                    wait_until(lambda: receiver.received, "the first run's first POST")
                sent.append(deliveries_send(ids=ids))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(later,)) for later in (False, True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(sent) == [0, 4]
        sent_once(receiver, ids)
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
