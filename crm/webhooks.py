"""Webhooks: the outbox (filled in the writing transaction), signing, and delivery with
exponential back-off.

Signature: ``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` keyed
with the subscription's secret. A receiver recomputes it and rejects stale ``t``.

Deliveries go only where ``crm.webhook_targets`` allows, redirects are not followed, and
the log keeps the status code and a message of ours, never what the receiver answered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_noop
from rest_framework.serializers import BaseSerializer

from common.memo import memo_invalidate, memoized
from common.queueing import enqueue
from consistency.api import FlagSerializer
from consistency.case_api import CaseSerializer
from crm.models import (
    DeliveryStatus,
    Scope,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    new_webhook_secret,
)
from crm.webhook_targets import refused_by_guard, webhook_session, webhook_url_shape_problem
from customers.api import CustomerSerializer
from feedback.api import FeedbackSerializer
from interactions.api import InteractionSerializer

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=2)
TIMEOUT_SECONDS = 10
PAYLOADS: dict[str, tuple[type[BaseSerializer], str]] = {
    "customer": (CustomerSerializer, Scope.CUSTOMERS_READ),
    "interaction": (InteractionSerializer, Scope.INTERACTIONS_READ),
    "flag": (FlagSerializer, Scope.ANALYTICS_READ),
    "case": (CaseSerializer, Scope.ANALYTICS_READ),
    "feedback": (FeedbackSerializer, Scope.INTERACTIONS_READ),
}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """What a receiver does: recompute the HMAC and refuse old timestamps (replays)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(
        sign(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}"
    )


def _reaches(subscription: WebhookSubscription, kind: str, instance: Model) -> bool:
    integration = subscription.integration
    if PAYLOADS[kind][1] not in integration.scopes:
        return False
    limits = {b.pk for b in integration.branches.all()}
    branch_id = getattr(instance, "branch_id", None)
    return not limits or branch_id is None or branch_id in limits


def _live_subscriptions() -> list[WebhookSubscription]:
    """Who hears of events: read once per process until a subscription or integration
    changes (common.memo); a subscription deleted meanwhile has its deliveries cancelled
    when their turn comes."""
    return list(
        WebhookSubscription.objects.filter(
            is_active=True, deleted_at__isnull=True, integration__is_active=True
        )
        .select_related("integration")
        .prefetch_related("integration__branches")
    )


def outbox_record_events(
    sender: Any, events: Sequence[tuple[str, Model]], **kwargs: Any
) -> list[WebhookDelivery]:
    """Receiver of common.events.domain_events: runs inside the writer's transaction."""
    subscriptions = memoized("crm.webhook_subscriptions", _live_subscriptions)
    if not subscriptions:
        return []
    pending: list[tuple[WebhookEvent, list[WebhookSubscription]]] = []
    for event_type, instance in events:
        kind = event_type.split(".")[0]
        targets = [
            s for s in subscriptions if event_type in s.events and _reaches(s, kind, instance)
        ]
        if targets:
            payload = {
                "type": event_type,
                "occurred_at": timezone.now().isoformat(),
                "data": PAYLOADS[kind][0](instance).data,
            }
            pending.append((WebhookEvent(event_type=event_type, payload=payload), targets))
    if not pending:
        return []
    WebhookEvent.objects.bulk_create([event for event, _ in pending])
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(subscription=s, event=event) for event, targets in pending for s in targets
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _send_later(ids), robust=True)
    return deliveries


def _send_later(ids: list[int]) -> None:
    """Queue the deliveries' first try; with the broker down, beat's
    webhook-deliveries task sends them (they are pending and due)."""
    enqueue("crm.webhook_deliveries_send", ids)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … doubling, at most 2 h between tries."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def delivery_body(event: WebhookEvent) -> bytes:
    return json.dumps({"id": event.pk, **event.payload}, separators=(",", ":")).encode()


def _failure(exc: requests.RequestException) -> str:
    """What went wrong, in our words: exception texts can carry what the other side said."""
    if refused_by_guard(exc):
        return "Refused: the target address is not public."
    if isinstance(exc, requests.Timeout):
        return f"No answer within {TIMEOUT_SECONDS} s."
    if isinstance(exc, requests.exceptions.SSLError):
        return "The TLS handshake or the certificate check failed."
    if isinstance(exc, requests.ConnectionError):
        return "Could not connect."
    return "The request failed."


def _http_failure(status_code: int) -> str:
    if 300 <= status_code < 400:
        return f"HTTP {status_code}: redirects are not followed."
    return f"HTTP {status_code}"


def webhook_delivery_attempt(
    delivery: WebhookDelivery,
    *,
    now: datetime | None = None,
    session: requests.Session | None = None,
) -> WebhookDelivery:
    """POST the event once, log the attempt, and schedule the next try or give up. A
    delivery whose subscription has been deleted is cancelled instead."""
    now = now or timezone.now()
    subscription, event = delivery.subscription, delivery.event
    if subscription.deleted_at is not None:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.CANCELLED, None
        delivery.last_error = "The subscription was deleted."
        delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
        return delivery
    body = delivery_body(event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "branch-crm-webhooks/1",
        "X-Signature": sign(subscription.secret, int(now.timestamp()), body),
        "X-Webhook-Event": event.event_type,
        "X-Webhook-Delivery": str(delivery.pk),
    }
    started = time.monotonic()
    status_code: int | None = None
    error = webhook_url_shape_problem(subscription.url) or ""
    if not error:
        try:
            response = (session or webhook_session()).post(
                subscription.url,
                data=body,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
                stream=True,  # the reply's body is never read
            )
            response.close()
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = _http_failure(status_code)
        except requests.RequestException as exc:
            error = _failure(exc)
    duration_ms = int((time.monotonic() - started) * 1000)
    WebhookAttempt.objects.create(
        delivery=delivery,
        attempted_at=now,
        status_code=status_code,
        error=error,
        duration_ms=duration_ms,
    )
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    if not error:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            DeliveryStatus.DELIVERED,
            now,
            None,
        )
    elif now - event.created_at >= timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save()
    return delivery


def webhook_deliveries_claim(
    *, ids: Sequence[int] | None = None, now: datetime | None = None, limit: int = 100
) -> list[WebhookDelivery]:
    """Pending deliveries that are due, leased for a few minutes so two workers never
    send the same one at once."""
    now = now or timezone.now()
    with transaction.atomic():
        due = WebhookDelivery.objects.select_for_update(skip_locked=True).filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        if ids is not None:
            due = due.filter(pk__in=ids)
        claimed = list(due.order_by("next_attempt_at", "id")[:limit])
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            next_attempt_at=now + timedelta(minutes=5)
        )
    return list(
        WebhookDelivery.objects.select_related("subscription", "event").filter(
            pk__in=[d.pk for d in claimed]
        )
    )


def webhook_deliveries_send(
    *, ids: Sequence[int] | None = None, now: datetime | None = None
) -> int:
    deliveries = webhook_deliveries_claim(ids=ids, now=now)
    with webhook_session() as session:
        for delivery in deliveries:
            webhook_delivery_attempt(delivery, now=now, session=session)
    return len(deliveries)


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send again on demand, whatever its state: a receiver that lost an event asks for it.
    Not for a deleted subscription: nobody is listening there any more."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .get(pk=delivery.pk)
        )
        if delivery.subscription.deleted_at is not None:
            raise ValidationError(
                gettext_noop("The subscription of this delivery has been deleted."),
                code="subscription_deleted",
            )
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "next_attempt_at"])
        delivery_id = delivery.pk
        transaction.on_commit(lambda: _send_later([delivery_id]), robust=True)
    return delivery


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Stop a subscription for good. The row stays (marked deleted) with its delivery log;
    what was still waiting to be sent is cancelled, and what a concurrent write queues for
    it is cancelled when its turn comes."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.deleted_at is None:
        now = timezone.now()
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            deleted_at=now, is_active=False
        )
        memo_invalidate()  # no save signal for an update
        subscription.deleted_at, subscription.is_active = now, False
        WebhookDelivery.objects.filter(
            subscription=subscription, status=DeliveryStatus.PENDING
        ).update(
            status=DeliveryStatus.CANCELLED,
            next_attempt_at=None,
            last_error="The subscription was deleted.",
        )
    return subscription


@transaction.atomic
def webhook_subscription_rotate_secret(*, subscription: WebhookSubscription) -> str:
    """A new signing secret, returned once. Deliveries from now on are signed with it
    (those still being retried too); the old one stops verifying at once."""
    secret = new_webhook_secret()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(secret=secret)
    subscription.secret = secret
    return secret
