from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_GET

from common.api.errors import problem_response


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for the load balancer and compose health checks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def api_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_response(request, 404, "No such API endpoint.", "not_found")
    return defaults.page_not_found(request, exception)


def api_server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_response(
            request, 500, "The server failed; it has been logged.", "server_error"
        )
    return defaults.server_error(request)
