"""How a case is put in words and ranked: the sentence that says what diverges, and the
priority score the queue's order stands for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from consistency.models import (
    ALL_CHANNELS,
    CHANNEL_SCOPES,
    QA_METRICS,
    Case,
    Metric,
    PeriodKind,
    Severity,
    metric_label,
)
from consistency.selectors import moment_breakdown, period_bounds
from quality.selectors import item_breakdown

CHANNEL_LABELS = dict(CHANNEL_SCOPES)
WEEK = timedelta(days=7)


def channel_order(channel: str) -> tuple[int, str]:
    return (0 if channel == ALL_CHANNELS else 1, channel)


def priority_score(case: Case) -> float:
    """Higher first: alarm-level evidence, then |z|, then the periods it spans, then
    volume and critical moments (the queue sorts on the same fields in that order)."""
    return round(
        (1 - case.rank) * 1000
        + min(case.abs_z, 9.99) * 50
        + min(case.periods, 12) * 2
        + min(case.n, 1000) / 1000
        + min(case.critical_moments, 10) / 100,
        3,
    )


def share(metric: str, value: float | None) -> str:
    """A metric's value as people say it: 74 %, or NPS +30 (in the active language's
    numbers: 7,4 % in Indonesian)."""
    if value is None:
        return "—"
    if metric == Metric.NPS:
        return f"{value * 100:+.0f}"
    percent = value * 100
    return f"{number_format(percent, 1)} %" if percent < 10 else f"{percent:.0f} %"


def summary_facts(case: Case, weeks: Sequence[date]) -> dict[str, Any]:
    """What the summary says beyond the case's own fields: how many of the last weeks hold
    evidence and the worst moment of truth. Kept on the case (``wording``) so the page can
    word the summary in the reader's language."""
    recent = [w for w in weeks if w > case.last_period - 12 * WEEK]
    return {"recent": len(recent), "moment": _worst_moment(case), "item": _worst_item(case)}


def case_sentence(case: Case) -> str:
    """The case's summary in the active language; the stored one for a case the engine has
    not reworded since (it has no facts yet)."""
    if not case.wording:
        return case.summary
    return case_summary(case, case.wording)


def _listed(items: list[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return _("%(items)s and %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def case_summary(case: Case, facts: dict[str, Any]) -> str:
    """In the active language, e.g. "Complaint rate at eas-04: 7.4 % (11 of 149) against a
    standard of 2.0 % and peers at 1.8 %, alarming in 10 of the last 12 weeks, all
    channels"."""
    head = _("%(metric)s at %(branch)s: %(value)s (%(x)s of %(n)s)") % {
        "metric": metric_label(case.metric),
        "branch": case.branch.code,
        "value": share(case.metric, case.value),
        "x": case.x,
        "n": case.n,
    }
    against = []
    if case.target is not None:
        against.append(_("a standard of %(value)s") % {"value": share(case.metric, case.target)})
    if case.peer_value is not None:
        value = share(case.metric, case.peer_value)
        if case.peer_group:
            against.append(
                _("peers (%(group)s branches) at %(value)s")
                % {"group": case.peer_group, "value": value}
            )
        else:
            against.append(_("peers at %(value)s") % {"value": value})
    if against:
        head = _("%(cell)s against %(against)s") % {"cell": head, "against": _listed(against)}
    parts = [head]
    span = min(12, (case.last_period - case.first_period).days // 7 + 1)
    count = min(case.alarm_periods or int(facts.get("recent", 0)), span)
    if case.alarm_periods:
        strength = ngettext(
            "alarming in %(count)s of the last %(span)s week",
            "alarming in %(count)s of the last %(span)s weeks",
            span,
        )
    else:
        strength = ngettext(
            "flagged in %(count)s of the last %(span)s week",
            "flagged in %(count)s of the last %(span)s weeks",
            span,
        )
    parts.append(strength % {"count": count, "span": span})
    channels = [str(CHANNEL_LABELS[c]).lower() for c in case.channels if c != ALL_CHANNELS]
    named = _listed(channels)
    if ALL_CHANNELS in case.channels and len(channels) == len(CHANNEL_LABELS) - 1:
        parts.append(_("on every channel"))
    elif ALL_CHANNELS in case.channels:
        parts.append(
            _("all channels, most on %(channels)s") % {"channels": named}
            if channels
            else _("all channels")
        )
    elif channels:
        parts.append(_("on %(channels)s") % {"channels": named})
    if moment := facts.get("moment"):
        parts.append(_("worst at '%(moment)s'") % {"moment": moment})
    if item := facts.get("item"):
        name = item["id"] if translation.get_language() == "id" and item["id"] else item["en"]
        parts.append(
            _("most failed item '%(item)s' (%(failed)s of %(n)s reviews)")
            % {"item": name, "failed": item["failed"], "n": item["n"]}
        )
    return ", ".join(parts)


def _worst_moment(case: Case) -> str | None:
    """For complaints and low CSAT: the moment of truth they came from most in the last
    week of evidence (critical moments first), if any."""
    if case.metric not in {Metric.COMPLAINTS, Metric.CSAT}:
        return None
    rows = moment_breakdown(branch=case.branch, kind=PeriodKind.WEEK, period_start=case.last_period)
    count = "complaints" if case.metric == Metric.COMPLAINTS else "csat_low"
    hit = [r for r in rows if r[count]]
    return str(hit[0]["moment"].name) if hit else None


def case_items(case: Case) -> list[dict[str, Any]]:
    """How often each checklist item failed in the branch's reviews of the case's channels
    in its last week of evidence (critical items first), with the failed share."""
    start, end = period_bounds(case.branch, PeriodKind.WEEK, case.last_period)
    channels = [c for c in case.channels if c != ALL_CHANNELS]
    rows = item_breakdown(branch_id=case.branch_id, start=start, end=end, channels=channels)
    return [{**r, "share": r["failed"] / r["n"] if r["n"] else None} for r in rows]


def _worst_item(case: Case) -> dict[str, Any] | None:
    """For the QA metrics: the checklist item the branch's reviews failed most in the last
    week of evidence (critical items first for critical fails), in both languages."""
    if case.metric not in QA_METRICS:
        return None
    rows = case_items(case)
    if case.metric == Metric.QA_CRITICAL:
        rows = [r for r in rows if r["critical"]]
    else:
        rows.sort(key=lambda r: -r["failed"])
    hit = next((r for r in rows if r["failed"]), None)
    if hit is None:
        return None
    item = hit["item"]
    return {
        "code": hit["code"],
        "en": item.text_en,
        "id": item.text_id,
        "failed": hit["failed"],
        "n": hit["n"],
    }


# The engine's own notes, stored in English: read out in the reader's language.
ENGINE_NOTES = [
    gettext_noop("New data removed the evidence."),
    gettext_noop("The divergence is back."),
    gettext_noop("Late data removed every discovery this case rested on."),
    gettext_noop("The divergence is back within eight weeks of the case closing."),
]
QUIET_NOTE = re.compile(r"Back within the limits for (\d+) complete weeks in a row\.")
ESCALATED_NOTE = re.compile(r"The evidence is now (.+)\.")


def engine_note(note: str) -> str:
    if note in ENGINE_NOTES:
        return _(note)
    if match := QUIET_NOTE.fullmatch(note):
        return _("Back within the limits for %(weeks)s complete weeks in a row.") % {
            "weeks": match[1]
        }
    if match := ESCALATED_NOTE.fullmatch(note):
        return _("The evidence is now %(level)s.") % {"level": _severity_word(match[1])}
    return note


def _severity_word(stored: str) -> str:
    """A level as the engine wrote it (lower case, the site's language) in the reader's."""
    with translation.override(settings.LANGUAGE_CODE):
        values = {str(label).lower(): value for value, label in Severity.choices}
    value = values.get(stored)
    return str(Severity(value).label).lower() if value else stored
