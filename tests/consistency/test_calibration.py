"""The CUSUM thresholds the standard is seeded with keep their promise: about one false
alarm per branch and metric a year at typical volume, and a quick signal on real drift."""

from __future__ import annotations

import numpy as np
import pytest

from consistency.calibration import (
    CHARTED,
    calibrate_h,
    days_to_signal,
    false_alarms_per_year,
    simulate,
)
from consistency.calibration import (
    TYPICAL_CONTACTS_PER_DAY as TYPICAL,
)
from tests.consistency import SEEDED_CUSUM_H


def test_calibration_finds_the_threshold_for_one_false_alarm_a_year() -> None:
    simulation = simulate(0.2, 20, branches=1000)
    h = calibrate_h(simulation, 0.2, per_year=1.0)
    assert false_alarms_per_year(simulation, 0.2, h) <= 1.0
    assert false_alarms_per_year(simulation, 0.2, h - 0.1) > 1.0
    rates = [false_alarms_per_year(simulation, 0.2, x) for x in (2.0, 3.0, 4.0, 6.0)]
    assert rates == sorted(rates, reverse=True)


@pytest.mark.parametrize("metric", CHARTED)
def test_seeded_thresholds_alarm_about_once_a_year_in_control(metric: str) -> None:
    p0, share = CHARTED[metric]
    # Fresh draws (another seed than any calibration run), so this is a check, not a replay.
    simulation = simulate(p0, TYPICAL * share, branches=1500, seed=99)
    assert 0.6 <= false_alarms_per_year(simulation, p0, SEEDED_CUSUM_H[metric]) <= 1.3


def test_a_doubling_of_the_failure_odds_is_signalled_within_weeks() -> None:
    p0, h = 0.2, SEEDED_CUSUM_H["response_within_standard"]
    drifted = simulate(2 * p0 / (1 + p0), TYPICAL * 0.9, branches=500, seed=3)
    in_control = simulate(p0, TYPICAL * 0.9, branches=500, seed=4)
    assert np.median(days_to_signal(drifted, p0, h)) <= 7
    assert np.median(days_to_signal(in_control, p0, h)) >= 180
