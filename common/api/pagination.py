"""Keyset ("cursor") pagination in a stable order.

Every list pages by the values of its last row, never by an offset, so a page costs the
same at row one million as at row one. The sync feeds order by (updated_at, id): a row
changed while a client pages through gets a newer updated_at and reappears further on,
so a client that follows ``next`` to the end has seen the latest state of every row
(including tombstones when it asks for them). Other lists (the flag queue) name their own
order; ``id`` always ends it, which makes the order total.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Lookup, Q, QuerySet
from django.db.models.fields.tuple_lookups import (  # type: ignore[import-untyped]
    Tuple,
    TupleGreaterThan,
    TupleLessThan,
)
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
SYNC_ORDER = ("updated_at", "id")
BAD_CURSOR = "Invalid cursor: use the `next` link as given."


def page_size(request: Request) -> int:
    """``?page_size``, or a 400 when it is not a whole number in range."""
    raw = request.query_params.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ValidationError({"page_size": [f"Use a whole number from 1 to {MAX_PAGE_SIZE}."]})
    return int(raw)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(value: str, size: int) -> list[Any]:
    try:
        padded = value + "=" * (-len(value) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != size or not all(_scalar(v) for v in values):
        raise ValidationError({"cursor": [BAD_CURSOR]})
    return values


def _scalar(value: Any) -> bool:
    if isinstance(value, int):
        return -(2**63) < value < 2**63
    return isinstance(value, str | float)


def after(ordering: tuple[str, ...], values: list[Any]) -> Q | Lookup:
    """Rows that come after ``values`` in ``ordering`` ("-field" descends).

    When every field runs the same way this is one row comparison, ``(a, b) > (x, y)``,
    which PostgreSQL turns into an index condition on an index over (a, b): a page costs
    the same a million rows deep as on the first page. (Spelt ``a > x OR (a = x AND
    b > y)`` it is a filter the index cannot use, and every earlier row is read.) A mixed
    order adds the first field's bound, the part an index can use, to the spelt-out form.
    """
    names = [field.lstrip("-") for field in ordering]
    descending = [field.startswith("-") for field in ordering]
    if len(set(descending)) == 1:
        compare = TupleLessThan if descending[0] else TupleGreaterThan
        return compare(Tuple(*(F(name) for name in names)), list(values))
    condition = Q(pk__in=[])
    equal = Q()
    for name, down, value in zip(names, descending, values, strict=True):
        condition |= equal & Q(**{f"{name}__{'lt' if down else 'gt'}": value})
        equal &= Q(**{name: value})
    leading = Q(**{f"{names[0]}__{'lte' if descending[0] else 'gte'}": values[0]})
    return leading & condition


def _field(row: Any, name: str) -> Any:
    """A field of a page's row: a model instance, or a ``values()`` dict."""
    return row[name] if isinstance(row, dict) else getattr(row, name)


class KeysetPagination(BasePagination):
    """Pages of ``?page_size`` rows in the view's ``keyset_ordering`` (default: sync order)."""

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def ordering(self, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "keyset_ordering", SYNC_ORDER))

    def paginate_queryset(
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        ordering = self.ordering(view)
        self.page_size, position = self.validate_params(request, view)
        rows = queryset.order_by(*ordering)
        try:
            if position is not None:
                rows = rows.filter(after(ordering, position))
            # The cursor's values are converted when the query is compiled.
            page = list(rows[: self.page_size + 1])
        except (ValueError, TypeError, DjangoValidationError):
            raise ValidationError({"cursor": [BAD_CURSOR]}) from None
        self.has_next = len(page) > self.page_size
        page = page[: self.page_size]
        self.next_cursor = (
            encode_cursor([_field(page[-1], f.lstrip("-")) for f in ordering])
            if page
            else request.query_params.get(self.cursor_query_param)
        )
        return page

    def validate_params(self, request: Request, view: Any = None) -> tuple[int, list[Any] | None]:
        """The page size and the decoded cursor, or a 400 naming the bad parameter."""
        cursor = request.query_params.get(self.cursor_query_param)
        position = decode_cursor(cursor, len(self.ordering(view))) if cursor is not None else None
        return page_size(request), position

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
        order = ", ".join(
            f"{name.lstrip('-')} {'descending' if name.startswith('-') else 'ascending'}"
            for name in self.ordering(view)
        )
        return [
            {
                "name": self.cursor_query_param,
                "in": "query",
                "required": False,
                "description": "Where to resume: a previous page's `cursor` (or follow its `next` "
                f"link until it is null). Rows come ordered by {order}; the order is fixed.",
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
