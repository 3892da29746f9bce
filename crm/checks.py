"""System checks for deployments (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(Tags.caches, deploy=True)
def shared_cache_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Rate limits (API keys, survey links) are counted in the default cache: kept in each
    worker's memory, every gunicorn worker grants the whole budget again."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in PER_PROCESS_CACHES:
        return [
            Error(
                f"The default cache ({backend.rsplit('.', 1)[-1]}) is per process: rate "
                "limits would be counted separately by every worker.",
                hint="Set CACHE_URL to a shared cache, e.g. redis://redis:6379/1.",
                id="crm.E001",
            )
        ]
    return []
