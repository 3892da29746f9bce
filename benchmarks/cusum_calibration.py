"""The CUSUM thresholds of the seeded standard, checked by simulation.

Usage:

    .venv/bin/python benchmarks/cusum_calibration.py [--contacts-per-day 25] [--branches 2000]

For every metric the engine charts, simulates ``--branches`` in-control branch-years at a
typical branch's daily volume (``--contacts-per-day`` times the share of contacts the
metric counts), then prints: the ``h`` that gives one false alarm per branch-metric a
year, the seeded ``h`` and its false-alarm rate at half, the typical and three times the
typical volume, and the median days a chart takes to signal once the odds of failure
double. Pure simulation: no database.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consistency.calibration import (  # noqa: E402
    CHARTED,
    TYPICAL_CONTACTS_PER_DAY,
    calibrate_h,
    days_to_signal,
    false_alarms_per_year,
    simulate,
)
from consistency.defaults import CUSUM_H  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts-per-day", type=float, default=TYPICAL_CONTACTS_PER_DAY)
    parser.add_argument("--branches", type=int, default=2000, help="branch-years simulated")
    args = parser.parse_args()

    started = time.perf_counter()
    print(
        f"in-control branch-years per cell: {args.branches}; typical volume "
        f"{args.contacts_per_day:g} contacts a day; false alarms per branch-metric-year"
    )
    header = (
        f"{'metric':<26} {'p0':>5} {'n/day':>6} {'h for 1/yr':>10} {'seeded h':>8} "
        f"{'at 0.5x':>7} {'at 1x':>6} {'at 3x':>6} {'days to signal (OR 2)':>22}"
    )
    print(header)
    for metric, (p0, share) in CHARTED.items():
        daily = args.contacts_per_day * share
        typical = simulate(p0, daily, branches=args.branches)
        calibrated = calibrate_h(typical, p0)
        h = CUSUM_H[metric]
        rates = [
            false_alarms_per_year(simulate(p0, daily * f, branches=args.branches), p0, h)
            for f in (0.5, 1.0, 3.0)
        ]
        shifted = 2 * p0 / (1 + p0)  # the odds of failure doubled
        delay = days_to_signal(simulate(shifted, daily, branches=args.branches), p0, h)
        print(
            f"{metric:<26} {p0:>5.2f} {daily:>6.1f} {calibrated:>10.2f} {h:>8.2f} "
            f"{rates[0]:>7.2f} {rates[1]:>6.2f} {rates[2]:>6.2f} {np.median(delay):>22.0f}"
        )
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
