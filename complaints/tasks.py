"""Thin Celery tasks of the complaints app."""

from __future__ import annotations

from celery import shared_task

from complaints.classifier import classifier_retrain_due


@shared_task(name="complaints.classifier_retrain")
def classifier_retrain() -> dict[str, object]:
    """Beat task, daily: train the type classifier again once enough complaints have been
    typed since its newest version (or for the first time, once there are enough)."""
    return classifier_retrain_due()
