"""Idempotency-Key on API POSTs: a retried request gets the stored answer, not a second write.

Same key + same request within 24 h: the stored response, with ``Idempotent-Replayed:
true``. Same key + a different request: 422. Same key while the first is still
running: 409. Server errors are not stored, so a retry after one runs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from common.api.errors import problem_response
from crm.models import IdempotencyRecord

KEY_LIFETIME = timedelta(hours=24)
HEADER = "Idempotency-Key"


def _caller(request: HttpRequest) -> str | None:
    authorization = request.headers.get("Authorization", "")
    if authorization:
        return hashlib.sha256(authorization.encode()).hexdigest()
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return hashlib.sha256(f"user:{user.pk}".encode()).hexdigest()
    return None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.get_full_path()}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body),
        status=record.response_status or 200,
        content_type=record.response_content_type or None,
    )
    response["Idempotent-Replayed"] = "true"
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        caller = _caller(request)
        if caller is None:  # anonymous: the API answers 401 anyway
            return self.get_response(request)
        if not 1 <= len(key) <= 255:
            return problem_response(
                request, 400, f"{HEADER} must be 1 to 255 characters.", "bad_request"
            )
        fingerprint = _fingerprint(request)
        IdempotencyRecord.objects.filter(
            caller=caller, key=key, created_at__lt=timezone.now() - KEY_LIFETIME
        ).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    caller=caller, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(caller=caller, key=key).first()
            if existing is None:  # finished and purged in between: the retry runs again
                return self.get_response(request)
            if existing.request_hash != fingerprint:
                return problem_response(
                    request,
                    422,
                    f"This {HEADER} was used for a different request; use a new key.",
                    "idempotency_key_reused",
                )
            if existing.response_status is None:
                return problem_response(
                    request,
                    409,
                    f"A request with this {HEADER} is still being processed; retry shortly.",
                    "idempotency_in_flight",
                )
            return _replay(existing)

        response = self.get_response(request)
        if response.status_code >= 500 or response.streaming:
            record.delete()
        else:
            record.response_status = response.status_code
            record.response_body = response.content
            record.response_content_type = response.get("Content-Type", "")
            record.save(update_fields=["response_status", "response_body", "response_content_type"])
        return response


def idempotency_records_purge() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - KEY_LIFETIME
    ).delete()
    return deleted
