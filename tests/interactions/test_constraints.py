"""The database itself refuses bad values, whatever path (bulk import, raw update) writes them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from customers.models import Customer
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import CustomerFactory, InteractionFactory


def assert_rejected_by_database(interaction: Interaction, **values: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.filter(pk=interaction.pk).update(**values)
    interaction.refresh_from_db()
    for field, value in values.items():
        assert getattr(interaction, field) != value


@pytest.mark.parametrize(
    "values",
    [
        {"csat": 0},
        {"csat": 6},
        {"nps": 11},
        {"wait_seconds": -1},
        {"handle_seconds": -5},
        {"channel": "fax"},
        {"outcome": "maybe"},
        {"direction": "sideways"},
        {"source": "pos"},  # a source with no external id
    ],
    ids=lambda v: next(iter(v.items())).__repr__(),
)
def test_out_of_range_values_are_rejected_by_the_database(
    chain: Chain, values: dict[str, Any]
) -> None:
    interaction = InteractionFactory.create(branch=chain.north_a)
    assert_rejected_by_database(interaction, **values)


def test_boundary_values_are_accepted(chain: Chain) -> None:
    interaction = InteractionFactory.create(branch=chain.north_a)
    for values in ({"csat": 1, "nps": 0}, {"csat": 5, "nps": 10}, {"wait_seconds": 0}):
        Interaction.objects.filter(pk=interaction.pk).update(**values)
    interaction.refresh_from_db()
    assert (interaction.csat, interaction.nps, interaction.wait_seconds) == (5, 10, 0)


def test_external_reference_is_unique_per_source_even_after_soft_delete(chain: Chain) -> None:
    first = InteractionFactory.create(branch=chain.north_a, source="callcentre", external_id="c-1")
    first.deleted_at = first.occurred_at
    first.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        InteractionFactory.create(branch=chain.north_b, source="callcentre", external_id="c-1")
    # The same id from another system is another record.
    InteractionFactory.create(branch=chain.north_b, source="ticketing", external_id="c-1")
    assert Interaction.objects.filter(external_id="c-1").count() == 2


def test_records_without_external_reference_do_not_collide(chain: Chain) -> None:
    InteractionFactory.create_batch(3, branch=chain.north_a, customer=None)
    CustomerFactory.create_batch(3)
    assert Interaction.objects.filter(external_id="").count() == 3
    assert Customer.objects.filter(external_id="").count() == 3


def test_customer_external_reference_is_unique(db: None) -> None:
    CustomerFactory.create(source="pos", external_id="42")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.bulk_create([Customer(name="Dup", source="pos", external_id="42")])
    assert Customer.objects.filter(external_id="42").count() == 1
