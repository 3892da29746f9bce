"""A date is typed day/month/year whatever the browser's locale (a native date input would
show an English browser 11/23/2026 beside pages that say 23 Nov 2026)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

import pytest
from django.test import Client

from interactions.models import Interaction
from tests.conftest import Chain

pytestmark = pytest.mark.django_db


def _agent(chain: Chain) -> Client:
    client = Client()
    client.force_login(chain.agent)
    return client


def _log(client: Client, chain: Chain, started: str) -> int:
    return client.post(
        "/log/",
        {
            "branch": chain.north_a.pk, "channel": "phone", "customer": "", "direction": "inbound",
            "outcome": "resolved", "occurred_at": started,
        },
    ).status_code  # fmt: skip


def test_the_start_time_is_a_day_month_year_field(chain: Chain) -> None:
    page = _agent(chain).get("/log/").text
    assert 'type="datetime-local"' not in page
    assert 'placeholder="dd/mm/yyyy hh:mm"' in page


def test_a_typed_day_month_year_is_the_branchs_local_time(chain: Chain) -> None:
    client = _agent(chain)
    assert _log(client, chain, "23/11/2026 14:05") == 302
    started = Interaction.objects.get().occurred_at
    oslo = zoneinfo.ZoneInfo(chain.north_a.timezone)
    assert started == datetime(2026, 11, 23, 14, 5, tzinfo=oslo)


def test_iso_still_works_and_nonsense_is_a_field_error(chain: Chain) -> None:
    client = _agent(chain)
    assert _log(client, chain, "2026-11-23T09:30") == 302
    response = client.post(
        "/log/",
        {"branch": chain.north_a.pk, "channel": "phone", "customer": "", "direction": "inbound",
         "outcome": "resolved", "occurred_at": "11/23/2026 9:30"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Enter a valid date/time." in response.text
    assert Interaction.objects.count() == 1
