"""Request-wide guards and context: the body size limit and where writes come from."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from common.api.errors import problem_response
from common.audit import Origin, audit_context
from common.client_ip import client_address
from common.replica import replica_configured, request_reads

Handler = Callable[[HttpRequest], HttpResponse]


class RequestSizeLimitMiddleware:
    """Refuse a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE before anything reads it.
    Django applies that limit only when a view reads ``request.body`` or a form; the API's
    parsers read the stream, so the limit is enforced here for every request."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            detail = f"The request body is {length} bytes; the limit is {limit}."
            if request.path.startswith("/api/"):
                return problem_response(request, 413, detail, "payload_too_large")
            return HttpResponse(detail, status=413, content_type="text/plain")
        return self.get_response(request)


class NulCharacterMiddleware:
    """Refuse a NUL character in the path or the query string with a 400: no text column
    can store one (PostgreSQL fails the query), so no record can be named by it."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.lists()
        if "\x00" in request.path or any(
            "\x00" in name or any("\x00" in value for value in values) for name, values in query
        ):
            detail = "The address contains a NUL character."
            if request.path.startswith("/api/"):
                return problem_response(request, 400, detail, "bad_request")
            return HttpResponse(detail, status=400, content_type="text/plain")
        return self.get_response(request)


class ReplicaPinMiddleware:
    """Each request starts its own read state (common.replica); after a browser writes,
    its reads stay on the primary for REPLICA_PIN_SECONDS (a short cookie), so a manager
    who acknowledges a case finds it acknowledged on the next page, however far the
    replica is behind."""

    COOKIE = "crm_primary_until"

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            pinned = time.time() < float(request.COOKIES.get(self.COOKIE, "0"))
        except ValueError:
            pinned = False
        with request_reads(pinned=pinned) as state:
            response = self.get_response(request)
        if state.wrote and replica_configured():
            seconds = settings.REPLICA_PIN_SECONDS
            response.set_cookie(
                self.COOKIE,
                str(int(time.time()) + seconds),
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


class AuditOriginMiddleware:
    """Every write during a request is recorded as coming from the web UI, the admin or
    the API, from the client's address, by the signed-in user (API keys name their
    integration once they are checked)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            origin = Origin.API
        elif request.path.startswith("/admin/"):
            origin = Origin.ADMIN
        else:
            origin = Origin.UI
        address = client_address(request)
        with audit_context(origin, address=address, user=getattr(request, "user", None)):
            return self.get_response(request)


class UserLanguageMiddleware:
    """Staff pages in the language saved on the signed-in user's profile. Runs after
    LocaleMiddleware (which chose from the cookie or the browser's Accept-Language) and the
    authentication middleware; a user who saved none keeps the browser's choice."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        if language and user is not None and user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
