"""Keyset pagination in sync order: (updated_at, id), both ascending.

A row changed while a client pages through the feed gets a newer updated_at and so
reappears further on: a client that follows ``next`` to the end has seen the latest
state of every row (including tombstones when it asks for them).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def encode_cursor(updated_at: datetime, pk: int) -> str:
    raw = json.dumps({"u": updated_at.isoformat(), "i": pk}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, int]:
    try:
        padded = value + "=" * (-len(value) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(data["u"]), int(data["i"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationError(
            {"cursor": ["Invalid cursor: use the `next` link as given."]}
        ) from None


class SyncCursorPagination(BasePagination):
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        self.page_size, position = self.validate_params(request)
        cursor = request.query_params.get(self.cursor_query_param)
        rows = queryset.order_by("updated_at", "id")
        if position is not None:
            updated_at, pk = position
            rows = rows.filter(Q(updated_at__gt=updated_at) | Q(updated_at=updated_at, id__gt=pk))
        page = list(rows[: self.page_size + 1])
        self.has_next = len(page) > self.page_size
        page = page[: self.page_size]
        self.next_cursor = encode_cursor(page[-1].updated_at, page[-1].pk) if page else cursor
        return page

    def validate_params(self, request: Request) -> tuple[int, tuple[datetime, int] | None]:
        """The page size and the decoded cursor, or a 400 naming the bad parameter."""
        raw = request.query_params.get(self.page_size_query_param)
        size = DEFAULT_PAGE_SIZE
        if raw is not None:
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
                raise ValidationError(
                    {"page_size": [f"Use a whole number from 1 to {MAX_PAGE_SIZE}."]}
                )
            size = int(raw)
        cursor = request.query_params.get(self.cursor_query_param)
        return size, decode_cursor(cursor) if cursor is not None else None

    def get_paginated_response(self, data: Any) -> Response:
        url = self.request.build_absolute_uri()
        next_url = (
            replace_query_param(url, self.cursor_query_param, self.next_cursor)
            if self.has_next
            else None
        )
        # `cursor` always marks the end of what was read: store it to resume later.
        return Response({"next": next_url, "cursor": self.next_cursor, "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "cursor", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "cursor": {"type": "string", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Where to resume: a previous page's `cursor` (or its `next` link).",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "in": "query",
                "required": False,
                "description": f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
