"""The statistics behind every flag: plain functions over numbers, no Django.

A metric is a proportion ``x / n`` (NPS: promoters minus detractors over n), judged
three ways (SPEC §4):

* against the chain's standard: funnel-plot limits around the target value, normal
  when the sample is large enough and exact (interpolated binomial) when it is not;
* against the branch's peers: limits around the chain's pooled value, widened by
  Spiegelhalter's (2005) additive random-effects overdispersion ``tau2`` so that
  ordinary branch-to-branch variety is not flagged;
* over time: a Bernoulli CUSUM (Steiner et al. 2000) that accumulates evidence of a
  raised failure rate contact by contact (or group by group).

References: D. J. Spiegelhalter, "Funnel plots for comparing institutional
performance", Statistics in Medicine 24 (2005) 1185-1202; S. H. Steiner, R. J. Cook,
V. T. Farewell, T. Treasure, "Monitoring surgical performance using risk-adjusted
cumulative sum charts", Biostatistics 1 (2000) 441-452.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scipy.stats import binom, norm

Z95 = 1.959963984540054  # two-sided 95 %
Z998 = 3.090232306167813  # two-sided 99.8 %
LEVELS = (0.95, 0.998)


class Direction(StrEnum):
    """Which side of the target is good."""

    AT_LEAST = "at_least"  # higher is better, e.g. first-contact resolution >= 75 %
    AT_MOST = "at_most"  # lower is better, e.g. complaint rate <= 2 %


class Status(StrEnum):
    INSUFFICIENT = "insufficient"  # below the minimum sample size: never green, never flagged
    OK = "ok"
    WARNING = "warning"  # beyond the 95 % limit on the bad side
    ALARM = "alarm"  # beyond the 99.8 % limit on the bad side


def z_for_level(level: float) -> float:
    """The two-sided normal quantile for a coverage ``level`` (0.95 → 1.96)."""
    if level == 0.95:
        return Z95
    if level == 0.998:
        return Z998
    return float(norm.ppf(0.5 + level / 2))


def proportion_se(p: float, n: int) -> float:
    """Binomial standard error of a proportion ``p`` over ``n`` trials."""
    if n <= 0:
        raise ValueError("n must be positive")
    return math.sqrt(p * (1 - p) / n)


def z_score(value: float, centre: float, se: float) -> float:
    """How many standard errors ``value`` lies from ``centre`` (0 when se is 0 and they match,
    ±inf when se is 0 and they differ)."""
    if se > 0:
        return (value - centre) / se
    if value == centre:
        return 0.0
    return math.copysign(math.inf, value - centre)


def normal_limits(centre: float, n: int, level: float, tau2: float = 0.0) -> tuple[float, float]:
    """Funnel limits ``centre ± z·sqrt(centre(1−centre)/n + tau2)``, kept within [0, 1]."""
    half = z_for_level(level) * math.sqrt(centre * (1 - centre) / n + tau2)
    return max(0.0, centre - half), min(1.0, centre + half)


def exact_limit(probability: float, n: int, target: float) -> float:
    """One interpolated exact binomial limit: ``r = qbinom(probability, n, target)``,
    ``α = (F(r) − probability) / f(r)``, limit ``(r − α)/n`` (Spiegelhalter 2005, §A.1.1)."""
    if target <= 0.0 or target >= 1.0:
        return target
    r = float(binom.ppf(probability, n, target))
    mass = float(binom.pmf(r, n, target))
    alpha = (float(binom.cdf(r, n, target)) - probability) / mass if mass > 0 else 0.0
    return min(1.0, max(0.0, (r - alpha) / n))


def exact_limits(target: float, n: int, level: float) -> tuple[float, float]:
    """Exact (interpolated binomial) funnel limits around ``target`` for ``n`` trials."""
    tail = (1 - level) / 2
    return exact_limit(tail, n, target), exact_limit(1 - tail, n, target)


def needs_exact(target: float, n: int) -> bool:
    """The normal approximation is poor when ``n·t < 5`` or ``n·(1−t) < 5``."""
    # The tolerance keeps float noise (25 × (1 − 0.8) = 4.999…) from choosing the method.
    return n * min(target, 1 - target) < 5 - 1e-9


def funnel_limits(target: float, n: int, level: float) -> tuple[float, float]:
    """Limits around a target proportion: exact for small expected counts, else normal."""
    if needs_exact(target, n):
        return exact_limits(target, n, level)
    return normal_limits(target, n, level)


def nps_value(promoters: int, detractors: int, n: int) -> float:
    """Net promoter score as a share in [−1, 1]: (promoters − detractors) / n."""
    return (promoters - detractors) / n


def nps_variance(promoters: int, detractors: int, n: int) -> float:
    """Variance of one response's score (+1, 0, −1): ``p₊ + p₋ − (p₊ − p₋)²``.
    The standard error of the NPS is ``sqrt(variance / n)``."""
    plus, minus = promoters / n, detractors / n
    return plus + minus - (plus - minus) ** 2


def nps_interval(promoters: int, detractors: int, n: int, level: float) -> tuple[float, float]:
    """Normal confidence interval of the NPS from its trinomial variance."""
    value = nps_value(promoters, detractors, n)
    half = z_for_level(level) * math.sqrt(nps_variance(promoters, detractors, n) / n)
    return value - half, value + half


def winsorise(values: Sequence[float], fraction: float = 0.1) -> list[float]:
    """Clamp values below the ``fraction`` and above the ``1 − fraction`` quantile to those
    quantiles (linear interpolation between order statistics)."""
    if not values:
        return []
    ordered = sorted(values)

    def quantile(q: float) -> float:
        position = q * (len(ordered) - 1)
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    low, high = quantile(fraction), quantile(1 - fraction)
    return [min(max(v, low), high) for v in values]


def overdispersion_phi(z_scores: Sequence[float], fraction: float = 0.1) -> float:
    """Spiegelhalter's overdispersion factor: the mean squared winsorised z-score
    (about 1 when units differ only by chance)."""
    finite = [z for z in z_scores if math.isfinite(z)]
    if not finite:
        return 1.0
    return sum(z * z for z in winsorise(finite, fraction)) / len(finite)


def additive_tau2(phi: float, standard_errors: Sequence[float]) -> float:
    """Between-unit variance for the additive random-effects model:
    ``τ² = max(0, (I·φ − (I − 1)) / (Σw − Σw²/Σw))`` with ``w = 1/s²``; 0 unless φ > 1."""
    weights = [1 / (s * s) for s in standard_errors if s > 0]
    units = len(weights)
    if phi <= 1 or units < 2:
        return 0.0
    total = sum(weights)
    spread = total - sum(w * w for w in weights) / total
    if spread <= 0:
        return 0.0
    return max(0.0, (units * phi - (units - 1)) / spread)


@dataclass(frozen=True)
class Cell:
    """One unit's count for one metric in one period: ``x`` events of ``n``. For NPS,
    ``x`` is promoters and ``detractors`` is set."""

    x: int
    n: int
    detractors: int | None = None

    @property
    def is_nps(self) -> bool:
        return self.detractors is not None

    @property
    def value(self) -> float:
        if self.detractors is not None:
            return nps_value(self.x, self.detractors, self.n)
        return self.x / self.n


@dataclass(frozen=True)
class Judgement:
    """A cell judged against a centre (the target, or the peers' pooled value)."""

    value: float | None
    centre: float
    z: float | None
    limits95: tuple[float, float] | None
    limits998: tuple[float, float] | None
    status: Status


def _status(
    value: float,
    direction: Direction,
    limits95: tuple[float, float],
    limits998: tuple[float, float],
) -> Status:
    if direction is Direction.AT_LEAST:
        if value < limits998[0]:
            return Status.ALARM
        return Status.WARNING if value < limits95[0] else Status.OK
    if value > limits998[1]:
        return Status.ALARM
    return Status.WARNING if value > limits95[1] else Status.OK


def _nps_limits(
    centre: float, unit_variance: float, n: int, level: float, tau2: float
) -> tuple[float, float]:
    half = z_for_level(level) * math.sqrt(unit_variance / n + tau2)
    return max(-1.0, centre - half), min(1.0, centre + half)


def judge(
    cell: Cell, centre: float, direction: Direction, min_n: int, tau2: float = 0.0
) -> Judgement:
    """Judge one cell against ``centre`` on its bad side only.

    Proportions use funnel limits (exact for small expected counts unless ``tau2`` widens
    them, which only the normal form can carry); NPS uses its trinomial variance.
    Below ``min_n`` the cell is "insufficient data".
    """
    if cell.n < max(min_n, 1):
        return Judgement(
            None if cell.n == 0 else cell.value, centre, None, None, None, Status.INSUFFICIENT
        )
    value = cell.value
    if cell.detractors is not None:
        unit_variance = nps_variance(cell.x, cell.detractors, cell.n)
        se = math.sqrt(unit_variance / cell.n + tau2)
        limits95 = _nps_limits(centre, unit_variance, cell.n, 0.95, tau2)
        limits998 = _nps_limits(centre, unit_variance, cell.n, 0.998, tau2)
    else:
        se = math.sqrt(centre * (1 - centre) / cell.n + tau2)
        if tau2 == 0 and needs_exact(centre, cell.n):
            limits95 = exact_limits(centre, cell.n, 0.95)
            limits998 = exact_limits(centre, cell.n, 0.998)
        else:
            limits95 = normal_limits(centre, cell.n, 0.95, tau2)
            limits998 = normal_limits(centre, cell.n, 0.998, tau2)
    return Judgement(
        value,
        centre,
        z_score(value, centre, se),
        limits95,
        limits998,
        _status(value, direction, limits95, limits998),
    )


@dataclass(frozen=True)
class PeerModel:
    """The chain's pooled value for a metric and period, and the overdispersion it shows."""

    pooled: float
    phi: float
    tau2: float


def peer_model(cells: Sequence[Cell], min_n: int) -> PeerModel | None:
    """Pool the cells with enough data (``Σx/Σn``; NPS: ``(Σ promoters − Σ detractors)/Σn``)
    and estimate overdispersion from their z-scores around the pooled value. None when
    fewer than two cells qualify: there are no peers to compare with."""
    usable = [c for c in cells if c.n >= max(min_n, 1)]
    if len(usable) < 2:
        return None
    total = sum(c.n for c in usable)
    if usable[0].is_nps:
        pooled = sum(c.x - (c.detractors or 0) for c in usable) / total
        errors = [math.sqrt(nps_variance(c.x, c.detractors or 0, c.n) / c.n) for c in usable]
    else:
        pooled = sum(c.x for c in usable) / total
        errors = [proportion_se(pooled, c.n) for c in usable]
    scores = [z_score(c.value, pooled, s) for c, s in zip(usable, errors, strict=True)]
    phi = overdispersion_phi(scores)
    return PeerModel(pooled, phi, additive_tau2(phi, errors))


def cusum_weights(p0: float, odds_ratio: float = 2.0) -> tuple[float, float]:
    """The CUSUM increments for a failure and a success when the in-control failure
    rate is ``p0`` and the chart looks for the odds of failure multiplied by
    ``odds_ratio``: ``W = y·ln(OR) − ln(1 − p0 + OR·p0)``."""
    if not 0 < p0 < 1:
        raise ValueError("p0 must lie strictly between 0 and 1")
    penalty = math.log(1 - p0 + odds_ratio * p0)
    return math.log(odds_ratio) - penalty, -penalty


@dataclass(frozen=True)
class CusumResult:
    """The chart's value after each step, and the steps at which it crossed ``h``
    (it restarts from 0 after a signal)."""

    path: list[float]
    signals: list[int]

    @property
    def last(self) -> float:
        return self.path[-1] if self.path else 0.0


def bernoulli_cusum(
    groups: Iterable[tuple[int, int]],
    p0: float,
    h: float,
    odds_ratio: float = 2.0,
    start: float = 0.0,
) -> CusumResult:
    """Bernoulli CUSUM over ``(failures, contacts)`` in time order.

    With one contact per group this is Steiner's chart exactly. Groups (a branch's
    contacts of one day) add their summed weights at once, ``S = max(0, S + f·W₁ +
    (n − f)·W₀)``: the order of contacts inside a day is not tracked, and the chart can
    only cross ``h`` at the end of a day.
    """
    fail, success = cusum_weights(p0, odds_ratio)
    value = start
    path: list[float] = []
    signals: list[int] = []
    for step, (failures, contacts) in enumerate(groups):
        value = max(0.0, value + failures * fail + (contacts - failures) * success)
        if value >= h:
            signals.append(step)
            path.append(value)
            value = 0.0
        else:
            path.append(value)
    return CusumResult(path, signals)
