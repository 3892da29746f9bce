"""How the consistency pages write a metric's value."""

from __future__ import annotations

from typing import Any

from django import template

from consistency.models import CHANNEL_SCOPES, Metric

register = template.Library()


@register.filter
def metric_value(value: float | None, metric: str) -> str:
    """82.4 % for a share, +31 for NPS, a dash without data."""
    if value is None:
        return "\u2013"
    if metric == Metric.NPS:
        return f"{value * 100:+.0f}"
    return f"{value * 100:.1f} %"


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def status_of(judgement: Any) -> str:
    """The CSS status of a judgement: insufficient data when there is none."""
    return str(judgement.status) if judgement is not None else "insufficient"


STATUS_WORDS = {
    "ok": "within limits",
    "warning": "warning (beyond 95 %)",
    "alarm": "alarm (beyond 99.8 %)",
    "insufficient": "insufficient data",
}


@register.filter
def status_words(judgement: Any) -> str:
    return STATUS_WORDS[status_of(judgement)]


@register.filter
def channel_label(value: str) -> str:
    return str(dict(CHANNEL_SCOPES).get(value, value))
