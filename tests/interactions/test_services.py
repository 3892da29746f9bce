from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from customers.models import Channel
from interactions.models import Interaction, Outcome
from interactions.selectors import customer_timeline, interaction_list
from interactions.services import interaction_delete, interaction_log, interaction_update
from tests.conftest import Chain
from tests.factories import CustomerFactory, MomentFactory


def log(chain: Chain, **overrides: object) -> Interaction:
    values: dict[str, object] = {
        "branch": chain.north_a,
        "channel": Channel.IN_PERSON,
        "occurred_at": timezone.now() - timedelta(minutes=10),
        "wait_seconds": 45,
        "handle_seconds": 300,
        "outcome": Outcome.RESOLVED,
    }
    values.update(overrides)
    actor = values.pop("actor", chain.agent)
    return interaction_log(actor=actor, **values)


def test_agent_logs_a_walk_in_and_is_recorded_as_the_handler(chain: Chain) -> None:
    customer = CustomerFactory.create()
    moment = MomentFactory.create(is_critical=True)
    interaction = log(chain, customer=customer, moment=moment, csat=5, nps=9, topic="deposit")
    stored = Interaction.objects.get(pk=interaction.pk)
    assert stored.staff == chain.agent
    assert (stored.csat, stored.nps, stored.moment, stored.customer) == (5, 9, moment, customer)


def test_anonymous_walk_in_needs_no_customer(chain: Chain) -> None:
    assert log(chain, customer=None).customer is None


def test_agent_cannot_log_at_another_branch_and_nothing_is_saved(chain: Chain) -> None:
    with pytest.raises(PermissionDenied):
        log(chain, branch=chain.south_a)
    with pytest.raises(PermissionDenied):
        log(chain, branch=chain.closed)  # their own branch, but closed
    assert Interaction.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"csat": 6}, "csat"),
        ({"nps": 11}, "nps"),
        ({"wait_seconds": -3}, "wait_seconds"),
        ({"channel": "fax"}, "channel"),
        ({"occurred_at": timezone.now() + timedelta(days=1)}, "occurred_at"),
        ({"outcome": Outcome.ABANDONED, "handle_seconds": 60}, "handle_seconds"),
        (
            {"channel": Channel.EMAIL, "outcome": Outcome.ABANDONED, "handle_seconds": None},
            "outcome",
        ),
        ({"source": "pos"}, "external_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_interactions_are_refused_with_the_field_named(
    chain: Chain, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        log(chain, **overrides)
    assert field in excinfo.value.message_dict
    assert Interaction.objects.count() == 0


def test_duplicate_external_reference_is_a_validation_error(chain: Chain) -> None:
    log(chain, source="callcentre", external_id="call-9")
    with pytest.raises(ValidationError):
        log(chain, source="callcentre", external_id="call-9")
    assert Interaction.objects.count() == 1


def test_update_cannot_move_an_interaction_out_of_reach(chain: Chain) -> None:
    interaction = log(chain)
    with pytest.raises(PermissionDenied):
        interaction_update(
            actor=chain.agent, interaction=interaction, data={"branch": chain.south_a}
        )
    interaction.refresh_from_db()
    assert interaction.branch == chain.north_a


def test_update_records_late_feedback_and_moves_updated_at(chain: Chain) -> None:
    interaction = log(chain)
    before = interaction.updated_at
    updated = interaction_update(actor=chain.agent, interaction=interaction, data={"csat": 2})
    assert updated.csat == 2
    assert updated.updated_at > before


def test_other_branch_agent_cannot_edit_or_delete(chain: Chain) -> None:
    interaction = log(chain)
    with pytest.raises(PermissionDenied):
        interaction_update(actor=chain.south_agent, interaction=interaction, data={"csat": 1})
    with pytest.raises(PermissionDenied):
        interaction_delete(actor=chain.south_agent, interaction=interaction)
    interaction.refresh_from_db()
    assert interaction.csat is None
    assert interaction.deleted_at is None


def test_soft_delete_hides_from_lists_but_keeps_the_row(chain: Chain) -> None:
    customer = CustomerFactory.create()
    interaction = log(chain, customer=customer)
    interaction_delete(actor=chain.agent, interaction=interaction)
    assert not interaction_list(actor=chain.agent).exists()
    assert not customer_timeline(actor=chain.agent, customer_id=customer.pk)[1].exists()
    assert Interaction.objects.get(pk=interaction.pk).deleted_at is not None
    with pytest.raises(ValidationError):
        interaction_update(actor=chain.agent, interaction=interaction, data={"csat": 3})


def test_interaction_list_is_scoped_to_the_callers_branches(chain: Chain) -> None:
    log(chain)
    log(chain, actor=chain.south_agent, branch=chain.south_a)
    assert [i.branch.code for i in interaction_list(actor=chain.agent)] == ["n-a"]
    assert [i.branch.code for i in interaction_list(actor=chain.south_agent)] == ["s-a"]
    assert {i.branch.code for i in interaction_list(actor=chain.regional)} == {"n-a"}
    assert {i.branch.code for i in interaction_list(actor=chain.admin)} == {"n-a", "s-a"}


def test_timeline_runs_across_branches_newest_first_in_utc(chain: Chain) -> None:
    """A customer seen in Oslo and New York: local clocks differ, the timeline orders by instant."""
    customer = CustomerFactory.create()
    oslo_morning = datetime(2026, 3, 2, 9, 0, tzinfo=chain.north_a.tzinfo)  # 08:00 UTC
    new_york_early = datetime(2026, 3, 2, 4, 0, tzinfo=chain.south_a.tzinfo)  # 09:00 UTC
    oslo_noon = datetime(2026, 3, 2, 12, 0, tzinfo=chain.north_a.tzinfo)  # 11:00 UTC
    first = log(chain, customer=customer, occurred_at=oslo_morning)
    second = log(
        chain,
        actor=chain.south_agent,
        branch=chain.south_a,
        customer=customer,
        occurred_at=new_york_early,
        channel=Channel.PHONE,
        wait_seconds=20,
    )
    third = log(chain, customer=customer, occurred_at=oslo_noon)
    log(chain, customer=CustomerFactory.create())  # someone else's visit

    _, timeline = customer_timeline(actor=chain.agent, customer_id=customer.pk)
    assert [i.pk for i in timeline] == [third.pk, second.pk, first.pk]
    assert timeline[1].occurred_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert timeline[1].branch.code == "s-a"  # another region's branch, still on the timeline
