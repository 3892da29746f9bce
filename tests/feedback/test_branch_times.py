"""Times on staff pages are read on the branch's clock, its zone named, in one format per
language: a follow-up's due time and its interaction's time never disagree silently."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import translation

from feedback.models import SurveyRule
from tests.api.conftest import KeyClient
from tests.conftest import Chain
from tests.feedback.test_feedback_api_and_follow_ups import follow_up_for

pytestmark = pytest.mark.django_db
JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")


@pytest.fixture(autouse=True)
def _english_after() -> Iterator[None]:
    yield
    translation.deactivate()


def _manager(chain: Chain, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(chain.manager)
    return client


def test_a_follow_up_shows_its_times_on_the_branchs_clock_with_the_zone(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    chain.north_b.timezone = "Asia/Jakarta"
    chain.north_b.save()
    follow_up = follow_up_for(chain, key_client)
    due = follow_up.due_at.astimezone(JAKARTA)
    visited = follow_up.interaction.occurred_at.astimezone(JAKARTA)

    page = _manager(chain).get(f"/follow-ups/{follow_up.pk}/").text
    assert f"{due.day} {due:%b %Y}, {due:%H:%M} WIB" in page
    assert f"{visited.day} {visited:%b %Y}, {visited:%H:%M} WIB" in page
    assert "UTC" not in page
    listing = _manager(chain).get("/follow-ups/").text
    assert f"{due:%H:%M} WIB" in listing
    assert f'datetime="{follow_up.due_at.isoformat()}"' in listing


def test_in_indonesian_the_same_times_read_the_indonesian_way(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    chain.north_b.timezone = "Asia/Jakarta"
    chain.north_b.save()
    follow_up = follow_up_for(chain, key_client)
    due = follow_up.due_at.astimezone(JAKARTA)
    page = _manager(chain, "id").get(f"/follow-ups/{follow_up.pk}/").text
    assert f"{due.day} " in page
    assert f"{due:%H.%M} WIB" in page
    table = _manager(chain, "id").get("/interactions/").text
    assert "Waktu (jam cabang)" in table
    assert "WIB" in table


def test_the_customer_page_names_the_zone_of_each_visit(
    chain: Chain, rule: SurveyRule, key_client: KeyClient
) -> None:
    follow_up = follow_up_for(chain, key_client)
    customer = follow_up.interaction.customer
    assert customer is not None
    page = _manager(chain).get(f"/customers/{customer.pk}/").text
    oslo = follow_up.interaction.occurred_at.astimezone(zoneinfo.ZoneInfo("Europe/Oslo"))
    assert f"{oslo:%H:%M} {oslo.tzname()}" in page
    indonesian = _manager(chain, "id").get(f"/customers/{customer.pk}/").text
    assert "Linimasa: setiap titik kontak di setiap cabang" in indonesian
    assert "Persetujuan" in indonesian
