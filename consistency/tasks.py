"""Thin Celery tasks of the consistency engine."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="consistency.dirty_days_recompute")
def dirty_days_recompute() -> int:
    """Beat task: recompute the branch-days writes made stale; returns branches touched."""
    from consistency.services import dirty_days_recompute as recompute

    return recompute().branches


@shared_task(name="consistency.flag_alarms_notify")
def flag_alarms_notify(flag_ids: list[int] | None = None) -> int:
    """E-mail each regional manager one digest of the new alarms in their regions (these
    ones after a recompute; all that wait, as beat's task)."""
    from consistency.notifications import flag_alarms_notify as notify

    return notify(flag_ids=flag_ids)
