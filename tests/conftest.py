from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from hypothesis import settings

from branches.models import Branch, Region, Role, User
from common.memo import memo_reset
from tests.factories import BranchFactory, RegionFactory, UserFactory

# Property tests replay the same examples on every run so CI is repeatable;
# HYPOTHESIS_PROFILE=thorough searches far more, with fresh random input.
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("thorough", max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on committed data (the browser tests' live server) run after the others, as in
    Django's own runner: they end by emptying every table, migration-made rows included.
    pytest-django orders them so, but the browser plugin's parametrising reorders items."""

    def commits(item: pytest.Item) -> bool:
        names = getattr(item, "fixturenames", [])
        return "transactional_db" in names or "live_server" in names

    items.sort(key=commits)


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    """Every test reads keys, branches and rules from its own database, not from copies a
    rolled-back test left in this process (common.memo)."""
    memo_reset()


@dataclass
class Chain:
    """Two regions, three branches (one closed), and a staff member of every role."""

    north: Region
    south: Region
    north_a: Branch
    north_b: Branch
    south_a: Branch
    closed: Branch
    admin: User
    regional: User
    manager: User
    agent: User
    south_agent: User


@pytest.fixture
def chain(db: None) -> Chain:
    north, south = RegionFactory.create(code="north"), RegionFactory.create(code="south")
    north_a = BranchFactory.create(region=north, code="n-a", timezone="Europe/Oslo")
    north_b = BranchFactory.create(region=north, code="n-b", timezone="Europe/Oslo")
    south_a = BranchFactory.create(region=south, code="s-a", timezone="America/New_York")
    closed = BranchFactory.create(region=north, code="n-closed", is_active=False)
    return Chain(
        north=north,
        south=south,
        north_a=north_a,
        north_b=north_b,
        south_a=south_a,
        closed=closed,
        admin=UserFactory.create(role=Role.ADMIN),
        regional=UserFactory.create(role=Role.REGIONAL_MANAGER, regions=[north]),
        manager=UserFactory.create(role=Role.BRANCH_MANAGER, branches=[north_b]),
        agent=UserFactory.create(role=Role.AGENT, branches=[north_a, closed]),
        south_agent=UserFactory.create(role=Role.AGENT, branches=[south_a]),
    )
