"""The seeded chain standard (SPEC §3): one place for its values.

Migration 0002 keeps its own copy (a migration must not change when this file does);
``tests/consistency/test_defaults.py`` checks the two agree. Tests and benchmarks import
this module, never a migration.
"""

from __future__ import annotations

from datetime import date
from typing import Any

EFFECTIVE_FROM = date(2000, 1, 1)
MIN_N = 20
CHANNELS = ["in_person", "phone", "email", "chat"]
RESPONSE_THRESHOLDS = {"in_person": 60, "phone": 30, "chat": 60, "email": 14_400}
# metric: (target, direction, the channels it applies to besides "all")
TARGETS: dict[str, tuple[float, str, list[str]]] = {
    "response_within_standard": (0.80, "at_least", CHANNELS),
    "first_contact_resolution": (0.75, "at_least", CHANNELS),
    "abandonment_rate": (0.05, "at_most", ["in_person", "phone", "chat"]),
    "complaint_rate": (0.02, "at_most", CHANNELS),
    "csat_satisfied": (0.85, "at_least", CHANNELS),
    "nps": (0.30, "at_least", CHANNELS),
    # Quality reviews (SPEC §8), added by migration 0010.
    "qa_pass": (0.80, "at_least", CHANNELS),
    "qa_critical_fail": (0.05, "at_most", CHANNELS),
    # The customer's word on the handling of a complaint (SPEC §10), added by migration 0013.
    "complaint_handling_satisfied": (0.80, "at_least", CHANNELS),
}
# A branch's reviews are a sample of its contacts (a few per agent a week), and only some
# complainants answer the handling survey: both are judged from fewer than its contacts.
MIN_N_BY_METRIC = {"qa_pass": 10, "qa_critical_fail": 10, "complaint_handling_satisfied": 10}
# CUSUM decision thresholds, calibrated by simulation (benchmarks/cusum_calibration.py)
# for about one false alarm per branch and metric a year at typical volume.
CUSUM_H = {
    "response_within_standard": 4.3,
    "first_contact_resolution": 4.3,
    "abandonment_rate": 3.8,
    "complaint_rate": 3.4,
    "csat_satisfied": 3.8,
    "nps": 4.0,  # not charted: NPS is not a Bernoulli outcome
    # Not simulated at review volumes yet: the values of the metrics with like targets.
    "qa_pass": 4.3,
    "qa_critical_fail": 3.8,
    "complaint_handling_satisfied": 4.3,  # like the other "at least 80 %" metrics
}


def target_rows() -> list[dict[str, Any]]:
    """The targets of the seeded standard, one dict of field values each."""
    return [
        {
            "metric": metric,
            "channel": channel,
            "target": target,
            "direction": direction,
            "min_n": MIN_N_BY_METRIC.get(metric, MIN_N),
            "threshold_seconds": RESPONSE_THRESHOLDS.get(channel)
            if metric == "response_within_standard"
            else None,
            "cusum_h": CUSUM_H[metric],
        }
        for metric, (target, direction, channels) in TARGETS.items()
        for channel in ["all", *channels]
    ]


def standard_create(standard_model: Any, target_model: Any) -> Any:
    """Make the seeded standard with these models (the app's, or a migration's)."""
    standard = standard_model.objects.create(
        name="Chain standard", effective_from=EFFECTIVE_FROM, notes="SPEC §3 defaults."
    )
    target_model.objects.bulk_create(
        target_model(standard=standard, **row) for row in target_rows()
    )
    return standard
