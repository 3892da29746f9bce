"""Interactions partitioned by month (PostgreSQL): rows land in their month, references stay
unique across months, coming months are made ahead, old months can be detached; SQLite
keeps one plain table and the command says so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, models, transaction
from django.test.utils import isolate_apps

from interactions.checks import (
    constrained_relations_to_interactions,
    foreign_keys_to_interactions_check,
)
from interactions.models import Interaction, InteractionRef
from interactions.partitions import (
    DEFAULT_PARTITION,
    PartitionError,
    add_months,
    is_partitioned,
    partition_detach,
    partition_name,
    partitions,
    partitions_ensure,
)
from tests.conftest import Chain
from tests.factories import InteractionFactory

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions are PostgreSQL's"
)
NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)


def partition_of(interaction: Interaction) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM interactions_interaction WHERE id = %s",
            [interaction.pk],
        )
        return cursor.fetchone()[0]


def test_month_arithmetic_crosses_years() -> None:
    assert add_months(date(2026, 11, 1), 3) == date(2027, 2, 1)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert partition_name(date(2027, 2, 1)) == "interactions_interaction_p2027_02"


@postgres_only
def test_a_row_lands_in_its_month_and_an_unknown_month_in_the_default(chain: Chain) -> None:
    assert is_partitioned()
    this_month = InteractionFactory.create(branch=chain.north_a)
    long_ago = InteractionFactory.create(
        branch=chain.north_a, occurred_at=datetime(2019, 5, 2, tzinfo=UTC)
    )
    assert partition_of(this_month) == partition_name(this_month.occurred_at.date().replace(day=1))
    assert partition_of(long_ago) == DEFAULT_PARTITION
    assert {i.pk for i in Interaction.objects.all()} == {this_month.pk, long_ago.pk}


@postgres_only
def test_a_reference_stays_unique_across_months(chain: Chain) -> None:
    first = InteractionFactory.create(
        branch=chain.north_a, source="pos", external_id="T-1", occurred_at=NOW
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        InteractionFactory.create(
            branch=chain.north_a,
            source="pos",
            external_id="T-1",
            occurred_at=NOW - timedelta(days=62),
        )
    assert InteractionRef.objects.get(source="pos", external_id="T-1").interaction_id == first.pk
    # The same external id from another source is another record.
    InteractionFactory.create(branch=chain.north_a, source="crm", external_id="T-1")


@postgres_only
def test_moving_a_row_to_another_month_keeps_its_reference(chain: Chain) -> None:
    partitions_ensure(now=NOW - timedelta(days=62))  # October on
    row = InteractionFactory.create(
        branch=chain.north_a, source="pos", external_id="M-1", occurred_at=NOW
    )
    row.occurred_at = NOW - timedelta(days=40)
    row.save()
    assert partition_of(row) == partition_name(date(2026, 10, 1))
    assert InteractionRef.objects.get(source="pos", external_id="M-1").interaction_id == row.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        InteractionFactory.create(branch=chain.north_a, source="pos", external_id="M-1")
    # Deleting the row (never done by the application, which soft-deletes) frees it.
    Interaction.objects.filter(pk=row.pk).delete()
    assert not InteractionRef.objects.filter(source="pos", external_id="M-1").exists()


@postgres_only
def test_ensure_makes_the_coming_months_and_empties_the_default(chain: Chain) -> None:
    waiting = InteractionFactory.create(
        branch=chain.north_a,
        source="pos",
        external_id="W-1",
        occurred_at=datetime(2019, 5, 2, tzinfo=UTC),
    )
    created = partitions_ensure(ahead=6, now=NOW)
    assert partition_name(date(2019, 5, 1)) in created
    assert partition_name(date(2027, 6, 1)) in created
    assert partition_of(waiting) == partition_name(date(2019, 5, 1))
    # The moved row's reference is still held.
    with pytest.raises(IntegrityError), transaction.atomic():
        InteractionFactory.create(branch=chain.north_a, source="pos", external_id="W-1")
    months = [p.month for p in partitions() if p.month]
    assert months == sorted(months)
    assert partitions()[-1].name == DEFAULT_PARTITION
    assert partitions_ensure(ahead=6, now=NOW) == []  # nothing left to do


@postgres_only
def test_detaching_an_old_month(chain: Chain) -> None:
    old = InteractionFactory.create(
        branch=chain.north_a,
        source="pos",
        external_id="D-1",
        occurred_at=datetime(2023, 1, 9, tzinfo=UTC),
    )
    recent = InteractionFactory.create(branch=chain.north_a, occurred_at=NOW)
    partitions_ensure(now=NOW)
    with pytest.raises(PartitionError, match="within the last 24 months"):
        partition_detach(month=date(2025, 6, 1), now=NOW)
    with pytest.raises(PartitionError, match="no partition"):
        partition_detach(month=date(2022, 3, 1), now=NOW)
    name = partition_detach(month=date(2023, 1, 1), now=NOW)
    assert name == partition_name(date(2023, 1, 1))
    assert list(Interaction.objects.values_list("pk", flat=True)) == [recent.pk]
    with connection.cursor() as cursor:  # the archive keeps the month's rows
        cursor.execute(f"SELECT id FROM {name}")  # noqa: S608
        assert cursor.fetchall() == [(old.pk,)]
    # The detached month's references are free again.
    InteractionFactory.create(branch=chain.north_a, source="pos", external_id="D-1")


@postgres_only
def test_the_command_lists_ensures_and_refuses_bad_months(chain: Chain) -> None:
    out = StringIO()
    call_command("interaction_partitions", "list", stdout=out)
    assert "default" in out.getvalue()
    out = StringIO()
    call_command("interaction_partitions", "ensure", "--ahead", "12", stdout=out)
    assert "partition(s) created" in out.getvalue()
    with pytest.raises(CommandError, match="not a month"):
        call_command("interaction_partitions", "detach", "2023-13", "--yes")
    with pytest.raises(CommandError, match="within the last"):
        call_command("interaction_partitions", "detach", "2026-01", "--yes")
    with pytest.raises(CommandError, match="--ahead"):
        call_command("interaction_partitions", "ensure", "--ahead", "-1")
    out = StringIO()
    call_command("interaction_partitions", "detach", "2020-01", stdout=out)
    assert "--yes" in out.getvalue()  # without --yes it only says what it would do


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps one plain table")
@pytest.mark.django_db
def test_on_sqlite_there_is_nothing_to_partition() -> None:
    assert not is_partitioned()
    assert partitions_ensure() == []
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("interaction_partitions", "list")


@isolate_apps("interactions")
def test_a_foreign_key_to_interactions_must_not_be_a_database_constraint() -> None:
    class Note(models.Model):  # noqa: DJ008
        interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE)

        class Meta:
            app_label = "interactions"

    class Loose(models.Model):  # noqa: DJ008
        interaction = models.ForeignKey(Interaction, on_delete=models.CASCADE, db_constraint=False)

        class Meta:
            app_label = "interactions"

    errors = constrained_relations_to_interactions([Note, Loose])
    assert [e.id for e in errors if isinstance(e, Error)] == ["interactions.E001"]
    assert "Note.interaction" in errors[0].msg


def test_the_project_passes_its_own_check() -> None:
    assert foreign_keys_to_interactions_check() == []
