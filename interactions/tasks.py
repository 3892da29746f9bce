"""Thin Celery tasks of the interactions app."""

from __future__ import annotations

from celery import shared_task

from interactions.partitions import partitions_ensure as ensure


@shared_task(name="interactions.partitions_ensure")
def partitions_ensure() -> list[str]:
    """Beat task, daily: the coming months' partitions exist before their first row."""
    return ensure()
