"""API keys expire, and rotate without downtime: the old key works for a grace period."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import ApiKey
from crm.services import api_key_create, integration_create
from tests.conftest import Chain

ME = "/api/v1/integration/"


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def key(chain: Chain) -> tuple[ApiKey, str]:
    integration = integration_create(name="till sync", scopes=["customers:read"])
    return api_key_create(integration=integration)


def _age(api_key: ApiKey, *, past: bool) -> None:
    """Move the key's expiry to just before (or after) now, as time passing would (saved
    as the admin saves it: keys are read from per-process copies that a save refreshes)."""
    api_key.refresh_from_db()
    api_key.expires_at = timezone.now() + (timedelta(seconds=-1) if past else timedelta(hours=1))
    api_key.save(update_fields=["expires_at"])


def test_new_keys_expire_after_the_configured_lifetime(key: tuple[ApiKey, str]) -> None:
    api_key, secret = key
    assert api_key.expires_at is not None
    assert abs(api_key.expires_at - (timezone.now() + timedelta(days=365))) < timedelta(minutes=1)
    assert _client(secret).get(ME).status_code == 200
    _age(api_key, past=True)
    response = _client(secret).get(ME)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_rotating_through_the_api_keeps_the_old_key_for_the_grace_period(
    key: tuple[ApiKey, str],
) -> None:
    api_key, old = key
    response = _client(old).post(reverse("api-key-rotate"))
    assert response.status_code == 201
    body = response.json()
    new = body["key"]
    assert new != old
    assert _client(new).get(ME).json()["name"] == "till sync"
    # The old key still works during the grace period (24 hours by default) …
    api_key.refresh_from_db()
    assert api_key.replaced_by is not None
    grace = api_key.expires_at - timezone.now()  # type: ignore[operator]
    assert timedelta(hours=23, minutes=59) < grace <= timedelta(hours=24)
    assert _client(old).get(ME).status_code == 200
    # … and not after it; the new key is unaffected.
    _age(api_key, past=True)
    assert _client(old).get(ME).status_code == 401
    assert _client(new).get(ME).status_code == 200


def test_a_rotated_key_cannot_be_rotated_again(key: tuple[ApiKey, str]) -> None:
    _, old = key
    assert _client(old).post(reverse("api-key-rotate")).status_code == 201
    again = _client(old).post(reverse("api-key-rotate"))
    assert again.status_code == 400
    assert "already rotated" in again.json()["errors"]["non_field_errors"][0]
    assert ApiKey.objects.count() == 2


def test_the_rotate_command_prints_the_new_key_once(key: tuple[ApiKey, str]) -> None:
    api_key, old = key
    out = StringIO()
    call_command("rotate_api_key", api_key.prefix, grace_hours=2, stdout=out)
    new = out.getvalue().strip().splitlines()[-1]
    assert new.startswith("crm_")
    assert _client(new).get(ME).status_code == 200
    assert _client(old).get(ME).status_code == 200
    api_key.refresh_from_db()
    assert api_key.expires_at - timezone.now() <= timedelta(hours=2)  # type: ignore[operator]
    assert api_key.replaced_by is not None
    assert api_key.replaced_by.hashed_key not in out.getvalue()
    with pytest.raises(CommandError, match="No API key with prefix"):
        call_command("rotate_api_key", "nope", stdout=StringIO())


def test_create_api_key_takes_a_lifetime(chain: Chain) -> None:
    out = StringIO()
    call_command(
        "create_api_key",
        "--name=kiosk",
        "--scopes=customers:read",
        "--expires-in-days=0",
        stdout=out,
    )
    assert "Expires: never" in out.getvalue()
    assert ApiKey.objects.get(integration__name="kiosk").expires_at is None
    with pytest.raises(CommandError, match="0 \\(never\\) or more"):
        call_command("create_api_key", "--name=kiosk", "--expires-in-days=-1", stdout=StringIO())


def test_hq_admin_rotates_keys_in_the_admin(chain: Chain, key: tuple[ApiKey, str]) -> None:
    api_key, old = key
    client = Client()
    client.force_login(chain.admin)
    chain.admin.is_superuser = True  # the admin's integration pages are for superusers
    chain.admin.save()
    response = client.post(
        reverse("admin:crm_apikey_changelist"),
        {"action": "rotate", "_selected_action": [api_key.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    new = next(word for m in messages for word in m.split() if word.startswith("crm_"))
    assert _client(new).get(ME).status_code == 200
    assert _client(old).get(ME).status_code == 200  # still in its grace period
