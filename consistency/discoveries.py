"""Which flags are discoveries: per period, Benjamini-Hochberg over the period's tests
(``consistency.case_rules``), each flag standing for its own test and its persistence, a
CUSUM flag for its chart's recent signals. Discoveries are what open cases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings

from consistency import case_rules
from consistency.models import ConsistencyIndex, Flag, PeriodKind, TestKind

WEEK = timedelta(days=7)


@dataclass
class FlagRow:
    pk: int
    period_start: date
    branch_id: int
    metric: str
    channel: str
    test: str
    severity: str
    p_value: float | None
    signals: int
    z: float | None
    x: int
    n: int
    value: float
    centre: float
    cusum: float | None
    critical_moments: int
    peer_group: str
    case_id: int | None
    discovery: bool

    @property
    def unit(self) -> tuple[int, str]:
        return (self.branch_id, self.metric)


FIELDS = list(FlagRow.__dataclass_fields__)


def discoveries_mark(rows: Sequence[FlagRow], first: date | None) -> None:
    """Decide, for every period from ``first``, which of its flags are discoveries, and store
    the ones that changed."""
    by_week: dict[date, list[FlagRow]] = defaultdict(list)
    for row in rows:
        by_week[row.period_start].append(row)
    weeks = sorted(w for w in by_week if first is None or w >= first)
    families = dict(
        ConsistencyIndex.objects.filter(kind=PeriodKind.WEEK, period_start__in=weeks).values_list(
            "period_start", "tests"
        )
    )
    charts = dict(
        ConsistencyIndex.objects.filter(kind=PeriodKind.WEEK, period_start__in=weeks).values_list(
            "period_start", "charts"
        )
    )
    cells: dict[tuple[int, str, str, str], dict[date, float]] = defaultdict(dict)
    cusum: dict[tuple[int, str], dict[date, int]] = defaultdict(dict)
    for row in rows:
        if row.test == TestKind.CUSUM:
            cusum[row.unit][row.period_start] = row.signals
        elif row.p_value is not None:
            cells[(row.branch_id, row.metric, row.channel, row.test)][row.period_start] = (
                row.p_value
            )
    changed: list[Flag] = []
    for week in weeks:
        candidates: list[tuple[float, FlagRow]] = []
        for row in by_week[week]:
            for p in _candidate_p_values(row, cells, cusum):
                candidates.append((p, row))
        family = case_rules.family_size(families.get(week, 0), charts.get(week, 0))
        found = case_rules.benjamini_hochberg(
            [p for p, _ in candidates], family, settings.CONSISTENCY_CASE_Q
        )
        discovered = {row.pk for (_, row), hit in zip(candidates, found, strict=True) if hit}
        # A CUSUM flag's p-value is its chart's, known only here (how often it signalled).
        chart_p = {row.pk: p for p, row in candidates if row.test == TestKind.CUSUM}
        for row in by_week[week]:
            now_found = row.pk in discovered
            p_value = chart_p.get(row.pk, row.p_value)
            if now_found != row.discovery or p_value != row.p_value:
                row.discovery, row.p_value = now_found, p_value
                changed.append(Flag(pk=row.pk, discovery=now_found, p_value=p_value))
    if changed:
        Flag.objects.bulk_update(changed, ["discovery", "p_value"], batch_size=1000)


def _candidate_p_values(
    row: FlagRow,
    cells: dict[tuple[int, str, str, str], dict[date, float]],
    cusum: dict[tuple[int, str], dict[date, int]],
) -> list[float]:
    """The tests a flag stands for: its own p-value and its persistence (or, for a CUSUM
    flag, the chart's recent signals)."""
    week = row.period_start
    if row.test == TestKind.CUSUM:
        recent = cusum[row.unit]
        count = sum(recent.get(week - k * WEEK, 0) for k in range(case_rules.CUSUM_WINDOW))
        return [case_rules.cusum_p(count)]
    if row.p_value is None:
        return []
    history = cells[(row.branch_id, row.metric, row.channel, row.test)]
    earlier = [
        history[w]
        for k in range(1, case_rules.PERSISTENCE_WINDOW)
        if (w := week - k * WEEK) in history
    ]
    values = [row.p_value]
    if earlier:
        larger = max(row.p_value, min(earlier))
        values.append(float(case_rules.persistence_p([larger])[0]))
    return values
