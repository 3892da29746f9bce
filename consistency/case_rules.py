"""When evidence becomes a case: the multiple-testing rule, in plain functions (no Django).

Every period the engine tests each branch's metrics on every channel, against the
standard and against peers: 1 000 branches give some 60 000 tests a week, and at the 95 %
level about 1 500 of them flag by chance alone. Flags stay as evidence; what a manager is
asked to work, a case, opens only on evidence that survives a false-discovery-rate
control over the period's tests (Benjamini & Hochberg 1995, used for funnel plots by
Jones, Ohlssen & Spiegelhalter 2008):

1. Every flag gets its exact one-sided p-value on the bad side: the binomial tail against
   the standard, the beta-binomial tail (the peers' pooled value and spread τ²) against
   peers; NPS, a difference of two shares, uses the normal tail of its z-score.
2. Persistence is a test of its own: a cell flagged in two of three consecutive periods
   has ``p = 3t² − 2t³``, the chance that at least two of three independent uniform
   p-values fall at or below ``t``, the larger of the two.
3. A CUSUM chart that signalled ``k`` times in the last ``L`` weeks has the Poisson tail
   ``P(K ≥ k)`` at the chart's in-control signal rate.
4. Benjamini-Hochberg at ``q`` over the period's family: every judged cell counts twice
   (its own test and its persistence test), every chart once, flagged or not.

A (branch, metric) with a discovery in a period opens a case, or adds to the one it has.

References: Y. Benjamini, Y. Hochberg, "Controlling the false discovery rate", JRSS B 57
(1995) 289-300; H. E. Jones, D. I. Ohlssen, D. J. Spiegelhalter, "Use of the false
discovery rate when comparing multiple health care providers", J. Clin. Epidemiol. 61
(2008) 232-240.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import betabinom, binom, norm, poisson

from consistency.stats import Direction

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

DEFAULT_Q = 0.05
PERSISTENCE_WINDOW = 3  # "two of three consecutive periods"
CUSUM_WINDOW = 4  # weeks of CUSUM signals counted together
# In-control CUSUM signals per chart and week at the seeded h (about one a year at a
# typical volume, up to twice that at three times it: README, CUSUM h).
CUSUM_WEEKLY_RATE = 2.0 / 52


def bad_side_p(
    x: ArrayLike, n: ArrayLike, centre: ArrayLike, tau2: ArrayLike, direction: Direction
) -> FloatArray:
    """One-sided p-values of ``x`` of ``n`` on their bad side of ``centre``, exactly: the
    binomial tail, or with between-branch variance ``tau2`` (the peer test) the
    beta-binomial tail of the same mean and that variance. (The normal tail of the z-score
    is far too small where few events are expected: 3 complaints of 25 against 1.6 % has
    z = 4.1, p = 2·10⁻⁵, while the chance of 3 or more is 0.7 %.)"""
    xs, ns = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    mean = np.clip(np.broadcast_to(np.asarray(centre, dtype=float), xs.shape), 1e-9, 1 - 1e-9)
    spread = np.broadcast_to(np.asarray(tau2, dtype=float), xs.shape)
    # Beta(a, b) with this mean and variance: a + b = mean(1 - mean)/tau2 - 1.
    with np.errstate(divide="ignore", invalid="ignore"):
        size = mean * (1 - mean) / spread - 1
    random = (spread > 0) & np.isfinite(size) & (size > 0)
    p = np.empty(xs.shape)
    below = direction is Direction.AT_LEAST  # bad: too few successes
    plain = ~random
    p[plain] = (
        binom.cdf(xs[plain], ns[plain], mean[plain])
        if below
        else binom.sf(xs[plain] - 1, ns[plain], mean[plain])
    )
    if random.any():
        a, b = mean[random] * size[random], (1 - mean[random]) * size[random]
        p[random] = (
            betabinom.cdf(xs[random], ns[random], a, b)
            if below
            else betabinom.sf(xs[random] - 1, ns[random], a, b)
        )
    return np.asarray(np.clip(p, 0.0, 1.0), dtype=float)


def normal_bad_side_p(z: ArrayLike, direction: Direction) -> FloatArray:
    """One-sided p-values from z-scores (NPS, whose trinomial has no exact tail here)."""
    bad = np.asarray(z, dtype=float) * (-1 if direction is Direction.AT_LEAST else 1)
    return np.asarray(np.where(np.isnan(bad), 1.0, norm.sf(bad)), dtype=float)


def persistence_p(larger: ArrayLike) -> FloatArray:
    """P(at least two of three independent uniforms ≤ t) for ``t`` the larger p-value of
    the two periods that flagged."""
    t = np.clip(np.asarray(larger, dtype=float), 0.0, 1.0)
    return np.asarray(3 * t**2 - 2 * t**3, dtype=float)


def cusum_p(signals: int, window: int = CUSUM_WINDOW, rate: float = CUSUM_WEEKLY_RATE) -> float:
    """P(a chart in control signals at least ``signals`` times in ``window`` weeks): in
    control, signals come as a Poisson process of ``rate`` a week (the chart restarts
    after each), so a chart that keeps signalling soon tells itself from chance."""
    if signals <= 0:
        return 1.0
    return float(poisson.sf(signals - 1, window * rate))


def benjamini_hochberg(p_values: ArrayLike, family: int, q: float) -> BoolArray:
    """Which of ``p_values`` are discoveries when they belong to a family of ``family``
    tests (the others, not listed, have larger p-values): BH's step-up rule, reject the
    ``k`` smallest where ``k`` is the largest rank with ``p₍ₖ₎ ≤ q·k/family``."""
    p = np.asarray(p_values, dtype=float)
    if not len(p):
        return np.zeros(0, dtype=bool)
    if not 0 < q < 1:
        raise ValueError("q must lie strictly between 0 and 1")
    family = max(family, len(p))
    order = np.argsort(p, kind="stable")
    passed = p[order] <= q * np.arange(1, len(p) + 1) / family
    found = np.zeros(len(p), dtype=bool)
    if passed.any():
        found[order[: int(np.flatnonzero(passed)[-1]) + 1]] = True
    return found


def family_size(tests: int, charts: int) -> int:
    """How many tests a period's discoveries are counted against (rule 4): each judged
    cell's test twice (alone and for persistence), each CUSUM chart once."""
    return 2 * tests + charts


def periods_back_within(flagged_periods: Sequence[bool]) -> int:
    """How many of the latest periods in a row had no flag (newest last)."""
    quiet = 0
    for flagged in reversed(flagged_periods):
        if flagged:
            break
        quiet += 1
    return quiet


def stronger(a: float | None, b: float | None) -> float | None:
    """The larger |z| of two (None when neither is known)."""
    known = [abs(v) for v in (a, b) if v is not None and math.isfinite(v)]
    return max(known) if known else None
