from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from branches.access import IntegrationPrincipal


class CallerRateThrottle(SimpleRateThrottle):
    """One budget per API key's integration (or per signed-in user): 429 with Retry-After."""

    scope = "caller"

    def get_rate(self) -> str:
        return str(settings.API_THROTTLE_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        if isinstance(user, IntegrationPrincipal):
            return f"throttle:integration:{user.integration_id}"
        if user is not None and user.is_authenticated:
            return f"throttle:user:{user.pk}"
        return f"throttle:ip:{self.get_ident(request)}"
