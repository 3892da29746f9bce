"""Priority areas (SPEC §10, the service cycle's step 4): what a moment of truth or a
complaint type costs in satisfaction, as plain functions over counts (no Django).

A candidate splits the contacts of some branches in a span in two: the *affected* (the
contacts at that moment; the contacts whose complaint has that type) and *the rest* (every
other contact of the same branches and span). Then:

* **CSAT**: the satisfied share (CSAT 4 or 5 among the contacts that answered) of the
  affected, ``p₁ = x₁/n₁``, and of the rest, ``p₂ = x₂/n₂``; their difference
  ``d = p₁ - p₂`` with Newcombe's hybrid score interval (his method 10: each share's
  Wilson score interval, combined by the square-and-add rule). Unlike the Wald interval it
  keeps its coverage with small samples and shares near 0 or 1, which is where a rare
  complaint type lives.
* **NPS**: ``(promoters - detractors)/n`` of each group; the difference with a normal
  interval on the sum of the two trinomial variances ``(p₊ + p₋ - (p₊ - p₋)²)/n``
  (the variance the funnel limits use, ``consistency.stats.nps_variance``).
* **Cost**, in satisfied contacts lost: ``cost = -d * contacts₁``, how many more of the
  affected contacts would have left satisfied had they fared like the rest. The shares are
  measured on the contacts that answered and applied to every affected contact, answered
  or not (which assumes that answering the survey does not depend on how the contact
  went). Its interval is the difference's, scaled the same way. A positive cost is
  satisfaction lost; a negative one means the affected fare better than the rest.
* **Verdict**, on CSAT: *harm* when the interval of ``d`` lies wholly below zero (the
  affected are clearly less satisfied), *better* when wholly above, *uncertain* when it
  holds zero, and *too little data* when fewer than ``MIN_ANSWERS`` affected contacts (or
  of the rest) answered CSAT. The ranking puts clear harm first by cost, then the uncertain
  by cost, then the better ones, and what has too little data last, whatever its estimate.

References: E. B. Wilson, "Probable inference, the law of succession, and statistical
inference", JASA 22 (1927) 209-212; R. G. Newcombe, "Interval estimation for the difference
between independent proportions: comparison of eleven methods", Statistics in Medicine 17
(1998) 873-890 (worked examples in its Table II, which the tests reproduce).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from consistency.stats import Z95, nps_value, nps_variance

# Below this many CSAT answers among the affected (or the rest) nothing is ranked.
MIN_ANSWERS = 10
NPS_RANGE = 2.0  # a difference of two NPS values lies in [-2, 2]


def wilson_interval(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for the proportion ``x / n`` (``n > 0``): the proportions
    whose score test would not reject at the level of ``z``. Never outside [0, 1]."""
    if n <= 0 or not 0 <= x <= n:
        raise ValueError(f"need 0 <= x <= n and n > 0, got x={x}, n={n}")
    p, z2 = x / n, z * z
    scale = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / scale
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Difference:
    """An estimated difference (first group minus second) with its interval."""

    estimate: float
    lower: float
    upper: float

    @property
    def excludes_zero(self) -> bool:
        return self.lower > 0 or self.upper < 0

    def scaled(self, factor: float) -> Difference:
        """The difference times ``factor`` (a negative factor swaps the bounds)."""
        ends = sorted((self.lower * factor, self.upper * factor))
        return Difference(self.estimate * factor, ends[0], ends[1])


def proportion_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Difference:
    """``x1/n1 - x2/n2`` with Newcombe's (1998) hybrid score interval (method 10): from the
    Wilson intervals ``(l₁, u₁)`` and ``(l₂, u₂)``, the difference ``d`` lies within
    ``d - √((p₁ - l₁)² + (u₂ - p₂)²)`` and ``d + √((u₁ - p₁)² + (p₂ - l₂)²)``."""
    p1, p2 = x1 / n1, x2 / n2
    low1, high1 = wilson_interval(x1, n1, z)
    low2, high2 = wilson_interval(x2, n2, z)
    d = p1 - p2
    return Difference(
        d,
        max(-1.0, d - math.hypot(p1 - low1, high2 - p2)),
        min(1.0, d + math.hypot(high1 - p1, p2 - low2)),
    )


def nps_difference(
    promoters1: int,
    detractors1: int,
    n1: int,
    promoters2: int,
    detractors2: int,
    n2: int,
    z: float = Z95,
) -> Difference:
    """The first group's NPS minus the second's (as shares, -2 to 2) with the normal
    interval ``d ± z·√(v₁/n₁ + v₂/n₂)``, each ``v`` the trinomial variance of one answer's
    score (+1, 0, -1) in its group, ``p₊ + p₋ - (p₊ - p₋)²``."""
    d = nps_value(promoters1, detractors1, n1) - nps_value(promoters2, detractors2, n2)
    se = math.sqrt(
        nps_variance(promoters1, detractors1, n1) / n1
        + nps_variance(promoters2, detractors2, n2) / n2
    )
    return Difference(d, max(-NPS_RANGE, d - z * se), min(NPS_RANGE, d + z * se))


@dataclass(frozen=True)
class Answers:
    """Contacts and their survey answers: CSAT answers and the satisfied (4-5) among them,
    NPS answers and the promoters (9-10) and detractors (0-6) among them."""

    contacts: int = 0
    csat_n: int = 0
    csat_ok: int = 0
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0

    def __sub__(self, other: Answers) -> Answers:
        return Answers(
            self.contacts - other.contacts,
            self.csat_n - other.csat_n,
            self.csat_ok - other.csat_ok,
            self.nps_n - other.nps_n,
            self.promoters - other.promoters,
            self.detractors - other.detractors,
        )

    @property
    def csat_share(self) -> float | None:
        return self.csat_ok / self.csat_n if self.csat_n else None

    @property
    def nps(self) -> float | None:
        return nps_value(self.promoters, self.detractors, self.nps_n) if self.nps_n else None


class Verdict(StrEnum):
    HARM = "harm"
    UNCERTAIN = "uncertain"
    BETTER = "better"
    TOO_LITTLE_DATA = "too_little_data"


VERDICT_ORDER = {
    Verdict.HARM: 0,
    Verdict.UNCERTAIN: 1,
    Verdict.BETTER: 2,
    Verdict.TOO_LITTLE_DATA: 3,
}


@dataclass(frozen=True)
class SatisfactionCost:
    """What one candidate costs: its contacts against the rest on CSAT and NPS, the
    satisfied contacts lost (with its interval) and the verdict."""

    affected: Answers
    rest: Answers
    csat: Difference | None  # affected minus rest; None with too few answers
    nps: Difference | None
    lost: Difference | None  # satisfied contacts lost: -csat * affected contacts
    verdict: Verdict

    @property
    def rank_key(self) -> tuple[int, float, int]:
        """Sorts harm, uncertain, better, too little data; within each, the larger cost
        first, then the more contacts."""
        cost = self.lost.estimate if self.lost is not None else 0.0
        return (VERDICT_ORDER[self.verdict], -cost, -self.affected.contacts)


def satisfaction_cost(
    affected: Answers, rest: Answers, *, min_answers: int = MIN_ANSWERS, z: float = Z95
) -> SatisfactionCost:
    """The cost in satisfaction of the ``affected`` contacts against ``rest`` (see the
    module's docstring for the definitions)."""
    csat = lost = nps = None
    verdict = Verdict.TOO_LITTLE_DATA
    if affected.csat_n >= min_answers and rest.csat_n >= min_answers:
        csat = proportion_difference(
            affected.csat_ok, affected.csat_n, rest.csat_ok, rest.csat_n, z
        )
        lost = csat.scaled(-affected.contacts)
        if csat.upper < 0:
            verdict = Verdict.HARM
        elif csat.lower > 0:
            verdict = Verdict.BETTER
        else:
            verdict = Verdict.UNCERTAIN
    if affected.nps_n >= min_answers and rest.nps_n >= min_answers:
        nps = nps_difference(
            affected.promoters, affected.detractors, affected.nps_n,
            rest.promoters, rest.detractors, rest.nps_n, z,
        )  # fmt: skip
    return SatisfactionCost(affected, rest, csat, nps, lost, verdict)
