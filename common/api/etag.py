"""Optimistic concurrency: ETag on single-object responses, If-Match on updates."""

from __future__ import annotations

import hashlib
from typing import Any

from rest_framework.request import Request

from common.api.errors import PreconditionFailed


def etag_of(instance: Any) -> str:
    version = f"{instance._meta.label}:{instance.pk}:{instance.updated_at.isoformat()}"
    return '"' + hashlib.sha256(version.encode()).hexdigest()[:32] + '"'


def check_if_match(request: Request, instance: Any) -> None:
    """412 when the client's If-Match names another version (no header: no check)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return
    offered = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if etag_of(instance) not in offered:
        raise PreconditionFailed()
