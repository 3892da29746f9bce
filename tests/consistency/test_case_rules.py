"""The multiple-testing rule behind cases, checked against published and exact values
(no database), and by simulation of a small chain."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom

from consistency import case_rules
from consistency.stats import Direction

# Benjamini & Hochberg (1995), section 4: fifteen p-values, four discoveries at q = 0.05.
BH_1995 = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240,
    0.4262, 0.5719, 0.6528, 0.7590, 1.0000,
]  # fmt: skip


def test_benjamini_hochberg_reproduces_the_papers_example() -> None:
    found = case_rules.benjamini_hochberg(BH_1995[::-1], len(BH_1995), 0.05)
    assert sorted(np.array(BH_1995[::-1])[found].tolist()) == BH_1995[:4]


def test_tests_not_listed_still_count_in_the_family() -> None:
    assert case_rules.benjamini_hochberg([0.001], 10, 0.05).tolist() == [True]
    assert case_rules.benjamini_hochberg([0.001], 100, 0.05).tolist() == [False]
    assert case_rules.benjamini_hochberg([], 100, 0.05).tolist() == []
    with pytest.raises(ValueError, match="q must"):
        case_rules.benjamini_hochberg([0.1], 1, 1.5)


def test_persistence_is_the_chance_two_of_three_periods_fall_so_low() -> None:
    t = 0.1
    exact = 3 * t**2 * (1 - t) + t**3
    assert case_rules.persistence_p([t])[0] == pytest.approx(exact)
    rng = np.random.default_rng(4)
    draws = rng.uniform(size=(200_000, 3))
    assert np.mean((draws <= t).sum(axis=1) >= 2) == pytest.approx(exact, rel=0.03)


def test_p_values_are_exact_binomial_tails_not_normal_ones() -> None:
    # 3 complaints of 25 against 1.6 %: z = 4.1, but the chance of 3 or more is 0.72 %.
    [p] = case_rules.bad_side_p([3], [25], [0.016], [0.0], Direction.AT_MOST)
    assert p == pytest.approx(binom.sf(2, 25, 0.016))
    assert p == pytest.approx(0.0072, abs=0.0001)
    [low] = case_rules.bad_side_p([60], [100], [0.8], [0.0], Direction.AT_LEAST)
    assert low == pytest.approx(binom.cdf(60, 100, 0.8))


def test_between_branch_variance_makes_the_peer_p_value_larger() -> None:
    plain, spread = case_rules.bad_side_p(
        [70, 70], [100, 100], [0.8, 0.8], [0.0, 0.002], Direction.AT_LEAST
    )
    assert spread > plain
    [almost] = case_rules.bad_side_p([70], [100], [0.8], [1e-9], Direction.AT_LEAST)
    assert almost == pytest.approx(plain, rel=1e-3)


def test_a_chart_that_keeps_signalling_tells_itself_from_chance() -> None:
    assert case_rules.cusum_p(0) == 1.0
    assert case_rules.cusum_p(1) > 0.1
    assert case_rules.cusum_p(6) < 1e-6


def _simulation() -> object:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "case_simulation.py"
    spec = importlib.util.spec_from_file_location("case_simulation", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["case_simulation"] = module
    spec.loader.exec_module(module)
    return module


def test_a_simulated_chain_opens_almost_no_false_cases_and_catches_real_drops() -> None:
    simulation = _simulation()
    calm = simulation.simulate(branches=300, weeks=26, planted=0, seed=3)  # type: ignore[attr-defined]
    assert calm.per_100_per_quarter(calm.cases_opened, calm.branches) <= 1
    today = calm.per_100_per_quarter(calm.alarms_today, calm.branches)
    assert today > 50  # what the weekly flags alone would have asked of managers
    planted = simulation.simulate(branches=300, weeks=26, planted=15, seed=4)  # type: ignore[attr-defined]
    delays = planted.delays_new["drop"]  # weeks from the onset, six weeks observed
    assert np.median(delays) <= 2
    assert all(np.isfinite(delays))
