"""The broker is down: writes are still accepted (quickly, with their outbox rows), and once
it is back the periodic tasks bring rollups, flags and webhook deliveries up to date from
what the database kept (DirtyDay rows, pending deliveries)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from branches.models import Branch, Role
from consistency.models import CaseEvent, DirtyDay, Flag, PeriodKind, Rollup, TestKind
from consistency.recompute import consistency_recompute
from consistency.tasks import case_events_notify as case_events_notify_task
from consistency.tasks import dirty_days_recompute
from crm.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from crm.tasks import webhook_deliveries_send_due
from crm.webhooks import verify_signature
from interactions.models import Interaction
from interactions.services import interaction_log
from tests.consistency.test_engine import diverging_chain
from tests.factories import BranchFactory, InteractionFactory, RegionFactory, UserFactory
from tests.faults.conftest import Receiver, broker_down, output, output_from_scratch, task_runs

WEEK = date(2026, 9, 7)  # a Monday, weeks ago: its alarms are history, nobody is e-mailed
BASELINE = 30  # calls per branch in WEEK before the outage, none of them a complaint
# A write waits for at most the broker's quick publish retries, never for a dead backend.
WRITE_SECONDS = 5.0


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    moment = WEEK + timedelta(days=day)
    return datetime(moment.year, moment.month, moment.day, hour, minute, tzinfo=UTC)


def chain_with_history() -> list[Branch]:
    """Six branches with BASELINE quiet calls each in WEEK, already recomputed."""
    region = RegionFactory.create()
    branches = [
        BranchFactory.create(region=region, code=f"f-{i}", timezone="UTC") for i in range(6)
    ]
    Interaction.objects.bulk_create(
        InteractionFactory.build(branch=b, customer=None, occurred_at=at(k % 7, 8 + k % 9))
        for b in branches
        for k in range(BASELINE)
    )
    consistency_recompute()
    return branches


def complaint(i: int) -> dict[str, Any]:
    return {
        "source": "callcentre",
        "external_id": f"outage-{i}",
        "branch": "f-0",
        "channel": "phone",
        "occurred_at": at(i % 5, 9, i).isoformat(),
        "wait_seconds": 15,
        "outcome": "follow_up",
        "is_complaint": True,
    }


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    value = call()
    return value, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_writes_survive_a_dead_broker_and_catch_up_when_it_is_back(
    standard: None,
    api: APIClient,
    receiver: Receiver,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Each write then queues both of its tasks after commit: the stale days' recompute
    # (on when a deployment asks for it) and the webhook deliveries' first try (always).
    settings.CONSISTENCY_RECOMPUTE_AFTER_WRITE = True
    branches = chain_with_history()
    assert not Flag.objects.filter(branch=branches[0], metric="complaint_rate").exists()
    made = api.post(
        "/api/v1/webhooks/subscriptions/",
        {"url": receiver.url, "events": ["interaction.created"]},
        format="json",
    )
    assert made.status_code == 201, made.content
    secret = WebhookSubscription.objects.get().secret
    admin = UserFactory.create(role=Role.ADMIN)

    with broker_down(), caplog.at_level(logging.WARNING):
        bulk, bulk_seconds = timed(
            lambda: api.post(
                "/api/v1/interactions/bulk/", [complaint(i) for i in range(14)], format="json"
            )
        )
        single, single_seconds = timed(
            lambda: api.post("/api/v1/interactions/", complaint(14), format="json")
        )
        logged, service_seconds = timed(
            lambda: interaction_log(
                actor=admin,
                branch=branches[0],
                channel="phone",
                occurred_at=at(2, 15),
                wait_seconds=15,
                outcome="follow_up",
                is_complaint=True,
            )
        )

    # Accepted, not a 500, and not stalled on the dead broker or result backend.
    assert bulk.status_code == 200, bulk.content
    assert bulk.json()["created"] == 14
    assert single.status_code == 201, single.content
    assert logged.pk is not None
    for seconds in (bulk_seconds, single_seconds, service_seconds):
        assert seconds < WRITE_SECONDS, f"a write took {seconds:.1f} s with the broker down"
    # Nothing lost: the rows, their outbox rows and the stale days are all stored.
    assert Interaction.objects.filter(branch=branches[0]).count() == BASELINE + 16
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == 16
    assert {d.status for d in deliveries} == {DeliveryStatus.PENDING}
    assert {d.attempts for d in deliveries} == {0}
    assert DirtyDay.objects.filter(branch=branches[0]).exists()
    assert receiver.received == []
    assert any("broker" in r.getMessage().lower() for r in caplog.records), caplog.text
    stale = Rollup.objects.get(
        branch=branches[0], kind=PeriodKind.WEEK, period_start=WEEK, channel="all"
    )
    assert stale.contacts == BASELINE  # not recomputed yet: nothing reached a worker

    # The broker is back: the beat tasks, run by a real worker on it (in-process without
    # a configured broker), find the pending work in the database.
    with task_runs() as runs:
        runs.run(dirty_days_recompute)
        runs.run(webhook_deliveries_send_due)

    week = Rollup.objects.get(
        branch=branches[0], kind=PeriodKind.WEEK, period_start=WEEK, channel="all"
    )
    assert (week.contacts, week.complaints) == (BASELINE + 16, 16)
    flag = Flag.objects.get(
        branch=branches[0],
        metric="complaint_rate",
        channel="all",
        kind=PeriodKind.WEEK,
        period_start=WEEK,
        test=TestKind.STANDARD,
    )
    assert (flag.x, flag.n) == (16, BASELINE + 16)
    assert not DirtyDay.objects.exists()
    assert output() == output_from_scratch()

    deliveries = WebhookDelivery.objects.all()
    assert {d.status for d in deliveries} == {DeliveryStatus.DELIVERED}
    assert {d.attempts for d in deliveries} == {1}
    assert sorted(receiver.event_ids()) == sorted(WebhookEvent.objects.values_list("pk", flat=True))
    for headers, body in receiver.received:
        assert verify_signature(secret, headers["X-Signature"], body)


@pytest.mark.django_db
def test_case_emails_wait_for_the_broker_instead_of_being_lost(
    django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The recompute that opens a case commits while the broker is down: the e-mail's task
    cannot be queued, the case event stays marked as waiting, and beat's task mails it."""
    today = timezone.localdate()
    last_week = today - timedelta(days=today.weekday() + 7)
    branches = diverging_chain()
    Interaction.objects.update(occurred_at=datetime.combine(last_week, dtime(10), tzinfo=UTC))
    manager = UserFactory.create(
        role=Role.REGIONAL_MANAGER, regions=[branches[0].region], email="rm@x.test"
    )
    with (
        broker_down(),
        caplog.at_level(logging.WARNING),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = consistency_recompute()
    assert result.case_events == 1
    assert mail.outbox == []
    assert any("case_events_notify" in r.getMessage() for r in caplog.records), caplog.text
    assert CaseEvent.objects.filter(notify_pending=True).count() == 1

    case_events_notify_task()  # beat's run, the broker back
    [message] = mail.outbox
    assert message.to == [manager.email]
    assert branches[0].code in message.body
    assert not CaseEvent.objects.filter(notify_pending=True).exists()
    case_events_notify_task()
    assert len(mail.outbox) == 1
