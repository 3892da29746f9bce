"""Webhooks: outbox written with the change, signed deliveries, back-off, log, redelivery."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from crm.webhooks import backoff, verify_signature, webhook_deliveries_send
from tests.api.conftest import KeyClient
from tests.conftest import Chain

CALL = {
    "branch": "n-a",
    "channel": "phone",
    "occurred_at": "2026-11-02T09:00:00Z",
    "wait_seconds": 12,
    "outcome": "resolved",
}


class Receiver:
    """A local HTTP endpoint that answers with the next planned status and keeps what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver([500, 503])
    yield made
    made.server.shutdown()


def subscribe(client: APIClient, url: str, events: list[str]) -> dict[str, Any]:
    response = client.post(
        "/api/v1/webhooks/subscriptions/", {"url": url, "events": events}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_signed_delivery_fails_twice_then_succeeds_with_back_off(
    chain: Chain, api: APIClient, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    subscription = subscribe(api, receiver.url, ["interaction.created"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = api.post("/api/v1/interactions/", CALL, format="json").json()
    assert callbacks  # delivery is queued once the change commits
    delivery = WebhookDelivery.objects.get()
    assert delivery.event.payload["data"]["id"] == created["id"]

    now = timezone.now()
    assert webhook_deliveries_send(now=now) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == now + backoff(1)
    assert webhook_deliveries_send(now=now + timedelta(seconds=10)) == 0  # not due yet

    second = now + backoff(1)
    webhook_deliveries_send(now=second)
    third = second + backoff(2)
    assert backoff(2) == 2 * backoff(1)
    webhook_deliveries_send(now=third)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)

    headers, body = receiver.received[-1]
    assert headers["X-Webhook-Event"] == "interaction.created"
    assert verify_signature(subscription["secret"], headers["X-Signature"], body, tolerance=10**9)
    assert not verify_signature("wrong-secret", headers["X-Signature"], body, tolerance=10**9)
    assert not verify_signature(
        subscription["secret"], headers["X-Signature"], body + b" ", tolerance=10**9
    )
    assert json.loads(body)["data"]["id"] == created["id"]

    log = api.get(f"/api/v1/webhooks/deliveries/{delivery.pk}/").json()
    assert [a["status_code"] for a in log["log"]] == [500, 503, 200]
    assert log["status"] == "delivered"


def test_deliveries_give_up_after_the_retry_window(
    chain: Chain, api: APIClient, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 5
    subscribe(api, receiver.url, ["customer.created"])
    api.post("/api/v1/customers/", {"name": "Ada"}, format="json")
    later = timezone.now() + timedelta(hours=25)
    webhook_deliveries_send(now=later)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    redo = api.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver/")
    assert redo.status_code == 202
    receiver.statuses = []
    webhook_deliveries_send()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_no_event_survives_a_rolled_back_change(chain: Chain, api: APIClient) -> None:
    subscribe(api, "http://127.0.0.1:9/never", ["interaction.created", "interaction.updated"])

    def change_then_fail() -> None:
        with transaction.atomic():
            api.post("/api/v1/interactions/", CALL, format="json")
            assert WebhookEvent.objects.count() == 1  # written in the change's own transaction
            raise RuntimeError("the change fails after the event was written")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert WebhookEvent.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0


def test_events_follow_scopes_branch_limits_and_subscriptions(
    chain: Chain, api: APIClient, key_client: KeyClient
) -> None:
    limited = key_client(
        scopes=["interactions:read", "customers:read", "webhooks:manage"], branches=["n-a"]
    )
    subscribe(limited, "http://127.0.0.1:9/limited", ["interaction.created", "customer.created"])
    # Its customers:read scope is taken away after it subscribed: it hears of no customer.
    limited.integration.scopes = ["interactions:read", "webhooks:manage"]  # type: ignore[attr-defined]
    limited.integration.save()  # type: ignore[attr-defined]
    subscribe(api, "http://127.0.0.1:9/all", ["interaction.created", "interaction.deleted"])
    api.post("/api/v1/interactions/", CALL, format="json")
    other = api.post("/api/v1/interactions/", {**CALL, "branch": "s-a"}, format="json").json()
    api.post("/api/v1/customers/", {"name": "Ada"}, format="json")  # no longer for limited
    api.delete(f"/api/v1/interactions/{other['id']}/")
    got = {
        (
            d.subscription.url.rsplit("/", 1)[1],
            d.event.event_type,
            d.event.payload["data"]["branch"],
        )
        for d in WebhookDelivery.objects.select_related("subscription", "event")
    }
    assert got == {
        ("limited", "interaction.created", "n-a"),
        ("all", "interaction.created", "n-a"),
        ("all", "interaction.created", "s-a"),
        ("all", "interaction.deleted", "s-a"),
    }
    # Each integration sees only its own subscriptions and deliveries.
    assert len(limited.get("/api/v1/webhooks/subscriptions/").json()) == 1
    assert len(limited.get("/api/v1/webhooks/deliveries/").json()) == 1


def test_subscriptions_validate_url_and_events(chain: Chain, api: APIClient) -> None:
    bad = api.post(
        "/api/v1/webhooks/subscriptions/",
        {"url": "not a url", "events": ["flag.eaten"]},
        format="json",
    )
    assert bad.status_code == 400
    assert {"url", "events"} <= set(bad.json()["errors"])


def test_a_subscription_cannot_ask_for_events_beyond_its_scopes(key_client: KeyClient) -> None:
    interactions_only = key_client(scopes=["interactions:read", "webhooks:manage"])
    made = subscribe(interactions_only, "http://127.0.0.1:9/hook", ["interaction.created"])
    for events in (["customer.created"], ["interaction.created", "flag.opened"]):
        more = interactions_only.patch(
            f"/api/v1/webhooks/subscriptions/{made['id']}/", {"events": events}, format="json"
        )
        assert more.status_code == 400
        assert "events" in more.json()["errors"]
    assert WebhookSubscription.objects.get(pk=made["id"]).events == ["interaction.created"]
