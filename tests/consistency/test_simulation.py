"""Simulated chains: the tests stay quiet on branches in control, catch a real drop fast,
and the CUSUM sees a slow slide before the weekly limits do (no database)."""

from __future__ import annotations

import numpy as np

from consistency import stats
from consistency.stats import Direction, Status
from tests.consistency import SEEDED_CUSUM_H

BRANCHES, WEEKS, MIN_N = 200, 26, 20
H_RESPONSE = SEEDED_CUSUM_H["response_within_standard"]


def chain_week(
    rng: np.random.Generator, volumes: np.ndarray, true_rates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = rng.poisson(volumes)
    return rng.binomial(n, true_rates), n


def peer_alarms(x: np.ndarray, n: np.ndarray, *, corrected: bool = True) -> np.ndarray:
    model = stats.peer_model_many(x, n, MIN_N)
    assert model is not None
    tau2 = model.tau2 if corrected else 0.0
    judged = stats.judge_many(x, n, model.pooled, Direction.AT_LEAST, MIN_N, tau2)
    return np.array([s is Status.ALARM for s in judged.status])


def test_in_control_branches_rarely_alarm_against_their_peers() -> None:
    rng = np.random.default_rng(7)
    volumes = rng.integers(30, 500, BRANCHES)
    # In control: the chain's rate give or take a point of ordinary branch variety.
    true_rates = 0.85 + rng.normal(0, 0.01, BRANCHES)
    alarms = 0
    for _ in range(WEEKS):
        x, n = chain_week(rng, volumes, true_rates)
        alarms += int(peer_alarms(x, n).sum())
    assert alarms / (BRANCHES * WEEKS) <= 0.005


def test_the_overdispersion_correction_keeps_real_variety_from_flooding_the_queue() -> None:
    rng = np.random.default_rng(5)
    volumes = rng.integers(30, 500, BRANCHES)
    true_rates = np.clip(0.85 + rng.normal(0, 0.03, BRANCHES), 0, 1)
    corrected = uncorrected = 0
    for _ in range(WEEKS):
        x, n = chain_week(rng, volumes, true_rates)
        corrected += int(peer_alarms(x, n).sum())
        uncorrected += int(peer_alarms(x, n, corrected=False).sum())
    assert uncorrected > 2 * corrected


def test_two_points_of_true_variety_alarm_against_peers_at_about_the_nominal_rate() -> None:
    """Branches spread uniformly 2 points either side of the chain: one-sided alarms should
    come at about 0.1 % of branch-weeks. With the winsorised phi left uncorrected (a third
    too small) it was 0.3 %."""
    rng = np.random.default_rng(1)
    volumes = np.clip(rng.lognormal(np.log(150), 0.8, 1000), 10, 3000)
    true_rates = 0.80 + rng.uniform(-0.02, 0.02, 1000)
    alarms = cells = 0
    for _ in range(WEEKS):
        x, n = chain_week(rng, volumes, true_rates)
        alarms += int(peer_alarms(x, n).sum())
        cells += int((n >= MIN_N).sum())
    assert alarms / cells <= 0.002


def test_winsorising_is_corrected_for_what_it_does_to_chance_alone() -> None:
    rng = np.random.default_rng(2)
    phis = [stats.overdispersion_phi(rng.normal(size=400)) for _ in range(200)]
    assert abs(np.mean(phis) - 1) < 0.02
    assert abs(stats.winsorised_normal_variance(0.1) - 0.6787) < 1e-4


def test_a_ten_point_drop_at_a_busy_branch_is_flagged_within_two_weeks() -> None:
    rng = np.random.default_rng(11)
    caught = 0
    runs = 100
    for _ in range(runs):
        volumes = rng.integers(30, 500, BRANCHES)
        volumes[0] = 250
        true_rates = 0.85 + rng.normal(0, 0.01, BRANCHES)
        true_rates[0] = 0.75  # ten points below the chain
        for _week in range(2):
            x, n = chain_week(rng, volumes, true_rates)
            against_standard = stats.judge_many(
                x[:1], n[:1], 0.80, Direction.AT_LEAST, MIN_N
            ).status[0]
            if peer_alarms(x, n)[0] or against_standard is Status.ALARM:
                caught += 1
                break
    assert caught >= 0.9 * runs


def test_the_cusum_catches_a_slow_slide_before_the_weekly_limits() -> None:
    rng = np.random.default_rng(3)
    cusum_days, weekly_days = [], []
    for _ in range(200):
        chart_value, cusum_day, weekly_day = 0.0, None, None
        for week in range(26):
            rate = 0.82 - 0.015 * week  # sliding a point and a half a week
            daily_n = rng.poisson(30, 7)
            daily_ok = rng.binomial(daily_n, rate)
            for day in range(7):
                chart = stats.bernoulli_cusum(
                    [(int(daily_n[day] - daily_ok[day]), int(daily_n[day]))],
                    p0=0.20,
                    h=H_RESPONSE,
                    start=chart_value,
                )
                chart_value = chart.last
                if chart.signals and cusum_day is None:
                    cusum_day = week * 7 + day + 1
            judged = stats.judge_many(
                np.array([daily_ok.sum()]),
                np.array([daily_n.sum()]),
                0.80,
                Direction.AT_LEAST,
                MIN_N,
            )
            if judged.status[0] is Status.ALARM and weekly_day is None:
                weekly_day = (week + 1) * 7  # known at the end of the week
        cusum_days.append(cusum_day or 26 * 7)
        weekly_days.append(weekly_day or 26 * 7)
    assert np.median(cusum_days) < np.median(weekly_days)
    assert np.mean(np.array(cusum_days) < np.array(weekly_days)) > 0.7
