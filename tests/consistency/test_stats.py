"""The pure statistics, checked against published and hand-computed values (no database)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consistency import stats
from consistency.stats import Cell, Direction, Status


@pytest.mark.parametrize(
    ("n", "lower", "upper"),
    [(20, 0.5839, 0.9383), (100, 0.7135, 0.8703)],  # Spiegelhalter (2005), target 0.8
)
def test_exact_limits_match_published_values(n: int, lower: float, upper: float) -> None:
    low, high = stats.exact_limits(0.8, n, 0.95)
    assert low == pytest.approx(lower, abs=5e-5)
    assert high == pytest.approx(upper, abs=5e-5)


def test_normal_limits_and_z_score() -> None:
    low, high = stats.normal_limits(0.8, 400, 0.95)
    assert (low, high) == pytest.approx((0.8 - 1.959964 * 0.02, 0.8 + 1.959964 * 0.02))
    assert stats.z_score(0.74, 0.8, stats.proportion_se(0.8, 400)) == pytest.approx(-3.0)
    low998, _ = stats.normal_limits(0.8, 400, 0.998)
    assert low998 == pytest.approx(0.8 - 3.090232 * 0.02)


def test_small_expected_counts_use_exact_limits() -> None:
    assert stats.needs_exact(0.8, 20)  # 20 x 0.2 = 4 expected failures
    assert not stats.needs_exact(0.8, 25)
    assert stats.funnel_limits(0.8, 20, 0.95) == stats.exact_limits(0.8, 20, 0.95)
    assert stats.funnel_limits(0.8, 25, 0.95) == stats.normal_limits(0.8, 25, 0.95)


def test_nps_value_variance_and_interval() -> None:
    # 50 promoters, 30 passives, 20 detractors of 100.
    assert stats.nps_value(50, 20, 100) == pytest.approx(0.30)
    assert stats.nps_variance(50, 20, 100) == pytest.approx(0.61)
    low, high = stats.nps_interval(50, 20, 100, 0.95)
    assert (round(low, 3), round(high, 3)) == (0.147, 0.453)


def test_winsorising_and_phi_agree_with_numpy() -> None:
    z = [-4.0, -1.5, -0.5, 0.0, 0.2, 0.4, 0.9, 1.3, 2.0, 6.0]
    low, high = np.percentile(z, [10, 90])
    expected = float(np.mean(np.clip(z, low, high) ** 2)) / stats.winsorised_normal_variance()
    assert stats.overdispersion_phi(z) == pytest.approx(expected)
    assert max(stats.winsorise(z)) == pytest.approx(high)
    assert min(stats.winsorise(z)) == pytest.approx(low)


def test_additive_tau2_by_hand() -> None:
    # w = 1/s^2 = [100, 25]: sum 125, sum of squares / sum = 85, so the denominator is 40;
    # numerator I*phi - (I - 1) = 2*2 - 1 = 3.
    assert stats.additive_tau2(2.0, [0.1, 0.2]) == pytest.approx(3 / 40)
    assert stats.additive_tau2(0.9, [0.1, 0.2]) == 0.0  # no overdispersion, no widening


def test_judge_flags_the_bad_side_only_and_respects_sample_size() -> None:
    at_least = Direction.AT_LEAST
    assert stats.judge(Cell(10, 19), 0.8, at_least, min_n=20).status is Status.INSUFFICIENT
    assert stats.judge(Cell(0, 0), 0.8, at_least, min_n=20).value is None
    assert stats.judge(Cell(400, 400), 0.8, at_least, min_n=20).status is Status.OK
    assert stats.judge(Cell(307, 400), 0.8, at_least, min_n=20).status is Status.OK  # z -1.6
    assert stats.judge(Cell(300, 400), 0.8, at_least, min_n=20).status is Status.WARNING  # -2.5
    alarm = stats.judge(Cell(280, 400), 0.8, at_least, min_n=20)
    assert alarm.status is Status.ALARM
    assert alarm.z == pytest.approx(-5.0)
    complaints = stats.judge(Cell(0, 400), 0.02, Direction.AT_MOST, min_n=20)
    assert complaints.status is Status.OK  # no complaints is never bad
    assert stats.judge(Cell(25, 400), 0.02, Direction.AT_MOST, min_n=20).status is Status.ALARM


def test_judge_nps_uses_the_trinomial_variance() -> None:
    judged = stats.judge(Cell(50, 100, detractors=20), 0.30, Direction.AT_LEAST, min_n=20)
    assert judged.value == pytest.approx(0.30)
    assert judged.status is Status.OK
    assert judged.limits95 == pytest.approx((0.147, 0.453), abs=1e-3)
    poor = stats.judge(Cell(20, 100, detractors=40), 0.30, Direction.AT_LEAST, min_n=20)
    assert poor.status is Status.ALARM


def test_peer_model_sees_overdispersion_only_when_branches_really_differ() -> None:
    alike = [Cell(160, 200), Cell(158, 200), Cell(162, 200), Cell(161, 200), Cell(159, 200)]
    model = stats.peer_model(alike, min_n=20)
    assert model is not None
    assert model.pooled == pytest.approx(0.8)
    assert model.tau2 == 0.0
    spread = [Cell(100, 200), Cell(130, 200), Cell(160, 200), Cell(185, 200), Cell(198, 200)]
    wide = stats.peer_model(spread, min_n=20)
    assert wide is not None
    assert wide.phi > 1
    assert wide.tau2 > 0
    assert stats.peer_model([Cell(5, 10), Cell(160, 200)], min_n=20) is None  # one peer only


def test_cusum_weights_and_path_by_hand() -> None:
    fail, success = stats.cusum_weights(0.2, 2.0)
    assert fail == pytest.approx(math.log(2) - math.log(1.2))
    assert success == pytest.approx(-math.log(1.2))
    result = stats.bernoulli_cusum([(1, 1), (1, 1), (0, 1)], p0=0.2, h=10)
    assert result.path == pytest.approx([fail, 2 * fail, 2 * fail + success])
    assert result.signals == []


def test_cusum_signals_restarts_and_never_goes_below_zero() -> None:
    result = stats.bernoulli_cusum([(0, 50)] + [(1, 1)] * 10, p0=0.2, h=2.0)
    assert result.path[0] == 0.0
    assert result.signals == [4, 8]  # 4 failures reach 2.04; the chart then restarts
    with pytest.raises(ValueError, match="p0"):
        stats.cusum_weights(0.0)


@given(
    st.lists(st.integers(0, 1), min_size=1, max_size=60),
    st.floats(0.02, 0.5),
)
def test_grouped_cusum_of_single_contacts_is_the_contact_by_contact_chart(
    outcomes: list[int], p0: float
) -> None:
    fail, success = stats.cusum_weights(p0)
    value, path = 0.0, []
    for y in outcomes:
        value = max(0.0, value + (fail if y else success))
        path.append(value)
    grouped = stats.bernoulli_cusum([(y, 1) for y in outcomes], p0=p0, h=math.inf)
    assert grouped.path == pytest.approx(path)


targets = st.floats(0.01, 0.99)
sizes = st.integers(1, 5000)
levels = st.sampled_from(stats.LEVELS)


@given(targets, sizes, sizes, levels)
def test_limits_widen_as_the_sample_shrinks(t: float, n1: int, n2: int, level: float) -> None:
    small, large = sorted((n1, n2))
    low_small, high_small = stats.normal_limits(t, small, level)
    low_large, high_large = stats.normal_limits(t, large, level)
    assert low_small <= low_large + 1e-12
    assert high_small >= high_large - 1e-12


@given(targets, st.integers(20, 3000), st.integers(20, 3000), levels)
def test_exact_limits_widen_as_the_sample_shrinks_up_to_interpolation_jitter(
    t: float, n1: int, n2: int, level: float
) -> None:
    # Interpolation smooths the binomial's steps but not entirely: from one n to the next
    # a limit can move back by up to ~0.0013 (measured over t = 0.01…0.99, n = 20…600).
    small, large = sorted((n1, n2))
    low_small, high_small = stats.exact_limits(t, small, level)
    low_large, high_large = stats.exact_limits(t, large, level)
    assert low_small <= low_large + 0.002
    assert high_small >= high_large - 0.002


@given(targets, sizes, levels)
def test_limits_stay_in_the_unit_interval(t: float, n: int, level: float) -> None:
    low, high = stats.normal_limits(t, n, level)
    assert 0.0 <= low <= t <= high <= 1.0
    # Exact limits may both fall on one side of t when n·t is tiny: one event is then
    # already surprising.
    for low, high in (stats.exact_limits(t, n, level), stats.funnel_limits(t, n, level)):
        assert 0.0 <= low <= high <= 1.0


@given(targets, st.integers(20, 5000), levels)
def test_limits_contain_the_target_at_a_usable_sample_size(t: float, n: int, level: float) -> None:
    if n * min(t, 1 - t) >= 1:
        low, high = stats.funnel_limits(t, n, level)
        assert low <= t <= high


@given(targets, sizes, levels)
def test_normal_limits_are_symmetric_unless_clipped(t: float, n: int, level: float) -> None:
    low, high = stats.normal_limits(t, n, level)
    if low > 0.0 and high < 1.0:
        assert t - low == pytest.approx(high - t)


@given(targets, st.integers(20, 5000))
def test_the_998_limits_lie_outside_the_95_limits(t: float, n: int) -> None:
    low95, high95 = stats.funnel_limits(t, n, 0.95)
    low998, high998 = stats.funnel_limits(t, n, 0.998)
    assert low998 <= low95
    assert high998 >= high95


def test_the_exact_limits_cache_stays_bounded_and_never_forgets_what_a_call_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long-running worker sees a new peer centre every period; when the cache is full,
    a call mixing remembered and new (target, n) pairs still gets every limit, and they
    are the limits computed with no cache at all."""
    targets = np.array([0.0124, 0.02, 0.031, 0.047, 0.0124, 0.058, 0.02])
    sizes = np.array([20.0, 30.0, 25.0, 40.0, 20.0, 22.0, 31.0])
    monkeypatch.setattr(stats, "_EXACT_LIMITS", {})
    fresh = stats._exact_limits_many(targets, sizes, 0.95)
    monkeypatch.setattr(stats, "_EXACT_LIMITS", {})
    monkeypatch.setattr(stats, "EXACT_LIMITS_CACHE_SIZE", 3)
    stats._exact_limits_many(targets[:2], sizes[:2], 0.95)  # two pairs remembered
    for _ in range(3):  # remembered and new pairs together, past the bound, repeatedly
        low, high = stats._exact_limits_many(targets, sizes, 0.95)
        np.testing.assert_array_equal(low, fresh[0])
        np.testing.assert_array_equal(high, fresh[1])
        assert len(stats._EXACT_LIMITS) <= 3
