from __future__ import annotations

import math
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from branches.access import IntegrationPrincipal
from common.client_ip import client_address


class CallerRateThrottle(SimpleRateThrottle):
    """One budget per API key's integration (or per signed-in user): 429 with Retry-After.

    Counted in fixed windows (a minute for "3000/min") by one atomic increment of a shared
    cache counter per request. DRF's own throttle keeps every request's time in a list that
    it reads, trims and writes back whole: at thousands of requests a minute that list
    costs more than the request, and two workers writing it at once lose each other's
    counts. A window lets up to twice the rate through across its edge, never more."""

    scope = "caller"
    retry_after = 0.0
    num_requests: int | None
    duration: int | None

    def get_rate(self) -> str:
        return str(settings.API_THROTTLE_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        if isinstance(user, IntegrationPrincipal):
            return f"throttle:integration:{user.integration_id}"
        if user is not None and user.is_authenticated:
            return f"throttle:user:{user.pk}"
        return f"throttle:ip:{self.get_ident(request)}"

    def get_ident(self, request: Request) -> str:
        """The client address as the trusted proxies report it (TRUSTED_PROXY_COUNT), never
        what a client writes in X-Forwarded-For itself."""
        return client_address(request) or ""

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        key = f"{ident}:{window}"
        try:
            count = cache.incr(key)
        except ValueError:  # the window's first request
            count = 1 if cache.add(key, 1, self.duration + 1) else cache.incr(key)
        self.retry_after = (window + 1) * self.duration - now
        return bool(count <= self.num_requests)

    def wait(self) -> float:
        return max(1.0, math.ceil(self.retry_after))
