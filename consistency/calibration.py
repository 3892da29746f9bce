"""Choosing the CUSUM threshold ``h`` by simulation (pure: numpy only, no Django).

A branch *in control* fails at exactly the standard's rate ``p0`` every day. Its chart
still crosses any ``h`` now and then: :func:`false_alarms_per_year` measures how often,
for a given daily volume, by running many simulated branch-years through the same
grouped Bernoulli CUSUM the engine runs (one step per day, reset after a signal).
:func:`calibrate_h` searches the ``h`` that gives a wanted rate (one a year by default).
The same random draws serve every ``h`` tried, so the search sees a smooth curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consistency.stats import cusum_increments, cusum_run

DAYS_PER_YEAR = 365
# A typical branch's contacts a day (the demo chain's median branch).
TYPICAL_CONTACTS_PER_DAY = 25.0
# The charted metrics: (in-control failure rate p0 under the default standard, share of a
# branch's contacts the metric counts). The shares are the demo chain's: waits known on
# ~90 % of contacts, abandonment only on phone, chat and face to face, CSAT on ~30 %.
CHARTED = {
    "response_within_standard": (0.20, 0.90),
    "first_contact_resolution": (0.25, 0.95),
    "abandonment_rate": (0.05, 0.80),
    "complaint_rate": (0.02, 1.00),
    "csat_satisfied": (0.15, 0.30),
}


@dataclass(frozen=True)
class Simulation:
    """Daily (failures, contacts) of ``branches`` in-control branch-years."""

    failures: np.ndarray  # shape (days, branches)
    contacts: np.ndarray

    @property
    def years(self) -> float:
        days, branches = self.contacts.shape
        return days * branches / DAYS_PER_YEAR


def simulate(
    p0: float, daily_n: float, *, branches: int = 2000, years: int = 1, seed: int = 1
) -> Simulation:
    """In-control days: contacts ~ Poisson(daily_n), failures ~ Binomial(contacts, p0)."""
    rng = np.random.default_rng(seed)
    contacts = rng.poisson(daily_n, size=(DAYS_PER_YEAR * years, branches))
    return Simulation(rng.binomial(contacts, p0), contacts)


def _increments(simulation: Simulation, p0: float, odds_ratio: float) -> np.ndarray:
    return cusum_increments(simulation.failures, simulation.contacts, p0, odds_ratio)


def false_alarms_per_year(
    simulation: Simulation, p0: float, h: float, odds_ratio: float = 2.0
) -> float:
    """Signals per branch-year of the grouped CUSUM with threshold ``h``."""
    _, signals = cusum_run(_increments(simulation, p0, odds_ratio), h)
    return int(signals.sum()) / simulation.years


def calibrate_h(
    simulation: Simulation,
    p0: float,
    per_year: float = 1.0,
    odds_ratio: float = 2.0,
    low: float = 0.5,
    high: float = 30.0,
    tolerance: float = 0.01,
) -> float:
    """The smallest ``h`` (to ``tolerance``) whose false-alarm rate is at most ``per_year``."""
    if false_alarms_per_year(simulation, p0, high, odds_ratio) > per_year:
        raise ValueError(f"even h = {high} alarms more than {per_year} times a year")
    while high - low > tolerance:
        middle = (low + high) / 2
        if false_alarms_per_year(simulation, p0, middle, odds_ratio) > per_year:
            low = middle
        else:
            high = middle
    return high


def days_to_signal(
    simulation: Simulation, p0: float, h: float, odds_ratio: float = 2.0
) -> np.ndarray:
    """For each simulated branch, the day (1-based) its chart first signals; branches that
    never signal count as the simulation's length."""
    _, signals = cusum_run(_increments(simulation, p0, odds_ratio), h)
    days = signals.shape[0]
    return np.where(signals.any(axis=0), signals.argmax(axis=0) + 1, days)
