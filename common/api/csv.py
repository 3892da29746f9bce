"""CSV export of list endpoints (``?format=csv``), streamed row by row."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from rest_framework.renderers import BaseRenderer
from rest_framework.serializers import BaseSerializer

from common.api.serializers import ValuesRepresentation
from common.replica import current_read_state, restored


class CSVRenderer(BaseRenderer):
    """Declares text/csv for content negotiation; lists stream it with ``csv_response``."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        rows = data if isinstance(data, list) else [data]
        buffer = _Echo()
        lines = []
        if rows and isinstance(rows[0], dict):
            writer = csv.writer(buffer)
            lines.append(writer.writerow(list(rows[0])))
            lines += [writer.writerow([_cell(v) for v in row.values()]) for row in rows]
        return "".join(lines).encode()


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    # Keep spreadsheet formulas inert (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_number(value):
        return "'" + value
    return "" if value is None else value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def csv_table(columns: list[str], rows: Iterable[dict[str, Any]], filename: str) -> HttpResponse:
    """A computed table (not a queryset) as CSV: the header always, missing cells empty."""
    writer = csv.writer(_Echo())
    lines = [writer.writerow(columns)]
    lines += [writer.writerow([_cell(row.get(c)) for c in columns]) for row in rows]
    response = HttpResponse("".join(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def csv_stream(
    columns: list[str], rows: Iterable[dict[str, Any]], filename: str
) -> StreamingHttpResponse:
    """Rows (dicts, possibly a generator over a large query) streamed as CSV under a header."""

    # An export is served by the read replica when there is one: it streams after the
    # view has returned, so it reads with the request's state captured here.
    state = current_read_state()

    def lines() -> Iterator[str]:
        with restored(state, replica_ok=True):
            writer = csv.writer(_Echo())
            yield writer.writerow(columns)
            for row in rows:
                yield writer.writerow([_cell(row.get(c)) for c in columns])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def csv_response(
    queryset: QuerySet[Any], serializer_class: type[BaseSerializer], filename: str
) -> StreamingHttpResponse:
    """Every row of ``queryset``, in its order, serialised like the JSON API, streamed."""
    serializer = serializer_class()
    columns = list(serializer.fields)  # type: ignore[attr-defined]
    rows: Iterable[dict[str, Any]]
    if issubclass(serializer_class, ValuesRepresentation):
        values = queryset.values(*serializer_class.value_columns).iterator(chunk_size=2000)
        zone = timezone.get_current_timezone()
        rows = (serializer_class.represent_values(row, zone) for row in values)
    else:  # one serializer for every row: building its fields is the costly part
        rows = (serializer.to_representation(i) for i in queryset.iterator(chunk_size=2000))
    return csv_stream(columns, rows, filename)
