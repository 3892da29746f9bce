"""Hardening: password hashing, sign-in throttling, security headers, the body size limit."""

from __future__ import annotations

import json
import re

import pytest
from axes.models import AccessAttempt  # type: ignore[import-untyped]
from django.contrib.auth.hashers import check_password
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from branches.models import Role
from common.client_ip import client_address
from crm.settings import base
from customers.models import Customer
from tests.conftest import Chain
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def test_passwords_are_stored_with_argon2(db: None) -> None:
    # The test settings hash with MD5 for speed; production uses the shared settings.
    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        user = UserFactory.create(role=Role.AGENT)
        user.set_password(PASSWORD)
        user.save()
        assert user.password.startswith("argon2$")
        assert check_password(PASSWORD, user.password)


def _sign_in(client: Client, username: str, password: str) -> int:
    return client.post(reverse("login"), {"username": username, "password": password}).status_code


def test_sign_in_is_locked_after_repeated_wrong_passwords(db: None) -> None:
    user = UserFactory.create(role=Role.AGENT, username="counter.agent")
    user.set_password(PASSWORD)
    user.save()
    other = UserFactory.create(role=Role.AGENT, username="colleague")
    other.set_password(PASSWORD)
    other.save()
    client = Client()
    for _ in range(base.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "counter.agent", "guess") == 200  # the form, with an error
    response = client.post(reverse("login"), {"username": "counter.agent", "password": "guess"})
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()

    # Locked: even the right password is refused now, and no session is opened.
    assert _sign_in(client, "counter.agent", PASSWORD) == 429
    assert "_auth_user_id" not in client.session
    # Other people at the same counter are not locked out.
    assert _sign_in(Client(), "colleague", PASSWORD) == 302

    # An HQ admin lifts the lock by removing the attempts (admin: Access attempts).
    AccessAttempt.objects.filter(username="counter.agent").delete()
    assert _sign_in(client, "counter.agent", PASSWORD) == 302


def _directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def test_pages_send_a_content_security_policy_without_inline_script(db: None) -> None:
    response = Client().get(reverse("login"))
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize(
    "page", ["home", "interaction-log", "customer-search", "comparison", "funnel", "flag-queue"]
)
def test_staff_pages_run_no_inline_script(chain: Chain, page: str) -> None:
    """What the policy forbids must not be needed: no page relies on inline script or on
    event-handler attributes (the charts' data travels as JSON blocks)."""
    client = Client()
    client.force_login(chain.admin)
    html = client.get(reverse(page)).content.decode()
    assert "<script" in html
    assert not INLINE_SCRIPT.search(html)
    assert not EVENT_HANDLER.search(html)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2_000)
def test_a_request_body_over_the_limit_is_refused_before_it_is_read(chain: Chain) -> None:
    client = Client()
    client.force_login(chain.admin)
    body = json.dumps({"name": "Big", "notes": "x" * 5_000})
    response = client.post(reverse("customer-list"), body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert "limit is 2000" in response.json()["detail"]
    assert not Customer.objects.filter(name="Big").exists()

    small = json.dumps({"name": "Small"})
    assert (
        client.post(reverse("customer-list"), small, content_type="application/json").status_code
        == 201
    )
    # Pages too: a form post over the limit is a 413, not a half-read form.
    page = client.post(reverse("customer-create"), {"name": "Big", "notes": "x" * 5_000})
    assert page.status_code == 413


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),  # no trusted proxy: the header is the client's word
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),  # what our proxy saw
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
        (1, "not-an-address", None),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(
    proxies: int, forwarded: str, expected: str | None
) -> None:
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.0.0.1")
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_address(request) == expected
