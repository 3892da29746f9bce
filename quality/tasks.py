"""Thin Celery tasks of the quality app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import shared_task

from quality.sampling import assignments_draw_all


@shared_task(name="quality.assignments_draw")
def assignments_draw() -> list[str]:
    """Beat task, Mondays: every active sampling rule draws last week's sample (a week is
    complete in every time zone by then). Running it twice adds nothing."""
    today = datetime.now(UTC).date()
    last_week = today - timedelta(days=today.weekday() + 7)
    return [
        f"{d.rule} {d.week}: {d.assigned} assigned of {d.candidates} ({d.unassigned} left)"
        for d in assignments_draw_all(last_week)
    ]
