"""The counter's customer search: phone numbers in any format, and matches that tell
namesakes apart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client, override_settings

from customers.selectors import customer_picks, customer_search, phone_patterns
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("0812-345 678", ("0812345678", ["+62812345678", "+44812345678"])),
        ("(07000) 001 621", ("07000001621", ["+627000001621", "+447000001621"])),
        ("+62 812 345", ("62812345", ["+62812345", "0812345"])),
        ("0062 812", ("0062812", ["+62812", "0812"])),
        ("1621", ("1621", [])),
        ("Noah", ("", [])),
    ],
)
@override_settings(PHONE_COUNTRY_CODES=["62", "44"])
def test_phone_queries_are_read_in_national_and_international_form(
    query: str, expected: tuple[str, list[str]]
) -> None:
    assert phone_patterns(query) == expected


@override_settings(PHONE_COUNTRY_CODES=["62", "44"])
def test_a_national_number_finds_the_stored_international_one_and_back(chain: Chain) -> None:
    CustomerFactory.create(name="Budi", phone="+6281234567890")
    CustomerFactory.create(name="Noah", phone="+447000001621")
    CustomerFactory.create(name="Sari", phone="081299990000")  # typed in national form

    def found(query: str) -> list[str]:
        return [c.name for c in customer_search(actor=chain.agent, query=query)]

    assert found("0812-3456-7890") == ["Budi"]
    assert found("0812 3456") == ["Budi"]  # as you type
    assert found("07000001621") == ["Noah"]
    assert found("(07000) 001-621") == ["Noah"]
    assert found("+62 812 9999") == ["Sari"]
    assert found("1621") == ["Noah"]
    assert found("0913") == []


def test_matches_show_phone_email_last_contact_and_home_and_say_when_there_are_more(
    chain: Chain,
) -> None:
    first = CustomerFactory.create(
        name="Noah Petrov", email="noah.1@example.com", phone="+447000000001",
        home_branch=chain.north_a,
    )  # fmt: skip
    for n in range(2, 5):
        CustomerFactory.create(name="Noah Petrov", email=f"noah.{n}@example.com")
    InteractionFactory.create(
        customer=first, branch=chain.north_a, occurred_at=datetime(2026, 3, 1, 9, tzinfo=UTC)
    )
    InteractionFactory.create(
        customer=first, branch=chain.north_b, occurred_at=datetime(2026, 5, 2, 9, tzinfo=UTC)
    )
    deleted = InteractionFactory.create(
        customer=first, branch=chain.north_b, occurred_at=datetime(2026, 6, 1, 9, tzinfo=UTC)
    )
    deleted.deleted_at = datetime(2026, 6, 2, tzinfo=UTC)
    deleted.save()

    picks = customer_picks(actor=chain.agent, query="noah", limit=3)
    assert len(picks.matches) == 3
    assert picks.more
    assert picks.matches[0].customer == first
    assert picks.matches[0].last_contact == datetime(2026, 5, 2, 9, tzinfo=UTC)
    assert picks.matches[1].last_contact is None
    assert not customer_picks(actor=chain.agent, query="noah", limit=4).more

    client = Client()
    client.force_login(chain.agent)
    html = client.get("/customers/", {"q": "noah", "pick": "1"}).content.decode()
    assert "+447000000001" in html
    assert "noah.1@example.com" in html
    assert "last contact 2 May 2026" in html
    assert "home n-a" in html
    assert "never seen" in html
    assert "refine your search" not in html  # four namesakes fit in the eight shown
    for n in range(5, 10):
        CustomerFactory.create(name="Noah Petrov", email=f"noah.{n}@example.com")
    html = client.get("/customers/", {"q": "noah", "pick": "1"}).content.decode()
    assert html.count('name="customer"') == 8
    assert "refine your search" in html
