"""The statistics of the priority areas against published values: Wilson's score interval
and Newcombe's hybrid score interval for a difference of proportions (the worked examples
of Newcombe 1998), the NPS difference with its trinomial variance, the cost and ranking."""

from __future__ import annotations

import math

import pytest

from consistency.priority_stats import (
    Answers,
    Difference,
    Verdict,
    nps_difference,
    proportion_difference,
    satisfaction_cost,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("x", "n", "lower", "upper"),
    [
        # R. G. Newcombe, "Two-sided confidence intervals for the single proportion:
        # comparison of seven methods", Statistics in Medicine 17 (1998) 857-872, Table I,
        # method 3 (Wilson's score interval without continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe(x: int, n: int, lower: float, upper: float) -> None:
    low, high = wilson_interval(x, n)
    assert low == pytest.approx(lower, abs=5e-5)
    assert high == pytest.approx(upper, abs=5e-5)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "difference", "lower", "upper"),
    [
        # R. G. Newcombe, "Interval estimation for the difference between independent
        # proportions: comparison of eleven methods", Statistics in Medicine 17 (1998)
        # 873-890, Table II, method 10 (hybrid score interval), examples (a) to (f).
        (56, 70, 48, 80, 0.2000, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.6000, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.5714, 0.0582, 0.8062),
        (5, 56, 0, 29, 0.0893, -0.0381, 0.1926),
        (0, 10, 0, 20, 0.0, -0.1611, 0.2775),
        (10, 10, 0, 20, 1.0, 0.6791, 1.0),
    ],
)
def test_difference_interval_matches_newcombe_method_10(
    x1: int, n1: int, x2: int, n2: int, difference: float, lower: float, upper: float
) -> None:
    found = proportion_difference(x1, n1, x2, n2)
    assert found.estimate == pytest.approx(difference, abs=5e-5)
    assert found.lower == pytest.approx(lower, abs=5e-5)
    assert found.upper == pytest.approx(upper, abs=5e-5)


def test_difference_is_antisymmetric() -> None:
    forward, backward = proportion_difference(56, 70, 48, 80), proportion_difference(48, 80, 56, 70)
    assert backward.estimate == pytest.approx(-forward.estimate)
    assert (backward.lower, backward.upper) == pytest.approx((-forward.upper, -forward.lower))


def test_wilson_refuses_an_empty_sample() -> None:
    with pytest.raises(ValueError, match="n > 0"):
        wilson_interval(0, 0)


def test_nps_difference_uses_the_trinomial_variance() -> None:
    # 50 promoters, 20 detractors of 100: NPS 0.30, variance (0.5 + 0.2 - 0.3²)/100 = 0.0061;
    # 20 promoters, 40 detractors of 80: NPS -0.25, variance (0.25 + 0.5 - 0.0625)/80.
    found = nps_difference(50, 20, 100, 20, 40, 80)
    se = math.sqrt(0.0061 + 0.6875 / 80)
    assert found.estimate == pytest.approx(0.55)
    assert found.lower == pytest.approx(0.55 - 1.959964 * se, abs=1e-6)
    assert found.upper == pytest.approx(0.55 + 1.959964 * se, abs=1e-6)
    assert se == pytest.approx(0.12122, abs=1e-5)


def test_nps_difference_stays_within_its_range() -> None:
    found = nps_difference(10, 0, 10, 0, 10, 10)
    assert (found.estimate, found.lower, found.upper) == (2.0, 2.0, 2.0)


def test_cost_is_the_satisfied_contacts_lost() -> None:
    # 120 contacts at a moment, 50 of them answered CSAT, 30 satisfied (60 %), against
    # 800 satisfied of 1000 answers for the rest (80 %): 20 points lower, so about 24 of
    # the 120 contacts would have left satisfied had they fared like the rest.
    affected = Answers(contacts=120, csat_n=50, csat_ok=30, nps_n=40, promoters=10, detractors=20)
    rest = Answers(
        contacts=3000, csat_n=1000, csat_ok=800, nps_n=900, promoters=450, detractors=150
    )
    cost = satisfaction_cost(affected, rest)
    assert cost.csat is not None
    assert cost.lost is not None
    assert cost.nps is not None
    assert cost.csat.estimate == pytest.approx(-0.2)
    assert cost.lost.estimate == pytest.approx(24.0)
    assert cost.lost.lower == pytest.approx(-cost.csat.upper * 120)
    assert cost.lost.upper == pytest.approx(-cost.csat.lower * 120)
    assert cost.verdict == Verdict.HARM  # the interval lies wholly below zero
    assert cost.nps.estimate == pytest.approx(-0.25 - 1 / 3)


def test_verdicts_and_their_order() -> None:
    rest = Answers(contacts=2000, csat_n=1000, csat_ok=800)
    harm = satisfaction_cost(Answers(contacts=60, csat_n=40, csat_ok=20), rest)
    unclear = satisfaction_cost(Answers(contacts=500, csat_n=20, csat_ok=15), rest)
    better = satisfaction_cost(Answers(contacts=80, csat_n=60, csat_ok=59), rest)
    # Three answers, all dissatisfied: the worst estimate, and still never ranked high.
    few = satisfaction_cost(Answers(contacts=900, csat_n=3, csat_ok=0), rest)
    assert [c.verdict for c in (harm, unclear, better, few)] == [
        Verdict.HARM,
        Verdict.UNCERTAIN,
        Verdict.BETTER,
        Verdict.TOO_LITTLE_DATA,
    ]
    assert few.csat is None
    assert few.lost is None
    # The uncertain one costs more (25 of 500 contacts) yet comes after the clear harm.
    assert unclear.lost is not None
    assert harm.lost is not None
    assert unclear.lost.estimate > harm.lost.estimate
    ordered = sorted([few, better, unclear, harm], key=lambda c: c.rank_key)
    assert ordered == [harm, unclear, better, few]


def test_too_few_answers_among_the_rest_is_too_little_data() -> None:
    cost = satisfaction_cost(Answers(50, 40, 10), Answers(5, 5, 5))
    assert cost.verdict == Verdict.TOO_LITTLE_DATA


def test_scaling_a_difference_by_a_negative_factor_swaps_its_bounds() -> None:
    assert Difference(-0.2, -0.3, -0.1).scaled(-10) == Difference(2.0, 1.0, 3.0)
    assert Difference(-0.2, -0.3, -0.1).excludes_zero
    assert not Difference(0.0, -0.1, 0.1).excludes_zero


def test_answers_subtract_field_by_field() -> None:
    whole, part = Answers(10, 8, 6, 4, 2, 1), Answers(3, 2, 1, 1, 1, 0)
    assert whole - part == Answers(7, 6, 5, 3, 1, 1)
    assert Answers().csat_share is None
    assert Answers().nps is None
