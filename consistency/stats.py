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

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binom, norm

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

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


# Judgements keep statuses as small integers (one array op, not a Python loop per cell).
STATUS_CODES = [Status.INSUFFICIENT, Status.OK, Status.WARNING, Status.ALARM]


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
    return float(_exact_limit_many(probability, np.array([float(n)]), np.array([target]))[0])


def _exact_limit_many(probability: float, n: FloatArray, target: FloatArray) -> FloatArray:
    r = binom.ppf(probability, n, target)
    mass = binom.pmf(r, n, target)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(mass > 0, (binom.cdf(r, n, target) - probability) / mass, 0.0)
    return np.clip((r - alpha) / n, 0.0, 1.0)


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


def _winsorised(values: FloatArray, fraction: float) -> FloatArray:
    low, high = np.quantile(values, [fraction, 1 - fraction])
    return np.clip(values, low, high)


def winsorise(values: Sequence[float] | FloatArray, fraction: float = 0.1) -> list[float]:
    """Clamp values below the ``fraction`` and above the ``1 − fraction`` quantile to those
    quantiles (linear interpolation between order statistics)."""
    if not len(values):
        return []
    return _winsorised(np.asarray(values, dtype=float), fraction).tolist()


def winsorised_normal_variance(fraction: float = 0.1) -> float:
    """E[Z_w²] for a standard normal Z winsorised at its ``fraction`` and ``1 − fraction``
    quantiles (0.679 at 10 %): what the mean squared winsorised z-score is when units
    differ only by chance."""
    a = float(norm.ppf(1 - fraction))
    inside = 2 * ((norm.cdf(a) - 0.5) - a * norm.pdf(a))
    return float(inside + 2 * fraction * a * a)


def overdispersion_phi(z_scores: Sequence[float] | FloatArray, fraction: float = 0.1) -> float:
    """Spiegelhalter's overdispersion factor from winsorised z-scores (about 1 when units
    differ only by chance). Winsorising shrinks the squares: their mean is divided by what
    it is for pure chance (:func:`winsorised_normal_variance`), so that φ estimates the
    variance ratio itself. Uncorrected, φ came out a third too small, τ² too small with it,
    and ordinary branch variety alarmed."""
    array = np.asarray(z_scores, dtype=float)
    finite = array[np.isfinite(array)]
    if not len(finite):
        return 1.0
    squares = float(np.mean(_winsorised(finite, fraction) ** 2))
    return squares / winsorised_normal_variance(fraction)


def additive_tau2(phi: float, standard_errors: Sequence[float] | FloatArray) -> float:
    """Between-unit variance for the additive random-effects model:
    ``τ² = max(0, (I·φ − (I − 1)) / (Σw − Σw²/Σw))`` with ``w = 1/s²``; 0 unless φ > 1."""
    se = np.asarray(standard_errors, dtype=float)
    weights = 1 / se[se > 0] ** 2
    units = len(weights)
    if phi <= 1 or units < 2:
        return 0.0
    total = weights.sum()
    spread = total - (weights**2).sum() / total
    if spread <= 0:
        return 0.0
    return max(0.0, float((units * phi - (units - 1)) / spread))


@dataclass(frozen=True)
class Cell:
    """One unit's count for one metric in one period: ``x`` events of ``n``. For NPS,
    ``x`` is promoters and ``detractors`` is set."""

    x: int
    n: int
    detractors: int | None = None

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


@dataclass(frozen=True)
class Judgements:
    """Many cells judged at once (arrays of equal length); NaN where a cell has no data."""

    value: FloatArray
    z: FloatArray
    lower95: FloatArray
    upper95: FloatArray
    lower998: FloatArray
    upper998: FloatArray
    codes: IntArray  # index into STATUS_CODES

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def status(self) -> list[Status]:
        return [STATUS_CODES[code] for code in self.codes.tolist()]

    @cached_property
    def _columns(self) -> tuple[list[float], ...]:
        # Plain lists: picking one cell out of them is far cheaper than numpy indexing.
        arrays = (self.value, self.z, self.lower95, self.upper95, self.lower998, self.upper998)
        return tuple(array.tolist() for array in arrays)

    def at(self, index: int, centre: float) -> Judgement:
        """Cell ``index`` as one :class:`Judgement` (``centre``: what it was judged against)."""
        value, z, low95, high95, low998, high998 = (column[index] for column in self._columns)
        status = STATUS_CODES[int(self.codes[index])]
        enough = status is not Status.INSUFFICIENT
        return Judgement(
            value=None if math.isnan(value) else value,
            centre=centre,
            z=None if math.isnan(z) else z,
            limits95=(low95, high95) if enough else None,
            limits998=(low998, high998) if enough else None,
            status=status,
        )

    def flagged(self) -> IntArray:
        """Indices of the cells beyond the 95 % limit on the bad side (warnings, alarms)."""
        return np.flatnonzero(self.codes >= 2)

    def inside95(self) -> BoolArray:
        """Cells with enough data that lie within the 95 % limits on both sides."""
        with np.errstate(invalid="ignore"):
            return (self.value >= self.lower95) & (self.value <= self.upper95)


def _exact_limits_many(
    target: FloatArray, n: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    # Cells share a few (target, n) pairs, week after week: each pair's binomial quantiles
    # are computed once (in one vectorised call for all new pairs) and remembered.
    # (target, n) as one complex number: a 1-d unique, much faster than rows of an array.
    pairs, back = np.unique(target + 1j * n, return_inverse=True)
    pairs = np.stack([pairs.real, pairs.imag], axis=1)
    keys = [(level, t, size) for t, size in pairs.tolist()]
    # This call's limits are gathered first and the cache is only fed afterwards, so
    # evicting entries can never take away one this call still needs.
    found = [_EXACT_LIMITS.get(key) for key in keys]
    new = [i for i, limits in enumerate(found) if limits is None]
    if new:
        tail = (1 - level) / 2
        targets, sizes = pairs[new, 0], pairs[new, 1]
        lows = _exact_limit_many(tail, sizes, targets).tolist()
        highs = _exact_limit_many(1 - tail, sizes, targets).tolist()
        for i, low, high in zip(new, lows, highs, strict=True):
            found[i] = (low, high)
        _exact_limits_remember({keys[i]: (lows[j], highs[j]) for j, i in enumerate(new)})
    limits = np.array(found, dtype=float).reshape(-1, 2)
    chosen = limits[back.reshape(-1)]
    return chosen[:, 0], chosen[:, 1]


# Remembered exact limits, oldest first. A long-running worker meets new peer centres every
# period, so the cache is bounded: past EXACT_LIMITS_CACHE_SIZE the oldest entries go.
EXACT_LIMITS_CACHE_SIZE = 200_000
_EXACT_LIMITS: dict[tuple[float, float, float], tuple[float, float]] = {}


def _exact_limits_remember(entries: dict[tuple[float, float, float], tuple[float, float]]) -> None:
    _EXACT_LIMITS.update(entries)
    excess = len(_EXACT_LIMITS) - EXACT_LIMITS_CACHE_SIZE
    if excess > 0:
        for key in list(itertools.islice(_EXACT_LIMITS, excess)):
            del _EXACT_LIMITS[key]


def judge_many(
    x: IntArray,
    n: IntArray,
    centre: float | FloatArray,
    direction: Direction,
    min_n: int,
    tau2: float | FloatArray = 0.0,
    detractors: IntArray | None = None,
) -> Judgements:
    """Judge cells ``x`` of ``n`` against ``centre``, flagging the bad side only.

    Proportions use funnel limits: exact (interpolated binomial) where the expected counts
    are small and nothing widens them, normal otherwise, widened by ``tau2`` for the peer
    test. NPS cells (``detractors`` given; ``x`` = promoters) use the trinomial variance.
    Cells below ``min_n`` are "insufficient data", whatever their value. ``centre`` and
    ``tau2`` are one value for all cells or one per cell (cells of several periods).
    """
    count = np.asarray(n, dtype=float)
    events = np.asarray(x, dtype=float)
    middle = np.broadcast_to(np.asarray(centre, dtype=float), count.shape)
    enough = count >= max(min_n, 1)
    safe_n = np.where(count > 0, count, 1.0)
    if detractors is not None:
        minus = np.asarray(detractors, dtype=float)
        plus_share, minus_share = events / safe_n, minus / safe_n
        value = plus_share - minus_share
        variance = (plus_share + minus_share - value**2) / safe_n + tau2
        low_bound, high_bound = -1.0, 1.0
        exact = np.zeros(count.shape, dtype=bool)
    else:
        value = events / safe_n
        variance = middle * (1 - middle) / safe_n + tau2
        low_bound, high_bound = 0.0, 1.0
        small = np.minimum(middle, 1 - middle) * count < 5 - 1e-9
        exact = small & enough & (tau2 == 0) & (middle > 0) & (middle < 1)
    se = np.sqrt(variance)
    limits: dict[float, tuple[FloatArray, FloatArray]] = {}
    for level in LEVELS:
        half = z_for_level(level) * se
        low = np.clip(middle - half, low_bound, high_bound)
        high = np.clip(middle + half, low_bound, high_bound)
        if exact.any():
            exact_low, exact_high = _exact_limits_many(middle[exact], count[exact], level)
            low[exact], high[exact] = exact_low, exact_high
        limits[level] = (low, high)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(
            se > 0,
            (value - middle) / se,
            np.where(value == middle, 0.0, np.inf * np.sign(value - middle)),
        )
    (low95, high95), (low998, high998) = limits[0.95], limits[0.998]
    if direction is Direction.AT_LEAST:
        alarm, warning = value < low998, value < low95
    else:
        alarm, warning = value > high998, value > high95
    codes = np.where(~enough, 0, np.where(alarm, 3, np.where(warning, 2, 1)))
    nan = np.nan
    value = np.where(count > 0, value, nan)
    return Judgements(
        value=value,
        z=np.where(enough, z, nan),
        lower95=np.where(enough, low95, nan),
        upper95=np.where(enough, high95, nan),
        lower998=np.where(enough, low998, nan),
        upper998=np.where(enough, high998, nan),
        codes=codes,
    )


def judge(
    cell: Cell, centre: float, direction: Direction, min_n: int, tau2: float = 0.0
) -> Judgement:
    """Judge one cell: :func:`judge_many` for a single cell."""
    many = judge_many(
        np.array([cell.x]),
        np.array([cell.n]),
        centre,
        direction,
        min_n,
        tau2,
        None if cell.detractors is None else np.array([cell.detractors]),
    )
    return many.at(0, centre)


@dataclass(frozen=True)
class PeerModel:
    """The chain's pooled value for a metric and period, and the overdispersion it shows."""

    pooled: float
    phi: float
    tau2: float


def peer_model_many(
    x: IntArray, n: IntArray, min_n: int, detractors: IntArray | None = None
) -> PeerModel | None:
    """Pool the cells with enough data (``Σx/Σn``; NPS: ``(Σ promoters − Σ detractors)/Σn``)
    and estimate overdispersion from their z-scores around the pooled value (10 %
    winsorised). None when fewer than two cells qualify: there are no peers."""
    count = np.asarray(n, dtype=float)
    usable = count >= max(min_n, 1)
    if usable.sum() < 2:
        return None
    count = count[usable]
    events = np.asarray(x, dtype=float)[usable]
    total = count.sum()
    if detractors is not None:
        minus = np.asarray(detractors, dtype=float)[usable]
        pooled = float((events - minus).sum() / total)
        value = (events - minus) / count
        plus_share, minus_share = events / count, minus / count
        se = np.sqrt((plus_share + minus_share - value**2) / count)
    else:
        pooled = float(events.sum() / total)
        value = events / count
        se = np.sqrt(pooled * (1 - pooled) / count)
    positive = se > 0
    if not positive.any():
        return PeerModel(pooled, 1.0, 0.0)
    phi = overdispersion_phi((value[positive] - pooled) / se[positive])
    return PeerModel(pooled, phi, additive_tau2(phi, se[positive]))


def peer_model(cells: Sequence[Cell], min_n: int) -> PeerModel | None:
    """:func:`peer_model_many` for a list of cells."""
    nps = bool(cells) and cells[0].detractors is not None
    return peer_model_many(
        np.array([c.x for c in cells]),
        np.array([c.n for c in cells]),
        min_n,
        np.array([c.detractors or 0 for c in cells]) if nps else None,
    )


def cusum_weights(p0: float, odds_ratio: float = 2.0) -> tuple[float, float]:
    """The CUSUM increments for a failure and a success when the in-control failure
    rate is ``p0`` and the chart looks for the odds of failure multiplied by
    ``odds_ratio``: ``W = y·ln(OR) − ln(1 − p0 + OR·p0)``."""
    if not 0 < p0 < 1:
        raise ValueError("p0 must lie strictly between 0 and 1")
    penalty = math.log(1 - p0 + odds_ratio * p0)
    return math.log(odds_ratio) - penalty, -penalty


def cusum_increments(
    failures: FloatArray, contacts: FloatArray, p0: float | FloatArray, odds_ratio: float = 2.0
) -> FloatArray:
    """What ``failures`` of ``contacts`` add to a chart at once: the per-contact weights of
    :func:`cusum_weights` summed, ``f·ln(OR) − n·ln(1 − p0 + OR·p0)``. ``p0`` is one rate
    or one per element (broadcast), each strictly between 0 and 1."""
    rate = np.asarray(p0, dtype=float)
    if np.any((rate <= 0) | (rate >= 1)):
        raise ValueError("p0 must lie strictly between 0 and 1")
    failures = np.asarray(failures, dtype=float)
    contacts = np.asarray(contacts, dtype=float)
    return failures * math.log(odds_ratio) - contacts * np.log(1 - rate + odds_ratio * rate)


@dataclass(frozen=True)
class CusumResult:
    """The chart's value after each step, and the steps at which it crossed ``h``
    (it restarts from 0 after a signal)."""

    path: list[float]
    signals: list[int]

    @property
    def last(self) -> float:
        return self.path[-1] if self.path else 0.0


def cusum_run(
    increments: FloatArray, h: float | FloatArray, start: FloatArray | None = None
) -> tuple[FloatArray, BoolArray]:
    """Many CUSUM charts side by side: ``increments`` has one row per step and one column
    per chart; ``S = max(0, S + W)``, a signal where ``S ≥ h`` (``h`` per step and chart,
    broadcast), after which the chart restarts from 0. Returns each chart's value after
    each step (the value that signalled, before the restart) and where it signalled."""
    steps = np.asarray(increments, dtype=float)
    limit = np.broadcast_to(np.asarray(h, dtype=float), steps.shape)
    value = np.zeros(steps.shape[1]) if start is None else np.array(start, dtype=float)
    path = np.empty_like(steps)
    signals = np.zeros(steps.shape, dtype=bool)
    for step in range(steps.shape[0]):
        value = np.maximum(0.0, value + steps[step])
        path[step] = value
        signals[step] = crossed = value >= limit[step]
        value[crossed] = 0.0
    return path, signals


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
    counts = np.array(list(groups), dtype=float).reshape(-1, 2)
    increments = cusum_increments(counts[:, 0], counts[:, 1], p0, odds_ratio)
    path, signals = cusum_run(increments[:, None], h, np.array([start]))
    return CusumResult(path[:, 0].tolist(), np.flatnonzero(signals[:, 0]).tolist())
