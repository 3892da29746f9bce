"""Thin Celery tasks of the feedback loop."""

from __future__ import annotations

from celery import shared_task

from feedback.services import invitations_send_due as send


@shared_task(name="feedback.invitations_send_due")
def invitations_send_due() -> int:
    """Beat task: send the survey invitations that are due; returns how many went out."""
    return send().sent
