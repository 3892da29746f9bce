"""Thin Celery tasks of the consistency engine: a service call each."""

from __future__ import annotations

from celery import shared_task

from consistency.notifications import case_events_notify as notify
from consistency.notifications import cases_weekly_digest as digest
from consistency.recompute import dirty_days_recompute as recompute


@shared_task(name="consistency.dirty_days_recompute")
def dirty_days_recompute() -> int:
    """Beat task: recompute the branch-days writes made stale; returns branches touched."""
    return recompute().branches


@shared_task(name="consistency.case_events_notify")
def case_events_notify() -> int:
    """E-mail the managers of each case that opened, escalated or relapsed (once each)."""
    return notify()


@shared_task(name="consistency.cases_weekly_digest")
def cases_weekly_digest() -> int:
    """Beat task, Mondays: each regional manager's open cases in one e-mail."""
    return digest()
