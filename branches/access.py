"""The one answer to "which branches may this caller see, and where may they write".

Every selector, service, admin page (and later API endpoint and export) asks
``branch_scope``; nothing else decides reach.

| role              | sees                                   | writes                          |
|-------------------|----------------------------------------|---------------------------------|
| admin / superuser | every branch                           | every active branch             |
| regional_manager  | branches of their regions (+ own)      | the same, active ones           |
| branch_manager    | their branches                         | their active branches           |
| agent             | their branches                         | their active branches           |
| inactive / anon   | nothing                                | nothing                         |

An integration calling the REST API is represented by an ``IntegrationPrincipal``:
it reaches every branch, or only the branches its key is limited to (writes: the
active ones among them). What kind of record it may touch is its scopes' business,
checked by the API layer.

Customers are chain-wide records, so any active staff member (or integration)
may read a customer and the customer's timeline across branches. A key limited to
branches writes only the customers of those branches (``customer_write_limits``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from branches.directory import branch_directory
from branches.models import Branch, Region, Role

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class BranchScope:
    """A set of branches, or all of them (``everything``), with a queryset filter."""

    everything: bool
    branch_ids: frozenset[int]

    @classmethod
    def nothing(cls) -> BranchScope:
        return cls(everything=False, branch_ids=frozenset())

    def allows(self, branch_id: int | None) -> bool:
        return branch_id is not None and (self.everything or branch_id in self.branch_ids)

    def filter(self, queryset: QuerySet[M], field: str = "branch") -> QuerySet[M]:
        """Restrict a queryset whose ``field`` points at a branch (use "pk" for Branch)."""
        if self.everything:
            return queryset
        return queryset.filter(**{f"{field}__in": self.branch_ids})

    def branches(self) -> QuerySet[Branch]:
        return self.filter(Branch.objects.all(), field="pk")


@dataclass(frozen=True)
class IntegrationPrincipal:
    """The caller behind an API key: an integration, its scopes and its branch limits."""

    integration_id: int
    name: str
    scopes: frozenset[str]
    branch_ids: frozenset[int] | None  # None: not limited to some branches
    is_active: bool = True
    is_authenticated: bool = True
    is_superuser: bool = False
    pk: None = None  # not a staff member: nothing is recorded as handled by it

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def __str__(self) -> str:
        return f"integration {self.name}"


def is_chain_admin(user: Any) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or getattr(user, "role", None) == Role.ADMIN)
    )


def is_staff_member(user: Any) -> bool:
    """Active staff of any role: may read chain-wide customer records."""
    return bool(user and user.is_authenticated and user.is_active)


def branch_scope(user: Any, *, for_write: bool = False) -> BranchScope:
    """The branches ``user`` may see, or write to when ``for_write``."""
    if not is_staff_member(user):
        return BranchScope.nothing()
    if isinstance(user, IntegrationPrincipal) or is_chain_admin(user):
        limits = user.branch_ids if isinstance(user, IntegrationPrincipal) else None
        if limits is None and not for_write:
            return BranchScope(everything=True, branch_ids=frozenset())
        # From the branch directory: integrations write on every request.
        directory = branch_directory()
        reach_ids = directory.active_ids if for_write else frozenset(directory.rows)
        if limits is not None:
            reach_ids &= limits
        return BranchScope(everything=False, branch_ids=reach_ids)
    condition = Q(staff=user)
    if user.role == Role.REGIONAL_MANAGER:
        condition |= Q(region__staff=user)
    reach = Branch.objects.filter(condition)
    if for_write:
        reach = reach.filter(is_active=True)
    return BranchScope(
        everything=False, branch_ids=frozenset(reach.values_list("pk", flat=True).distinct())
    )


def customer_write_limits(user: Any) -> BranchScope | None:
    """Where the customers a caller writes must belong. Customers are chain-wide records:
    staff and unlimited keys write any (None). A key limited to branches creates customers
    only at them and changes or deletes only customers homed at them or served there
    (``customers.selectors.customers_within``): its writable branches."""
    if isinstance(user, IntegrationPrincipal) and user.branch_ids is not None:
        return branch_scope(user, for_write=True)
    return None


def regions_visible_to(user: Any) -> QuerySet[Region]:
    """The regions with at least one branch ``user`` may see."""
    scope = branch_scope(user)
    if scope.everything:
        return Region.objects.all()
    return Region.objects.filter(branches__in=scope.branch_ids).distinct()


MANAGER_ROLES = frozenset({Role.BRANCH_MANAGER, Role.REGIONAL_MANAGER, Role.ADMIN})


def is_manager(user: Any) -> bool:
    """Branch, regional and HQ managers: they compare branches and work the flag queue."""
    return is_staff_member(user) and (
        getattr(user, "role", None) in MANAGER_ROLES or bool(getattr(user, "is_superuser", False))
    )
