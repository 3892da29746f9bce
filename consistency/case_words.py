"""How a case is put in words and ranked: the sentence that says what diverges, and the
priority score the queue's order stands for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from consistency.models import ALL_CHANNELS, CHANNEL_SCOPES, Case, Metric, PeriodKind
from consistency.selectors import moment_breakdown

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
    """A metric's value as people say it: 74 %, or NPS +30."""
    if value is None:
        return "—"
    if metric == Metric.NPS:
        return f"{value * 100:+.0f}"
    percent = value * 100
    return f"{percent:.1f} %" if percent < 10 else f"{percent:.0f} %"


def case_summary(case: Case, weeks: Sequence[date]) -> str:
    """E.g. "Complaint rate at eas-04: 7.4 % (11 of 149) against a standard of 2.0 % and
    peers at 1.8 %, alarming in 10 of the last 12 weeks, all channels"."""
    label = Metric(case.metric).label
    parts = [
        f"{label} at {case.branch.code}: {share(case.metric, case.value)} ({case.x} of {case.n})"
    ]
    against = []
    if case.target is not None:
        against.append(f"a standard of {share(case.metric, case.target)}")
    if case.peer_value is not None:
        who = f"peers ({case.peer_group} branches)" if case.peer_group else "peers"
        against.append(f"{who} at {share(case.metric, case.peer_value)}")
    if against:
        parts[0] += " against " + " and ".join(against)
    recent = [w for w in weeks if w > case.last_period - 12 * WEEK]
    span = min(12, (case.last_period - case.first_period).days // 7 + 1)
    strength = "alarming" if case.alarm_periods else "flagged"
    count = case.alarm_periods if case.alarm_periods else len(recent)
    parts.append(f"{strength} in {min(count, span)} of the last {span} weeks")
    channels = [str(CHANNEL_LABELS[c]).lower() for c in case.channels if c != ALL_CHANNELS]
    named = (
        ", ".join(channels[:-1]) + " and " + channels[-1]
        if len(channels) > 1
        else "".join(channels)
    )
    if ALL_CHANNELS in case.channels and len(channels) == len(CHANNEL_LABELS) - 1:
        parts.append("on every channel")
    elif ALL_CHANNELS in case.channels:
        parts.append("all channels" + (f", most on {named}" if channels else ""))
    elif channels:
        parts.append(f"on {named}")
    if moment := _worst_moment(case):
        parts.append(f"worst at '{moment}'")
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
