"""How the consistency pages write a metric's value."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

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


# Column headings short enough for six metrics side by side; the full name on hover and
# for screen readers.
HEADING_ABBREVIATIONS = {Metric.NPS: "NPS", Metric.CSAT: "CSAT 4-5"}


@register.filter
def metric_heading(metric: str) -> str:
    """A metric's column heading: its name, or an abbreviation titled with the name."""
    label = str(Metric(metric).label)
    short = HEADING_ABBREVIATIONS.get(Metric(metric))
    if short is None:
        return label
    return format_html('<abbr title="{}">{}</abbr>', label, short)


@register.filter
def channel_label(value: str) -> str:
    return str(dict(CHANNEL_SCOPES).get(value, value))


@register.simple_tag
def metric_cell(cell: Any) -> str:
    """A cell of the comparison: value, n and both verdicts, in words as well as colour.
    Built here rather than in an included template: a region's table has hundreds, and
    every part is a number or one of our own words, but for the peer group's name (a slug,
    escaped all the same)."""
    if cell is None:
        return mark_safe('<span class="cell status-none">\u2013<small>no data</small></span>')
    peers = ""
    if cell.peers is not None:
        peers = (
            f'<small class="badge status-{status_of(cell.peers)}">'
            f"{'peers (' + escape(cell.peer_group) + ')' if cell.peer_group else 'peers'}: "
            f"{status_words(cell.peers)}</small>"
        )
    return mark_safe(  # noqa: S308
        f'<span class="cell status-{status_of(cell.standard)}">'
        f"<span>{metric_value(cell.value, cell.metric)}</span>"
        f"<small>n {int(cell.n)} · vs standard: {status_words(cell.standard)}</small>{peers}</span>"
    )


@register.simple_tag
def metric_cells_row(cells: list[Any]) -> str:
    """A whole table row's cells at once (one tag call per row, not per cell)."""
    return mark_safe("".join(f"<td>{metric_cell(cell)}</td>" for cell in cells))  # noqa: S308
