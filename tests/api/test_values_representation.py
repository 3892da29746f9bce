"""List pages and CSV exports built from values() rows say exactly what the serializer says
for the same records, whatever the record holds."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from common.api.csv import _cell
from interactions.api import InteractionSerializer
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory, MomentFactory


@pytest.fixture
def varied(chain: Chain) -> list[Interaction]:
    """Records with and without each optional part: customer (with and without a
    reference), staff, moment, feedback, microseconds, a tombstone, an external id."""
    start = datetime(2026, 11, 2, 9, 15, 7, tzinfo=UTC)
    referenced = CustomerFactory.create(source="pos", external_id="C-9")
    return [
        InteractionFactory.create(branch=chain.north_a, customer=referenced, occurred_at=start),
        InteractionFactory.create(
            branch=chain.north_b,
            customer=None,
            staff=chain.agent,
            moment=MomentFactory.create(),
            occurred_at=start + timedelta(microseconds=123456),
            csat=4,
            nps=9,
            feedback_comment="ok",
            feedback_at=start + timedelta(hours=2),
            wait_seconds=None,
            handle_seconds=None,
            source="callcentre",
            external_id="call-1",
            notes="=1+1",
        ),
        InteractionFactory.create(
            branch=chain.south_a, deleted_at=start + timedelta(days=1), is_complaint=True
        ),
    ]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Jakarta"])
def test_a_page_says_what_the_serializer_says(
    chain: Chain, api: APIClient, varied: list[Interaction], zone: str
) -> None:
    with timezone.override(zone):
        page = api.get("/api/v1/interactions/", {"include_deleted": "true"}).json()
        expected = {
            i.pk: dict(InteractionSerializer(Interaction.objects.get(pk=i.pk)).data) for i in varied
        }
    assert {row["id"]: row for row in page["results"]} == expected
    assert [list(row) for row in page["results"]] == [list(expected[i.pk]) for i in varied]


def test_a_csv_export_says_what_the_serializer_says(
    chain: Chain, api: APIClient, varied: list[Interaction]
) -> None:
    response = api.get("/api/v1/interactions/", {"include_deleted": "true", "format": "csv"})
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    expected = [
        [
            str(_cell(v))
            for v in InteractionSerializer(Interaction.objects.get(pk=i.pk)).data.values()
        ]
        for i in varied
    ]
    assert rows[0] == list(InteractionSerializer().fields)
    assert rows[1:] == expected
