"""The chart figures leave room for their tick labels (the browser test measures them)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from consistency import charts
from consistency.models import Metric

MONDAYS = [date(2026, 9, 21) + timedelta(weeks=w) for w in range(8)]


def trend_points() -> list[dict[str, Any]]:
    return [
        {
            "period_start": monday,
            "value": 0.1,
            "target": 0.02,
            "limits95": (0.0, 0.04),
            "limits998": (0.0, 0.06),
            "n": 200,
            "status": "ok",
        }
        for monday in MONDAYS
    ]


FIGURES = {
    "trend": lambda: charts.trend_figure(trend_points(), Metric.COMPLAINTS),
    "index": lambda: charts.index_figure([{"period_start": m, "value": 0.9} for m in MONDAYS]),
    "cusum": lambda: charts.cusum_figure(
        {"days": MONDAYS, "value": [0.0] * 8, "h": [4.0] * 8, "signals": []}
    ),
    "funnel": lambda: charts.funnel_figure([], None, Metric.COMPLAINTS),
}


@pytest.mark.parametrize("name", FIGURES)
def test_every_chart_widens_its_margins_to_fit_the_axis_labels(name: str) -> None:
    layout = FIGURES[name]()["layout"]
    assert layout["xaxis"]["automargin"] is True
    assert layout["yaxis"]["automargin"] is True
