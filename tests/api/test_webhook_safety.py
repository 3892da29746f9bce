"""Webhooks cannot be turned against the CRM's own network, their secrets are shown once,
and deleting a subscription never breaks anybody's writes."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from crm import webhook_targets
from crm.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from crm.webhooks import verify_signature, webhook_deliveries_send
from interactions.models import Interaction
from tests.api.conftest import KeyClient
from tests.api.test_bulk import calls
from tests.api.test_webhooks import CALL, subscribe
from tests.conftest import Chain

SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions/"
INTERNAL_TARGETS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.5.4:8080/hook",
    "http://127.0.0.1:8000/admin/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://224.0.0.1/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://localhost/",
]
NEVER_ALLOWED = ["ftp://files.example.com/hook", "file:///etc/passwd", "http://user:pw@1.1.1.1/"]


class Target:
    """A local server that answers every POST with ``status`` (and a body it wants kept
    secret), counting what it receives."""

    def __init__(self, status: int = 200, host: str = "127.0.0.1", **headers: str) -> None:
        self.hits: list[tuple[dict[str, str], bytes]] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                target.hits.append((dict(self.headers), body))
                reply = b"internal-secret: db password is hunter2"
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def target() -> Iterator[Target]:
    made = Target()
    yield made
    made.close()


# --- what may be subscribed -------------------------------------------------------------


@override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
@pytest.mark.parametrize("url", INTERNAL_TARGETS + NEVER_ALLOWED)
def test_internal_and_odd_targets_are_refused_with_a_field_error(
    chain: Chain, api: APIClient, url: str
) -> None:
    response = api.post(SUBSCRIPTIONS, {"url": url, "events": ["customer.created"]}, format="json")
    assert response.status_code == 400, response.content
    assert "url" in response.json()["errors"]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", NEVER_ALLOWED)
def test_schemes_and_credentials_are_refused_even_where_private_targets_are_allowed(
    chain: Chain, api: APIClient, url: str
) -> None:
    response = api.post(SUBSCRIPTIONS, {"url": url, "events": ["customer.created"]}, format="json")
    assert response.status_code == 400
    assert "url" in response.json()["errors"]


@override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
def test_a_name_resolving_to_a_private_address_is_refused_and_a_public_one_accepted(
    chain: Chain, api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {
        "hooks.partner.test": "93.184.216.34",
        "intranet.partner.test": "10.1.2.3",
        "192.168.0.10": "192.168.0.10",
    }
    monkeypatch.setattr(webhook_targets, "_resolve", lambda h, p: [_ip(answers[h])])
    inside = api.post(
        SUBSCRIPTIONS,
        {"url": "https://intranet.partner.test/hook", "events": ["customer.created"]},
        format="json",
    )
    assert inside.status_code == 400
    outside = api.post(
        SUBSCRIPTIONS,
        {"url": "https://hooks.partner.test/hook", "events": ["customer.created"]},
        format="json",
    )
    assert outside.status_code == 201, outside.content
    moved = api.patch(
        f"{SUBSCRIPTIONS}{outside.json()['id']}/",
        {"url": "http://192.168.0.10/"},
        format="json",
    )
    assert moved.status_code == 400
    assert "url" in moved.json()["errors"]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("fd00::1", False),
        ("fe80::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("2002:a00:1::", False),  # 6to4 around 10.0.0.1
        ("64:ff9b::a00:1", False),  # NAT64 around 10.0.0.1
        ("fec0::1", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert webhook_targets.address_is_public(_ip(address)) is public


# --- what is sent, and what is kept of the answer --------------------------------------


def test_a_target_that_became_private_is_not_contacted_when_sending(
    chain: Chain, api: APIClient, target: Target
) -> None:
    """DNS can change after subscribing: the address is checked again on every connection."""
    subscribe(api, target.url, ["interaction.created"])  # allowed in the tests' settings
    api.post("/api/v1/interactions/", CALL, format="json")
    with override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False):
        webhook_deliveries_send()
    assert target.hits == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING  # retried with back-off, then given up
    assert delivery.last_error == "Refused: the target address is not public."


@override_settings(WEBHOOK_ALLOW_PRIVATE_TARGETS=False)
def test_the_connection_goes_to_the_address_that_was_checked(
    chain: Chain, api: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name is resolved once per connection and the socket goes to that address: a second
    lookup (a rebinding DNS server's next answer) is never made."""
    listening = Target(host="127.0.0.2")
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.partner.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        # The first answer passes the check; any later one points elsewhere.
        address = "127.0.0.2" if len(lookups) == 1 else "127.0.0.3"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def public(address: Any) -> bool:
        return str(address) in {"127.0.0.2", "93.184.216.34"}

    try:
        monkeypatch.setattr(webhook_targets, "address_is_public", public)
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        monkeypatch.setattr(webhook_targets, "_resolve", lambda h, p: [_ip("93.184.216.34")])
        subscribe(api, f"http://hooks.partner.test:{listening.port}/hook", ["interaction.created"])
        monkeypatch.undo()
        monkeypatch.setattr(webhook_targets, "address_is_public", public)
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        api.post("/api/v1/interactions/", CALL, format="json")
        webhook_deliveries_send()
    finally:
        listening.close()
    assert len(listening.hits) == 1
    assert lookups == ["hooks.partner.test"]
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


def test_the_reply_body_is_never_stored_or_shown(chain: Chain, api: APIClient) -> None:
    failing = Target(status=500)
    try:
        subscribe(api, failing.url, ["interaction.created"])
        api.post("/api/v1/interactions/", CALL, format="json")
        webhook_deliveries_send()
    finally:
        failing.close()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")
    assert WebhookAttempt.objects.get().error == "HTTP 500"
    log = api.get("/api/v1/webhooks/deliveries/")
    assert "hunter2" not in log.content.decode()
    assert log.json()[0]["last_error"] == "HTTP 500"


def test_redirects_are_not_followed(chain: Chain, api: APIClient, target: Target) -> None:
    redirecting = Target(status=302, Location=target.url)
    try:
        subscribe(api, redirecting.url, ["interaction.created"])
        api.post("/api/v1/interactions/", CALL, format="json")
        webhook_deliveries_send()
    finally:
        redirecting.close()
    assert len(redirecting.hits) == 1
    assert target.hits == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.last_error == "HTTP 302: redirects are not followed."
    assert delivery.status == DeliveryStatus.PENDING


# --- the secret --------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_rotated_by_an_action(
    chain: Chain, api: APIClient, target: Target
) -> None:
    made = subscribe(api, target.url, ["interaction.created"])
    assert made["secret"]
    detail = f"{SUBSCRIPTIONS}{made['id']}/"
    for response in (
        api.get(SUBSCRIPTIONS),
        api.get(detail),
        api.patch(detail, {"events": ["interaction.created"]}, format="json"),
    ):
        assert response.status_code == 200
        assert made["secret"] not in response.content.decode()
        assert "secret" not in response.content.decode()
    refused = api.patch(detail, {"secret": "mine"}, format="json")
    assert refused.status_code == 400

    rotated = api.post(f"{detail}rotate-secret/")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret
    assert new_secret != made["secret"]
    api.post("/api/v1/interactions/", CALL, format="json")
    webhook_deliveries_send()
    headers, body = target.hits[-1]
    assert verify_signature(new_secret, headers["X-Signature"], body)
    assert not verify_signature(made["secret"], headers["X-Signature"], body)


def test_another_integration_cannot_rotate_the_secret(
    chain: Chain, api: APIClient, key_client: KeyClient
) -> None:
    made = subscribe(api, "http://127.0.0.1:9/hook", ["interaction.created"])
    other = key_client()
    response = other.post(f"{SUBSCRIPTIONS}{made['id']}/rotate-secret/")
    assert response.status_code == 404
    assert "secret" not in response.content.decode()


# --- deleting a subscription -------------------------------------------------------------


def test_a_deleted_subscription_keeps_its_log_and_stops_receiving(
    chain: Chain, api: APIClient, target: Target
) -> None:
    made = subscribe(api, target.url, ["interaction.created"])
    api.post("/api/v1/interactions/", CALL, format="json")  # one delivery, still pending
    assert api.delete(f"{SUBSCRIPTIONS}{made['id']}/").status_code == 204

    assert api.get(SUBSCRIPTIONS).json() == []
    assert api.get(f"{SUBSCRIPTIONS}{made['id']}/").status_code == 404
    assert api.delete(f"{SUBSCRIPTIONS}{made['id']}/").status_code == 404
    [logged] = api.get("/api/v1/webhooks/deliveries/").json()
    assert (logged["subscription"], logged["status"]) == (made["id"], "cancelled")

    api.post("/api/v1/interactions/", {**CALL, "wait_seconds": 3}, format="json")
    assert webhook_deliveries_send() == 0
    assert target.hits == []
    assert WebhookDelivery.objects.count() == 1
    redo = api.post(f"/api/v1/webhooks/deliveries/{logged['id']}/redeliver/")
    assert redo.status_code == 400


def test_a_delivery_queued_for_a_subscription_deleted_meanwhile_is_cancelled(
    chain: Chain, api: APIClient, target: Target
) -> None:
    """A write that read the subscription just before it was deleted still commits; its
    delivery is cancelled when its turn comes, never sent."""
    made = subscribe(api, target.url, ["interaction.created"])
    api.post("/api/v1/interactions/", CALL, format="json")
    WebhookSubscription.objects.filter(pk=made["id"]).update(
        deleted_at="2026-11-30T00:00:00Z", is_active=False
    )  # as if deleted between the write's read and its insert
    assert webhook_deliveries_send() == 1
    assert target.hits == []
    assert WebhookDelivery.objects.get().status == DeliveryStatus.CANCELLED


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
def test_subscriptions_come_and_go_while_others_write_without_a_single_error(
    chain: Chain, key_client: KeyClient, target: Target
) -> None:
    """One integration subscribes and unsubscribes as fast as it can while three others send
    bulk batches: every request succeeds, every delivery points at a subscription that
    exists, and every accepted item is stored."""
    churner = key_client()
    writers = [key_client() for _ in range(3)]
    statuses: dict[str, list[int]] = {"bulk": [], "subscribe": [], "delete": []}
    stop = threading.Event()
    barrier = threading.Barrier(len(writers) + 1)

    def churn() -> None:
        barrier.wait()
        while not stop.is_set():
            made = churner.post(
                SUBSCRIPTIONS,
                {"url": target.url, "events": ["interaction.created"]},
                format="json",
            )
            statuses["subscribe"].append(made.status_code)
            if made.status_code == 201:
                gone = churner.delete(f"{SUBSCRIPTIONS}{made.json()['id']}/")
                statuses["delete"].append(gone.status_code)
        connection.close()

    def write(client: APIClient, offset: int) -> None:
        barrier.wait()
        for batch in range(8):
            items = calls(25, prefix=f"W{offset}-{batch}")
            response = client.post("/api/v1/interactions/bulk/", items, format="json")
            statuses["bulk"].append(response.status_code)
        connection.close()

    churning = threading.Thread(target=churn)
    threads = [threading.Thread(target=write, args=(w, i)) for i, w in enumerate(writers)]
    churning.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    churning.join()

    assert statuses["bulk"] == [200] * 24
    assert set(statuses["subscribe"]) == {201}
    assert set(statuses["delete"]) == {204}
    assert len(statuses["delete"]) == len(statuses["subscribe"]) >= 5
    assert Interaction.objects.count() == 24 * 25
    # Every subscription ended deleted: whatever was queued for one is cancelled, not sent.
    while webhook_deliveries_send():
        pass
    assert target.hits == []
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) <= {"cancelled"}
