"""How the consistency pages write a metric's value, a verdict, a period and a history
line, in the active language."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template
from django.utils import formats
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from consistency import case_words
from consistency.models import (
    CHANNEL_SCOPES,
    CaseStatus,
    FlagStatus,
    Metric,
    PeriodKind,
)

register = template.Library()


@register.filter
def metric_value(value: float | None, metric: str) -> str:
    """82.4 % for a share (82,4 % in Indonesian), +31 for NPS, a dash without data."""
    if value is None:
        return "\u2013"
    if metric == Metric.NPS:
        return f"{value * 100:+.0f}"
    if metric == "rate":  # a complaint type's rate: small, two decimals (0.35 %)
        return f"{formats.number_format(value * 100, 2)} %"
    return f"{formats.number_format(value * 100, 1)} %"


@register.filter
def p_value(value: float) -> str:
    """Two significant digits in the language's numbers: 0.0031 (0,0031 in Indonesian)."""
    return f"{value:.2g}".replace(".", formats.get_format("DECIMAL_SEPARATOR"))


@register.filter
def status_of(judgement: Any) -> str:
    """The CSS status of a judgement: insufficient data when there is none."""
    return str(judgement.status) if judgement is not None else "insufficient"


def status_words_of(status: str) -> str:
    return {
        "ok": _("within limits"),
        "warning": _("warning (beyond 95 %)"),
        "alarm": _("alarm (beyond 99.8 %)"),
        "insufficient": _("insufficient data"),
    }[status]


@register.filter
def status_words(judgement: Any) -> str:
    return status_words_of(status_of(judgement))


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


@register.filter
def case_sentence(case: Any) -> str:
    """What a case is about, in the reader's language."""
    return case_words.case_sentence(case)


@register.simple_tag
def period_phrase(kind: str, start: date) -> str:
    """E.g. "ISO week starting 9 Nov 2026"."""
    day = formats.date_format(start)
    if kind == PeriodKind.MONTH:
        return _("Month starting %(day)s") % {"day": day}
    if kind == PeriodKind.DAY:
        return _("Day %(day)s") % {"day": day}
    return _("ISO week starting %(day)s") % {"day": day}


@register.simple_tag
def metric_cell(cell: Any) -> str:
    """A cell of the comparison: value, n and both verdicts, in words as well as colour.
    Built here rather than in an included template: a region's table has hundreds, and
    every part is a number or one of our own words, but for the peer group's name (a slug,
    escaped all the same)."""
    if cell is None:
        return mark_safe(  # noqa: S308
            f'<span class="cell status-none">\u2013<small>{escape(_("no data"))}</small></span>'
        )
    peers = ""
    if cell.peers is not None:
        who = _("peers (%(group)s)") % {"group": cell.peer_group} if cell.peer_group else _("peers")
        peers = (
            f'<small class="badge status-{status_of(cell.peers)}">'
            f"{escape(who)}: {escape(status_words(cell.peers))}</small>"
        )
    verdict = _("n %(n)s · vs standard: %(verdict)s") % {
        "n": int(cell.n),
        "verdict": status_words(cell.standard),
    }
    disputed = getattr(cell, "disputed", None)
    if disputed:  # QA reviews counted while their dispute is open: marked until settled
        words = ngettext("%(counter)s disputed", "%(counter)s disputed", disputed)
        peers += (
            f'<small class="badge status-warning">{escape(words % {"counter": disputed})}</small>'
        )
    return mark_safe(  # noqa: S308
        f'<span class="cell status-{status_of(cell.standard)}">'
        f"<span>{metric_value(cell.value, cell.metric)}</span>"
        f"<small>{escape(verdict)}</small>{peers}</span>"
    )


@register.simple_tag
def metric_cells_row(cells: list[Any]) -> str:
    """A whole table row's cells at once (one tag call per row, not per cell)."""
    return mark_safe("".join(f"<td>{metric_cell(cell)}</td>" for cell in cells))  # noqa: S308


# A history's steps and statuses as stored (English codes) and as the reader says them;
# in English they read as they always have ("acknowledge (open → acknowledged)").
def _action_word(action: str) -> str:
    words = {
        "opened": pgettext("history step", "opened"),
        "escalated": pgettext("history step", "escalated"),
        "reopened": pgettext("history step", "reopened"),
        "resolved": pgettext("history step", "resolved"),
        "withdrawn": pgettext("history step", "withdrawn"),
        "cleared": pgettext("history step", "cleared"),
        "acknowledge": pgettext("history step", "acknowledge"),
        "plan": pgettext("history step", "plan"),
        "monitor": pgettext("history step", "monitor"),
        "resolve": pgettext("history step", "resolve"),
        "note": pgettext("history step", "note"),
    }
    return words.get(action, action)


def _status_word(status: str) -> str:
    words = {
        "": pgettext("history status", "new"),
        CaseStatus.OPEN: pgettext("history status", "open"),
        CaseStatus.ACKNOWLEDGED: pgettext("history status", "acknowledged"),
        CaseStatus.ACTION_PLANNED: pgettext("history status", "action_planned"),
        CaseStatus.MONITORING: pgettext("history status", "monitoring"),
        CaseStatus.RESOLVED: pgettext("history status", "resolved"),
        CaseStatus.WITHDRAWN: pgettext("history status", "withdrawn"),
        FlagStatus.CLEARED: pgettext("history status", "cleared"),
    }
    return words.get(status, status)


@register.simple_tag
def event_line(event: Any, what: str) -> SafeString:
    """One step of a case's or a flag's history: when, who, from where, what, and why."""
    who = event.actor.username if event.actor else _("the engine")
    note = event.note if event.actor else case_words.engine_note(event.note)
    moved = ""
    if event.from_status != event.to_status:
        moved = f" ({_status_word(event.from_status)} → {_status_word(event.to_status)})"
    return format_html(
        "{} UTC · {} · {} · {}{}{}",
        formats.date_format(event.at, "DATETIME_FORMAT"),
        who,
        event.source_label,
        _action_word(event.action),
        moved,
        f": {note}" if note else "",
    )
