from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from branches.access import branch_scope
from branches.models import Role
from interactions.models import Interaction
from tests.conftest import Chain
from tests.factories import InteractionFactory, UserFactory


def codes(user: object, *, for_write: bool = False) -> set[str]:
    return set(branch_scope(user, for_write=for_write).branches().values_list("code", flat=True))


def test_admin_sees_every_branch_and_writes_to_open_ones(chain: Chain) -> None:
    assert codes(chain.admin) == {"n-a", "n-b", "s-a", "n-closed"}
    assert codes(chain.admin, for_write=True) == {"n-a", "n-b", "s-a"}


def test_superuser_without_admin_role_is_treated_as_admin(chain: Chain) -> None:
    root = UserFactory.create(role=Role.AGENT, is_superuser=True)
    assert codes(root) == {"n-a", "n-b", "s-a", "n-closed"}


def test_regional_manager_reaches_exactly_their_regions(chain: Chain) -> None:
    assert codes(chain.regional) == {"n-a", "n-b", "n-closed"}
    assert codes(chain.regional, for_write=True) == {"n-a", "n-b"}
    assert not branch_scope(chain.regional).allows(chain.south_a.pk)


def test_branch_manager_sees_only_their_branch(chain: Chain) -> None:
    assert codes(chain.manager) == {"n-b"}
    assert codes(chain.manager, for_write=True) == {"n-b"}


def test_agent_sees_their_branches_and_cannot_write_at_a_closed_one(chain: Chain) -> None:
    assert codes(chain.agent) == {"n-a", "n-closed"}
    assert codes(chain.agent, for_write=True) == {"n-a"}
    assert not branch_scope(chain.agent).allows(chain.north_b.pk)


def test_branch_membership_does_not_widen_with_region_for_non_regional_roles(
    chain: Chain,
) -> None:
    # An agent wrongly given a region keeps to their branches: only regional managers
    # reach through regions.
    chain.agent.regions.add(chain.south)
    assert codes(chain.agent) == {"n-a", "n-closed"}


@pytest.mark.parametrize("who", ["inactive", "anonymous", "none"])
def test_inactive_and_anonymous_reach_nothing(chain: Chain, who: str) -> None:
    user: object
    if who == "inactive":
        chain.admin.is_active = False
        user = chain.admin
    elif who == "anonymous":
        user = AnonymousUser()
    else:
        user = None
    assert codes(user) == set()
    assert not branch_scope(user).allows(chain.north_a.pk)


def test_scope_filters_querysets_by_any_branch_field(chain: Chain) -> None:
    InteractionFactory.create(branch=chain.north_a)
    InteractionFactory.create(branch=chain.south_a)
    seen = branch_scope(chain.south_agent).filter(Interaction.objects.all())
    assert list(seen.values_list("branch__code", flat=True)) == ["s-a"]
