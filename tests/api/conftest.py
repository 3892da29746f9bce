from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from crm.services import api_key_create, integration_create
from tests.conftest import Chain

ALL_SCOPES = [
    "customers:read",
    "customers:write",
    "interactions:read",
    "interactions:write",
    "analytics:read",
    "webhooks:manage",
]
KeyClient = Callable[..., APIClient]


@pytest.fixture(autouse=True)
def _fresh_throttle_budget() -> None:
    cache.clear()


@pytest.fixture
def key_client(chain: Chain) -> KeyClient:
    """An API client authenticated with a new key of a new integration."""
    made = 0

    def make(scopes: list[str] | None = None, branches: list[str] = ()) -> APIClient:  # type: ignore[assignment]
        nonlocal made
        made += 1
        integration = integration_create(
            name=f"integration {made}",
            scopes=ALL_SCOPES if scopes is None else scopes,
            branch_codes=branches,
        )
        _, key = api_key_create(integration=integration)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        client.integration = integration  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def api(key_client: KeyClient) -> APIClient:
    return key_client()
