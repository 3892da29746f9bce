"""Plotly figures (plain dicts, drawn by the page's own copy of plotly.js) for the
consistency pages. Each chart's numbers are also on the page as a table."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.formats import get_format
from django.utils.translation import gettext as _

from consistency.models import Metric
from consistency.selectors import FunnelCurves, MetricCell

COLOURS = {"ok": "#1b5e2a", "warning": "#b07800", "alarm": "#c0392b", "insufficient": "#8a919e"}
LAYOUT: dict[str, Any] = {
    "margin": {"l": 56, "r": 16, "t": 48, "b": 48},
    "font": {"family": "system-ui, sans-serif", "size": 13},
    "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    "hovermode": "closest",
    "paper_bgcolor": "#fff",
    "plot_bgcolor": "#fff",
}


def _axis(**options: Any) -> dict[str, Any]:
    """An axis that widens the margins to fit its tick labels: the last date (tilted on a
    narrow chart) would otherwise be cut off at the right edge."""
    return {"automargin": True, **options}


def _layout() -> dict[str, Any]:
    """The common layout, with the active language's decimal and thousands separators for
    the axes and hover labels (the figure's numbers themselves stay JSON numbers)."""
    separators = get_format("DECIMAL_SEPARATOR") + get_format("THOUSAND_SEPARATOR")
    return {**LAYOUT, "separators": separators}


def _scale(value: float | None) -> float | None:
    """Shares as percent, NPS as points from -100 to 100: both are the value times 100."""
    return None if value is None else round(value * 100, 2)


def _axis_title(metric: str) -> str:
    return "NPS" if metric == Metric.NPS else "%"


def _line(name: str, x: list[Any], y: list[Any], dash: str, colour: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": y,
        "line": {"dash": dash, "color": colour, "width": 1.5},
        "hoverinfo": "skip",
    }


def funnel_figure(cells: list[MetricCell], curves: FunnelCurves | None, metric: str) -> dict:
    """Every branch a point (x: contacts, y: value) inside the target's and the peers'
    95 % and 99.8 % limits."""
    data: list[dict[str, Any]] = []
    if curves is not None:
        n = curves.n
        for key, name, dash in (
            ("95", _("Standard 95 %"), "dash"),
            ("998", _("Standard 99.8 %"), "solid"),
        ):
            for side in ("lower", "upper"):
                data.append(
                    {
                        **_line(
                            name,
                            n,
                            [_scale(v) for v in curves.standard[f"{side}{key}"]],
                            dash,
                            "#1f5fbf",
                        ),
                        "showlegend": side == "lower",
                        "legendgroup": name,
                    }
                )
        if curves.peers:
            for side in ("lower", "upper"):
                data.append(
                    {
                        **_line(
                            _("Peers 95 %"),
                            n,
                            [_scale(v) for v in curves.peers[f"{side}95"]],
                            "dot",
                            "#7a3db8",
                        ),
                        "showlegend": side == "lower",
                        "legendgroup": "peers",
                    }
                )
        data.append(
            _line(_("Target"), [n[0], n[-1]], [_scale(curves.target)] * 2, "solid", "#14213d")
        )
    shown = [c for c in cells if c.n]
    data.append(
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": _("Branches"),
            "x": [c.n for c in shown],
            "y": [_scale(c.value) for c in shown],
            "text": [c.branch.code for c in shown],
            "textposition": "top center",
            "textfont": {"size": 10},
            "marker": {
                "size": 9,
                "color": [
                    COLOURS[str(c.standard.status) if c.standard else "insufficient"] for c in shown
                ],
                "line": {"width": 1, "color": "#fff"},
            },
            "hovertemplate": "%{text}: %{y} (n=%{x})<extra></extra>",
        }
    )
    return {
        "data": data,
        "layout": {
            **_layout(),
            "xaxis": _axis(title={"text": _("Contacts (n)")}, type="log"),
            "yaxis": _axis(title={"text": _axis_title(metric)}),
        },
    }


def trend_figure(points: list[dict[str, Any]], metric: str) -> dict:
    """A metric's value per period against the target and its limits (which widen when a
    period has fewer contacts); periods that were a case's evidence are diamonds."""
    x = [p["period_start"].isoformat() for p in points]

    def limit(key: str, side: int) -> list[float | None]:
        return [_scale(p[key][side]) if p[key] else None for p in points]

    data = [
        _line(_("Limit 99.8 %"), x, limit("limits998", 0), "solid", "#c0392b"),
        _line(_("Limit 95 %"), x, limit("limits95", 0), "dash", "#b07800"),
        _line(_("Limit 95 % (upper)"), x, limit("limits95", 1), "dash", "#b07800"),
        _line(_("Limit 99.8 % (upper)"), x, limit("limits998", 1), "solid", "#c0392b"),
        _line(_("Target"), x, [_scale(p["target"]) for p in points], "dot", "#14213d"),
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": _("Branch"),
            "x": x,
            "y": [_scale(p["value"]) for p in points],
            "line": {"color": "#1f5fbf", "width": 2.5},
            "marker": {
                "size": [12 if p.get("evidence") else 8 for p in points],
                "symbol": ["diamond" if p.get("evidence") else "circle" for p in points],
                "color": [COLOURS[str(p["status"])] for p in points],
            },
            "customdata": [p["n"] for p in points],
            "hovertemplate": "%{x}: %{y} (n=%{customdata})<extra></extra>",
        },
    ]
    for trace in data[2:4]:
        trace["showlegend"] = False
    for trace in data[:5]:  # limits stay visible even for a single period
        trace["mode"] = "lines+markers"
        trace["marker"] = {"size": 4, "color": trace["line"]["color"]}
    return {
        "data": data,
        "layout": {
            **_layout(),
            # One tick per period, labelled by its first day (a date axis would invent
            # hours between the weeks).
            "xaxis": _axis(type="category"),
            "yaxis": _axis(title={"text": _axis_title(metric)}),
            "height": 300,
        },
    }


def cusum_figure(chart: dict[str, Any]) -> dict:
    """The CUSUM value day by day with its decision threshold; signals marked."""
    days = [d.isoformat() for d in chart["days"]]
    signals: list[date] = chart["signals"]
    by_day = dict(zip(chart["days"], chart["value"], strict=True))
    return {
        "data": [
            _line(_("Threshold h"), days, chart["h"], "dash", "#c0392b"),
            {
                "type": "scatter",
                "mode": "lines",
                "name": "CUSUM",
                "x": days,
                "y": [round(v, 3) for v in chart["value"]],
                "line": {"color": "#1f5fbf"},
            },
            {
                "type": "scatter",
                "mode": "markers",
                "name": _("Signal"),
                "x": [d.isoformat() for d in signals],
                "y": [round(by_day[d], 3) for d in signals],
                "marker": {"size": 10, "symbol": "x", "color": "#c0392b"},
            },
        ],
        "layout": {
            **_layout(),
            "xaxis": _axis(),
            "yaxis": _axis(title={"text": "CUSUM"}, rangemode="tozero"),
            "height": 240,
        },
    }


def index_figure(rows: list[dict[str, Any]]) -> dict:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": _("Consistency index"),
                "x": [r["period_start"].isoformat() for r in rows],
                "y": [_scale(r["value"]) for r in rows],
                "line": {"color": "#1f5fbf"},
            }
        ],
        "layout": {
            **_layout(),
            "xaxis": _axis(),
            "yaxis": _axis(title={"text": _("Cells inside the peer limits (%)")}, range=[0, 100]),
            "height": 240,
        },
    }
