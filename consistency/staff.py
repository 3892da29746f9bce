"""Staff figures (SPEC §9): each agent's §3 proportions and QA at one branch over its local
days, with n, the raw share and an empirical-Bayes estimate shrunk towards the branch.

Counts come from two GROUP BY queries (interactions per staff member, reviews per agent),
made of the very conditions and per-channel response thresholds the branch rollups use
(``consistency.rollups``), so an agent's counts add up to their branch's. The prior of each
metric is fitted on the branch's agents (``quality.stats.beta_prior``): an agent with six
contacts is pulled towards the branch and is not ranked first or last by luck.

Who may see staff figures is decided by ``staff_visible`` alone (with ``staff_branches``,
the same rule for a whole team): the agent themself, the managers who see the branch
(branch, regional, HQ) and API keys whose branch limits allow it (their ``staff:read``
scope is the API's check).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from branches.access import IntegrationPrincipal, branch_scope, is_manager, is_staff_member
from branches.models import Branch, Role, User
from consistency.defaults import TARGETS
from consistency.models import ALL_CHANNELS, METRIC_COLUMNS, Metric
from consistency.rollups import (
    CONDITIONS,
    QA_CONDITIONS,
    DayRange,
    response_thresholds,
    week_start,
    within_span,
)
from consistency.standard import StandardBook
from consistency.stats import Direction
from interactions.models import Interaction
from quality.models import Review, ReviewKind
from quality.stats import BetaPrior, Shrunk, beta_prior, shrink

# The §3 metrics that are one proportion per contact (NPS, a difference of two, is not).
CONTACT_METRICS: list[str] = [
    Metric.RESPONSE,
    Metric.RESOLUTION,
    Metric.ABANDONMENT,
    Metric.COMPLAINTS,
    Metric.CSAT,
]
STAFF_METRICS: list[str] = [*CONTACT_METRICS, Metric.QA_PASS, Metric.QA_CRITICAL]
DEFAULT_WEEKS = 12
# The interaction counts the contact metrics are made of, with the rollups' conditions.
_CONTACT_COUNTS = {
    column: CONDITIONS[column] for metric in CONTACT_METRICS for column in METRIC_COLUMNS[metric]
}
# The columns those conditions read.
_CONTACT_COLUMNS = [
    "staff_id",
    "channel",
    "outcome",
    "wait_seconds",
    "threshold",
    "is_complaint",
    "csat",
]
_REVIEW_COUNTS = dict(QA_CONDITIONS)
Counts = dict[str, int]


# --- who sees what -------------------------------------------------------------------------


def staff_visible(actor: Any, agent: Any | None, branch: Branch) -> bool:
    """Whether ``actor`` may see ``agent``'s figures at ``branch`` (``agent`` None: every
    agent's, the team page): the agent themself, a manager (branch, regional or HQ) whose
    reach includes the branch, an API key whose branch limits allow it. Nobody else."""
    if not is_staff_member(actor):
        return False
    if isinstance(actor, IntegrationPrincipal):
        return branch_scope(actor).allows(branch.pk)
    if agent is not None and agent.pk == actor.pk:
        return True
    return is_manager(actor) and branch_scope(actor).allows(branch.pk)


def staff_branches(actor: Any) -> QuerySet[Branch]:
    """The branches whose every agent ``actor`` may see (``staff_visible`` with no agent)."""
    if isinstance(actor, IntegrationPrincipal) or is_manager(actor):
        return branch_scope(actor).branches()
    return Branch.objects.none()


def agent_works_at(agent: Any, branch: Branch) -> bool:
    """Whether ``agent`` belongs to ``branch`` or has served a contact there."""
    if agent.branches.filter(pk=branch.pk).exists():
        return True
    return Interaction.objects.filter(
        branch_id=branch.pk, staff_id=agent.pk, deleted_at__isnull=True
    ).exists()


# --- the figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pooled:
    """The branch's own x of n (every contact, whoever handled it)."""

    x: int
    n: int

    @property
    def value(self) -> float | None:
        return self.x / self.n if self.n else None


@dataclass(frozen=True)
class AgentFigures:
    """One agent's figures at a branch: per metric the shrunk x of n (``Shrunk``) and the
    rank among the branch's agents with data (1 is best; None without data)."""

    agent_id: int
    username: str
    name: str
    member: bool  # belongs to the branch (else: served contacts there)
    figures: dict[str, Shrunk]
    ranks: dict[str, int | None]
    disputed: int  # reviews counted in the QA figures whose dispute is still open


@dataclass(frozen=True)
class StaffTable:
    branch: Branch
    first: date
    last: date
    agents: list[AgentFigures]
    pooled: dict[str, Pooled]
    priors: dict[str, BetaPrior]
    directions: dict[str, str]
    ranked: dict[str, int]  # how many agents have a rank per metric
    disputed: int

    def agent(self, agent_id: int) -> AgentFigures | None:
        return next((a for a in self.agents if a.agent_id == agent_id), None)


def staff_period(
    branch: Branch, weeks: int = DEFAULT_WEEKS, today: date | None = None
) -> tuple[date, date]:
    """The last ``weeks`` complete ISO weeks on the branch's clock, as local days
    [first, last): never the week that has just begun."""
    today = today or timezone.localdate(timezone=branch.tzinfo)
    last = week_start(today)
    return last - timedelta(weeks=weeks), last


def _grouped(
    rows: QuerySet[Any], key: str, conditions: Mapping[str, str | None]
) -> dict[Any, Counts]:
    """Count ``rows`` per ``key`` under each SQL condition (over the rows' columns) in one
    GROUP BY, on the database the queryset reads from."""
    sql, params = rows.order_by().query.get_compiler(using=rows.db).as_sql()
    counts = ", ".join(
        f"CAST(COUNT(*){f' FILTER (WHERE {where})' if where else ''} AS integer)"
        for where in conditions.values()
    )
    query = f"SELECT {key}, {counts} FROM ({sql}) staff_rows GROUP BY {key}"  # noqa: S608
    with connections[rows.db].cursor() as cursor:
        cursor.execute(query, params)
        return {row[0]: dict(zip(conditions, row[1:], strict=True)) for row in cursor.fetchall()}


def _contact_counts(span: DayRange) -> dict[int | None, Counts]:
    """The span's live interactions counted per staff member (None: nobody recorded)."""
    threshold, _by_day = response_thresholds(span)
    rows = (
        within_span(Interaction.objects.filter(deleted_at__isnull=True), span)
        .annotate(threshold=threshold)
        .values(*_CONTACT_COLUMNS)
    )
    return _grouped(rows, "staff_id", _CONTACT_COUNTS)


def _review_counts(span: DayRange) -> dict[int | None, Counts]:
    """The span's regular live reviews counted per reviewed agent (calibration stays out)."""
    rows = within_span(
        Review.objects.filter(kind=ReviewKind.REGULAR, deleted_at__isnull=True), span
    ).values("agent_id", "passed", "critical_fail", "disputed")
    return _grouped(rows, "agent_id", _REVIEW_COUNTS)


def _directions(day: date) -> dict[str, str]:
    """Which side is good per metric, by the standard in force on ``day`` (all channels);
    the seeded standard's where it names none."""
    targets = StandardBook().on(day)
    return {
        metric: str(
            targets[(metric, ALL_CHANNELS)].direction
            if (metric, ALL_CHANNELS) in targets
            else TARGETS[metric][1]
        )
        for metric in STAFF_METRICS
    }


def _people(branch: Branch, ids: set[int], also: int | None) -> list[User]:
    """The branch's active agents and whoever has data there (and ``also``), by login."""
    member = Exists(Branch.objects.filter(pk=branch.pk, staff=OuterRef("pk")))
    wanted = ids | ({also} if also is not None else set())
    return list(
        User.objects.annotate(member=member)
        .filter(Q(member=True, role=Role.AGENT, is_active=True) | Q(pk__in=wanted))
        .order_by("username")
    )


def _cell(counts: Counts, metric: str) -> tuple[int, int]:
    x, n = METRIC_COLUMNS[metric]
    return counts.get(x, 0), counts.get(n, 0)


def _ranks(estimates: Mapping[int, float], direction: str) -> dict[int, int]:
    """Competition ranks (1 is best; equal estimates share a rank)."""
    best_first = sorted(estimates.items(), key=lambda item: item[1])
    if direction != Direction.AT_MOST:
        best_first.reverse()
    ranks: dict[int, int] = {}
    rank, previous = 0, None
    for position, (agent_id, estimate) in enumerate(best_first, start=1):
        if estimate != previous:
            rank, previous = position, estimate
        ranks[agent_id] = rank
    return ranks


def staff_compute(
    *,
    people: Sequence[tuple[int, str, str, bool]],
    counts: Mapping[int, Counts],
    directions: Mapping[str, str],
) -> tuple[list[AgentFigures], dict[str, BetaPrior]]:
    """The pure part: ``people`` as (id, login, name, member), their ``counts``; each
    metric's prior fitted on the agents, each agent shrunk with it and ranked."""
    priors = {
        metric: beta_prior([_cell(counts.get(pk, {}), metric) for pk, *_ in people])
        for metric in STAFF_METRICS
    }
    figures = {
        pk: {m: shrink(*_cell(counts.get(pk, {}), m), priors[m]) for m in STAFF_METRICS}
        for pk, *_ in people
    }
    ranks = {
        metric: _ranks(
            {pk: f[metric].estimate for pk, f in figures.items() if f[metric].n},
            directions[metric],
        )
        for metric in STAFF_METRICS
    }
    agents = [
        AgentFigures(
            agent_id=pk,
            username=username,
            name=name,
            member=member,
            figures=figures[pk],
            ranks={metric: ranks[metric].get(pk) for metric in STAFF_METRICS},
            disputed=counts.get(pk, {}).get("qa_disputed", 0),
        )
        for pk, username, name, member in people
    ]
    return agents, priors


def staff_table(
    *, branch: Branch, first: date, last: date, include: int | None = None
) -> StaffTable:
    """Every agent's figures at ``branch`` over its local days [first, last), with the
    branch's pooled figures; ``include`` names a user to list even without data."""
    span = DayRange((branch.pk,), first, last)
    contacts, reviews = _contact_counts(span), _review_counts(span)
    ids = {pk for pk in (*contacts, *reviews) if pk is not None}
    people = _people(branch, ids, include)
    counts = {user.pk: {**contacts.get(user.pk, {}), **reviews.get(user.pk, {})} for user in people}
    branch_counts: Counts = {}
    for part in (*contacts.values(), *reviews.values()):
        for column, value in part.items():
            branch_counts[column] = branch_counts.get(column, 0) + value
    directions = _directions(last - timedelta(days=1))
    agents, priors = staff_compute(
        people=[
            (u.pk, u.username, u.get_full_name(), bool(getattr(u, "member", False))) for u in people
        ],
        counts=counts,
        directions=directions,
    )
    return StaffTable(
        branch=branch,
        first=first,
        last=last,
        agents=agents,
        pooled={m: Pooled(*_cell(branch_counts, m)) for m in STAFF_METRICS},
        priors=priors,
        directions=directions,
        ranked={m: sum(1 for a in agents if a.ranks[m] is not None) for m in STAFF_METRICS},
        disputed=branch_counts.get("qa_disputed", 0),
    )


def staff_figures(*, branch: Branch, first: date, last: date) -> list[AgentFigures]:
    """Every agent of ``branch`` (and whoever served there) over local days [first, last)."""
    return staff_table(branch=branch, first=first, last=last).agents


def agent_figures(*, agent: Any, branch: Branch, first: date, last: date) -> AgentFigures:
    """One agent's figures at ``branch``, shrunk with the branch's priors and ranked among
    its agents (listed even without data)."""
    row = staff_table(branch=branch, first=first, last=last, include=agent.pk).agent(agent.pk)
    assert row is not None  # noqa: S101 - ``include`` lists them
    return row


def staff_sort(agents: list[AgentFigures], metric: str, descending: bool) -> None:
    """Order by one metric's shrunk estimate, agents without data last whichever way."""
    with_data = [a for a in agents if a.figures[metric].n]
    without = [a for a in agents if not a.figures[metric].n]
    with_data.sort(key=lambda a: a.figures[metric].estimate, reverse=descending)
    agents[:] = with_data + without
