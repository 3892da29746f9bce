"""The numbers behind quality reviews, kept free of Django so each can be tested on its own:
scoring a review against its checklist, agreement between reviewers in calibration sessions
(Cohen's and Fleiss' kappa), empirical Bayes shrinkage of agents' pass rates (a handful of
reviews is weighed against the branch instead of ranking an agent first or last on luck), and
reproducible sampling and fair assignment of interactions to reviewers.

References: J. Cohen, "A coefficient of agreement for nominal scales", Educational and
Psychological Measurement 20 (1960) 37-46; J. L. Fleiss, "Measuring nominal scale agreement
among many raters", Psychological Bulletin 76 (1971) 378-382.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from scipy.stats import beta as beta_distribution

YES_NO = "yes_no"
ONE_TO_FIVE = "one_to_five"
# Float sums such as 0.2 + 0.5 + 0.1 land a hair below the mark they are meant to reach.
PASS_EPSILON = 1e-9
# Below this tolerance an expected agreement counts as 1 (kappa's denominator vanishes).
_DEGENERATE = 1e-12

# -- Scoring one review -------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemAnswer:
    """One checklist item as answered in a review; ``value`` None means not applicable."""

    weight: float
    scale: str
    allow_na: bool
    critical: bool
    value: int | None


@dataclass(frozen=True)
class ReviewScore:
    """A review's weighted score in [0, 1] (None when nothing applied) and how many items did."""

    score: float | None
    critical_fail: bool
    applicable: int


def _check_value(scale: str, value: int) -> None:
    if scale == YES_NO:
        allowed = value in (0, 1)
    elif scale == ONE_TO_FIVE:
        allowed = 1 <= value <= 5
    else:
        raise ValueError(f"unknown scale {scale!r}")
    if not allowed:
        raise ValueError(f"{value!r} is outside the {scale} scale")


def item_share(scale: str, value: int) -> float:
    """The share of an item's weight an answer earns: yes/no gives all or nothing, and the five
    points of a 1-5 item are spread evenly so that 1 earns nothing and 5 earns everything."""
    _check_value(scale, value)
    if scale == YES_NO:
        return float(value)
    return (value - 1) / 4


def item_failed(scale: str, value: int) -> bool:
    """Whether an answer counts as a fail: "no" on a yes/no item, and a 1 or 2 on a five-point
    item. The same rule decides critical items (one fail zeroes the review) and the "failed"
    counts reported per item, so both always tell the same story."""
    _check_value(scale, value)
    if scale == YES_NO:
        return value == 0
    return value <= 2


def review_score(answers: Sequence[ItemAnswer]) -> ReviewScore:
    """Weighted mean of the item shares over the applicable items.

    Not-applicable items drop out of both sides of the mean, so they neither help nor hurt.
    A failed critical item overrides everything: the score is 0 and ``critical_fail`` is set,
    because such a contact is unacceptable however well the rest went. Whether an item may be
    not applicable (``allow_na``) is the caller's check; here None simply means "skip". If the
    applicable items weigh nothing in total there is nothing to average and the score is None.
    """
    applicable = [(answer, answer.value) for answer in answers if answer.value is not None]
    total = weighted = 0.0
    critical_fail = False
    for answer, value in applicable:
        weighted += answer.weight * item_share(answer.scale, value)
        total += answer.weight
        critical_fail |= answer.critical and item_failed(answer.scale, value)
    if critical_fail:
        return ReviewScore(score=0.0, critical_fail=True, applicable=len(applicable))
    score = weighted / total if total > 0 else None
    return ReviewScore(score=score, critical_fail=False, applicable=len(applicable))


def passed(score: float | None, critical_fail: bool, pass_mark: float) -> bool:
    """A review passes when it has a score, no critical fail, and reaches the pass mark (with a
    tiny tolerance, so a score summed to 0.7999999999 still passes a 0.8 mark)."""
    if critical_fail or score is None:
        return False
    return score >= pass_mark - PASS_EPSILON


# -- Agreement between reviewers ----------------------------------------------------------------


@dataclass(frozen=True)
class Kappa:
    """A chance-corrected agreement over ``n`` subjects, with the observed and the expected
    (chance) agreement it was computed from."""

    kappa: float
    n: int
    observed: float
    expected: float


def _kappa(observed: float, expected: float) -> float:
    """``(observed - expected) / (1 - expected)``. When chance alone predicts full agreement
    (everyone used one category) the formula is 0/0: we call it 1.0 if the raters did agree
    fully and 0.0 otherwise, so perfect calibration never reads as missing."""
    if expected >= 1 - _DEGENERATE:
        return 1.0 if observed >= 1 - _DEGENERATE else 0.0
    return (observed - expected) / (1 - expected)


def _cohen(table: Sequence[Sequence[int]]) -> tuple[float, float, float]:
    size = len(table)
    if size == 0 or any(len(row) != size for row in table):
        raise ValueError("a Cohen table must be square and non-empty")
    if any(cell < 0 for row in table for cell in row):
        raise ValueError("counts cannot be negative")
    total = sum(sum(row) for row in table)
    if total <= 0:
        raise ValueError("the table holds no ratings")
    observed = sum(table[i][i] for i in range(size)) / total
    rows = [sum(row) for row in table]
    columns = [sum(row[j] for row in table) for j in range(size)]
    expected = sum(r * c for r, c in zip(rows, columns, strict=True)) / total**2
    return _kappa(observed, expected), observed, expected


def cohen_kappa_table(table: Sequence[Sequence[int]]) -> float:
    """Cohen's kappa from a square table: ``table[i][j]`` subjects rater A put in category i
    and rater B in category j."""
    return _cohen(table)[0]


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> Kappa | None:
    """Cohen's kappa of two raters, one ``(rater A, rater B)`` pair per subject; None without
    pairs. Categories are whatever values appear, in either position."""
    if not pairs:
        return None
    index: dict[Hashable, int] = {}
    for a, b in pairs:
        index.setdefault(a, len(index))
        index.setdefault(b, len(index))
    table = [[0] * len(index) for _ in index]
    for a, b in pairs:
        table[index[a]][index[b]] += 1
    kappa, observed, expected = _cohen(table)
    return Kappa(kappa=kappa, n=len(pairs), observed=observed, expected=expected)


def _fleiss(counts: Sequence[Sequence[int]]) -> tuple[float, float, float]:
    if not counts or not counts[0]:
        raise ValueError("Fleiss' kappa needs at least one subject and one category")
    width, raters = len(counts[0]), sum(counts[0])
    if any(len(row) != width or sum(row) != raters for row in counts):
        raise ValueError("every subject needs the same categories and the same number of raters")
    if raters < 2 or any(cell < 0 for row in counts for cell in row):
        raise ValueError("Fleiss' kappa needs at least two raters and no negative counts")
    subjects = len(counts)
    pairs = raters * (raters - 1)
    observed = sum((sum(c * c for c in row) - raters) / pairs for row in counts) / subjects
    shares = [sum(row[j] for row in counts) / (subjects * raters) for j in range(width)]
    expected = sum(p * p for p in shares)
    return _kappa(observed, expected), observed, expected


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa: ``counts[i][j]`` raters put subject i in category j, and every subject was
    rated by the same number (at least two) of raters, not necessarily the same people."""
    return _fleiss(counts)[0]


def agreement(ratings_by_subject: Sequence[Sequence[Hashable | None]]) -> Kappa | None:
    """Agreement over a calibration session: one entry per subject (an item of the session)
    listing the reviewers' answers, None where a reviewer gave none.

    None answers are dropped, then subjects left with fewer than two answers (nothing to agree
    on). If the rest do not all have the same number of answers, only the subjects with the
    most common number are kept (ties go to the larger number: more raters, steadier figure)
    rather than using Fleiss' unequal-raters extension. Two answers per subject give Cohen's
    kappa over the pairs in the order given; more give Fleiss' kappa. ``n`` is the number of
    subjects used; None when no subject is usable.
    """
    kept = [[r for r in ratings if r is not None] for ratings in ratings_by_subject]
    kept = [ratings for ratings in kept if len(ratings) >= 2]
    if not kept:
        return None
    tally = Counter(len(ratings) for ratings in kept)
    size = max(tally, key=lambda count: (tally[count], count))
    kept = [ratings for ratings in kept if len(ratings) == size]
    if size == 2:
        return cohen_kappa([(ratings[0], ratings[1]) for ratings in kept])
    categories = list(dict.fromkeys(r for ratings in kept for r in ratings))
    counts = [[ratings.count(c) for c in categories] for ratings in kept]
    kappa, observed, expected = _fleiss(counts)
    return Kappa(kappa=kappa, n=len(kept), observed=observed, expected=expected)


# -- Empirical Bayes shrinkage ------------------------------------------------------------------

# A prior never counts for more contacts than this, nor for more than all the data it came from.
STRENGTH_CAP = 1000.0


@dataclass(frozen=True)
class BetaPrior:
    """Beta(alpha, beta): how true rates are spread across a branch's agents. ``alpha + beta``
    is the prior's strength, in contacts."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


@dataclass(frozen=True)
class Shrunk:
    """An agent's ``x`` of ``n`` with its raw rate (None without contacts), the posterior mean
    and an equal-tailed credible interval of the rate."""

    x: int
    n: int
    raw: float | None
    estimate: float
    low: float
    high: float


def _check_count(x: int, n: int) -> None:
    if n < 0 or not 0 <= x <= n:
        raise ValueError(f"need 0 <= x <= n, got {x} of {n}")


def _moment_rho(groups: Sequence[tuple[int, int]], mean: float) -> float:
    """Method-of-moments intra-class correlation ``rho = 1 / (alpha + beta + 1)``: the n-weighted
    squared deviations from the pooled rate, less what binomial noise alone would give, over
    what they would be worth per unit of rho. Zero or less means no detectable spread."""
    total = sum(n for _, n in groups)
    spread = sum(n * (x / n - mean) ** 2 for x, n in groups) / (mean * (1 - mean))
    scale = total - sum(n * n for _, n in groups) / total - (len(groups) - 1)
    if scale <= 0:
        return 0.0
    return (spread - (len(groups) - 1)) / scale


def beta_prior(
    groups: Sequence[tuple[int, int]], *, strength_floor: float = 2.0, fit_min_n: int = 20
) -> BetaPrior:
    """Fit a beta prior to groups of ``x`` successes in ``n`` by the method of moments.

    Groups with fewer than ``fit_min_n`` trials are left out of the fit when at least two
    groups reach it: their rates are mostly binomial noise, which says little about how true
    rates differ, yet one 0-of-6 agent can dominate the moment estimate and make the prior so
    weak that the agent it is meant to temper comes out last. Those agents are still shrunk
    with the prior, just not used to fit it. Without data the prior is centred on 0.5 with
    ``strength_floor``. With fewer than two groups, or no spread beyond binomial noise, every
    group looks alike: the prior takes the pooled rate with the strength of the data itself.
    The strength is at least ``strength_floor`` and otherwise at most ``min(N, STRENGTH_CAP)``,
    N being the fitted contacts; the mean is kept within (0.5/N, 1 - 0.5/N) so alpha, beta > 0.
    """
    for x, n in groups:
        _check_count(x, n)
    used = [(x, n) for x, n in groups if n > 0]
    established = [(x, n) for x, n in used if n >= fit_min_n]
    if len(established) >= 2:
        used = established
    total = sum(n for _, n in used)
    if total == 0:
        return BetaPrior(alpha=strength_floor / 2, beta=strength_floor / 2)
    mean = min(max(sum(x for x, _ in used) / total, 0.5 / total), 1 - 0.5 / total)
    ceiling = max(min(float(total), STRENGTH_CAP), strength_floor)
    rho = _moment_rho(used, mean) if len(used) >= 2 else 0.0
    strength = ceiling if rho <= 0 else min(max(1 / rho - 1, strength_floor), ceiling)
    return BetaPrior(alpha=mean * strength, beta=(1 - mean) * strength)


def shrink(x: int, n: int, prior: BetaPrior, level: float = 0.95) -> Shrunk:
    """Posterior Beta(alpha + x, beta + n - x) of one group's rate: its mean, pulled towards the
    prior's the fewer contacts there are, and its equal-tailed ``level`` credible interval.
    With ``n = 0`` this is the prior itself."""
    _check_count(x, n)
    if not 0 < level < 1:
        raise ValueError("level must lie strictly between 0 and 1")
    a, b = prior.alpha + x, prior.beta + n - x
    tail = (1 - level) / 2
    return Shrunk(
        x=x,
        n=n,
        raw=x / n if n else None,
        estimate=a / (a + b),
        low=float(beta_distribution.ppf(tail, a, b)),
        high=float(beta_distribution.ppf(1 - tail, a, b)),
    )


# -- Sampling and assignment --------------------------------------------------------------------


def sample_key(rule_id: int, interaction_id: int) -> int:
    """A stable pseudo-random rank of an interaction under a sampling rule: the same pair always
    gets the same key, on any machine and in any process, so a sample can be recomputed."""
    digest = hashlib.blake2b(f"{rule_id}:{interaction_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def draw(candidates: Sequence[int], rule_id: int, k: int) -> list[int]:
    """The ``k`` candidates with the smallest keys (ties by id), smallest first. Depends only on
    the set of candidates, not their order; duplicates count once."""
    if k < 0:
        raise ValueError("k cannot be negative")
    ranked = sorted(set(candidates), key=lambda i: (sample_key(rule_id, i), i))
    return ranked[:k]


def assign_round_robin(
    items: Sequence[tuple[int, int | None]],
    reviewers: Sequence[int],
    load: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """Give each ``(interaction_id, agent_id)`` item, in the order given, to the reviewer with
    the least work so far (``load`` plus what this call assigned; ties to the lower id), never
    to the agent who handled it. An item only its own agent could review is left out; an
    interaction listed twice is assigned once."""
    current = {reviewer: (load or {}).get(reviewer, 0) for reviewer in reviewers}
    assigned: dict[int, int] = {}
    for interaction_id, agent_id in items:
        if interaction_id in assigned:
            continue
        choices = [reviewer for reviewer in current if reviewer != agent_id]
        if not choices:
            continue
        reviewer = min(choices, key=lambda r: (current[r], r))
        assigned[interaction_id] = reviewer
        current[reviewer] += 1
    return assigned
