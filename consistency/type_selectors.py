"""Reads of complaints by type (SPEC §10): each type's rate per branch and period against
the chain's, the trend of one type at one branch, and the moments of truth the complaints
came from. Limited by the caller to the branches it may see."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, F, Sum

from branches.models import Branch
from complaints.models import Area, Complaint, ComplaintType, newest_types
from consistency import stats
from consistency.models import (
    ALL_CHANNELS,
    Flag,
    FlagStatus,
    Metric,
    Rollup,
    TypeRollup,
    type_metric,
)
from consistency.selectors import period_bounds
from consistency.standard import StandardBook

SEVERITY_ORDER = {"alarm": 0, "signal": 1, "warning": 2}


@dataclass(frozen=True)
class TypeLine:
    """One complaint type at one branch in one period: ``x`` complaints of ``n`` contacts,
    against the chain's rate of the type (every branch's complaints over their contacts);
    ``flag`` is the strongest open flag of the type there (alarm, signal, warning) or ""."""

    branch_id: int
    code: str
    x: int
    n: int
    chain_x: int
    chain_n: int
    flag: str

    @property
    def value(self) -> float | None:
        return self.x / self.n if self.n else None

    @property
    def chain_value(self) -> float | None:
        return self.chain_x / self.chain_n if self.chain_n else None


def type_names() -> dict[str, tuple[ComplaintType, Area]]:
    """Each type code's newest type (``complaints.models.newest_types``) with its area."""
    return {code: (kind, kind.area) for code, kind in newest_types().items()}


def type_lines(*, branch_ids: list[int], kind: str, period_start: date) -> list[TypeLine]:
    """Every type with complaints in the chain that period, at each of ``branch_ids`` with
    contacts (zero complaints included), in type then branch order."""
    contacts = dict(
        Rollup.objects.filter(
            kind=kind, period_start=period_start, channel=ALL_CHANNELS, contacts__gt=0
        ).values_list("branch_id", "contacts")
    )
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for branch_id, code, complaints in TypeRollup.objects.filter(
        kind=kind, period_start=period_start
    ).values_list("branch_id", "type_code", "complaints"):
        counts[code][branch_id] = complaints
    chain_n = sum(contacts.values())
    flags = _strongest_flags(branch_ids, kind, period_start)
    return [
        TypeLine(
            branch_id=pk,
            code=code,
            x=by_branch.get(pk, 0),
            n=contacts[pk],
            chain_x=sum(by_branch[b] for b in by_branch if b in contacts),
            chain_n=chain_n,
            flag=flags.get((pk, type_metric(code)), ""),
        )
        for code, by_branch in sorted(counts.items())
        for pk in sorted(branch_ids)
        if pk in contacts
    ]


def _strongest_flags(branch_ids: list[int], kind: str, period_start: date) -> dict[Any, str]:
    strongest: dict[Any, str] = {}
    rows = (
        Flag.objects.filter(
            branch_id__in=branch_ids,
            kind=kind,
            period_start=period_start,
            metric__startswith=type_metric(""),
        )
        .exclude(status=FlagStatus.CLEARED)
        .values_list("branch_id", "metric", "severity")
    )
    for branch_id, metric, severity in rows:
        key = (branch_id, metric)
        if key not in strongest or SEVERITY_ORDER[severity] < SEVERITY_ORDER[strongest[key]]:
            strongest[key] = severity
    return strongest


def type_trend(
    *, branch: Branch, code: str, kind: str, until: date, periods: int = 12
) -> list[dict[str, Any]]:
    """One type's rate at ``branch`` per period up to ``until``, each judged against the
    chain's rate of the type that period (funnel limits, the complaint rate's minimum n):
    the points of a trend chart (``target`` holds the chain's rate)."""
    n_by_period = dict(
        Rollup.objects.filter(
            branch=branch, kind=kind, channel=ALL_CHANNELS, period_start__lte=until
        )
        .order_by("-period_start")
        .values_list("period_start", "contacts")[:periods]
    )
    starts = sorted(n_by_period)
    x_by_period = dict(
        TypeRollup.objects.filter(
            branch=branch, kind=kind, type_code=code, period_start__in=starts
        ).values_list("period_start", "complaints")
    )
    chain_x = dict(
        TypeRollup.objects.filter(kind=kind, type_code=code, period_start__in=starts)
        .values("period_start")
        .annotate(total=Sum("complaints"))
        .values_list("period_start", "total")
    )
    chain_n = dict(
        Rollup.objects.filter(kind=kind, channel=ALL_CHANNELS, period_start__in=starts)
        .values("period_start")
        .annotate(total=Sum("contacts"))
        .values_list("period_start", "total")
    )
    book = StandardBook()
    points = []
    for start in starts:
        cell = stats.Cell(x_by_period.get(start, 0), n_by_period[start])
        rate = chain_x.get(start, 0) / chain_n[start] if chain_n.get(start) else None
        target = book.on(start).get((Metric.COMPLAINTS.value, ALL_CHANNELS))
        judged = (
            stats.judge(cell, rate, stats.Direction.AT_MOST, target.min_n)
            if rate and target
            else None
        )
        points.append(
            {
                "period_start": start,
                "x": cell.x,
                "n": cell.n,
                "value": cell.value if cell.n else None,
                "target": rate,
                "status": judged.status if judged else stats.Status.INSUFFICIENT,
                "limits95": judged.limits95 if judged else None,
                "limits998": judged.limits998 if judged else None,
            }
        )
    return points


def top_moments(*, branch_ids: list[int], start: Any, end: Any) -> dict[str, str]:
    """Each type code's most frequent moment of truth among the complaints at
    ``branch_ids`` received in [start, end) (one query for every type)."""
    rows = (
        Complaint.objects.filter(
            branch_id__in=branch_ids,
            type__isnull=False,
            interaction__moment__isnull=False,
            received_at__gte=start,
            received_at__lt=end,
        )
        .values(code=F("type__code"), moment=F("interaction__moment__name"))
        .annotate(complaints=Count("id"))
        .order_by("code", "-complaints", "moment")
    )
    top: dict[str, str] = {}
    for row in rows:
        top.setdefault(row["code"], row["moment"])
    return top


TYPE_COLUMNS = [
    "branch", "area", "type", "complaints", "contacts", "rate", "chain_rate", "flag", "moment",
]  # fmt: skip


def type_line_row(
    line: TypeLine, codes: dict[int, str], names: dict[str, Any], moments: dict[str, str]
) -> dict[str, Any]:
    """A line as a page row and a CSV row: the type named in the active language."""
    named = names.get(line.code)
    return {
        "branch": codes[line.branch_id],
        "area": named[1].name if named else "",
        "type": named[0].name if named else line.code,
        "code": line.code,
        "metric": type_metric(line.code),
        "complaints": line.x,
        "contacts": line.n,
        "rate": line.value,
        "chain_rate": line.chain_value,
        "flag": line.flag,
        "moment": moments.get(line.code, ""),
    }


def branch_type_section(branch: Branch, kind: str, period_start: date) -> list[dict[str, Any]]:
    """The branch's line per complaint type that period, flagged and most frequent first."""
    start, end = period_bounds(branch, kind, period_start)
    lines = type_lines(branch_ids=[branch.pk], kind=kind, period_start=period_start)
    moments = top_moments(branch_ids=[branch.pk], start=start, end=end)
    names = type_names()
    rows = [type_line_row(line, {branch.pk: branch.code}, names, moments) for line in lines]
    return sorted(rows, key=lambda r: (not r["flag"], -r["complaints"], r["type"]))
