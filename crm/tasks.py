"""Thin Celery tasks: ids in, a service call out."""

from __future__ import annotations

from celery import shared_task

from crm.idempotency import idempotency_records_purge as purge
from crm.webhooks import webhook_deliveries_send as send


@shared_task(name="crm.ping")
def ping() -> str:
    """Round trip through broker, worker and result backend; used by health checks."""
    return "pong"


@shared_task(name="crm.webhook_deliveries_send")
def webhook_deliveries_send(ids: list[int]) -> int:
    return send(ids=ids)


@shared_task(name="crm.webhook_deliveries_send_due")
def webhook_deliveries_send_due() -> int:
    return send()


@shared_task(name="crm.idempotency_records_purge")
def idempotency_records_purge() -> int:
    return purge()
