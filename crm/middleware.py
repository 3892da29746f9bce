"""Request-wide guards and context: the body size limit and where writes come from."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from common.api.errors import problem_response
from common.audit import Origin, audit_context

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
        address = request.META.get("REMOTE_ADDR") or None
        with audit_context(origin, address=address, user=getattr(request, "user", None)):
            return self.get_response(request)
