"""Helpers shared by the server-rendered pages of every app."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from common.api.csv import csv_stream


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def csv_or_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    columns: list[str],
    rows: Iterable[dict[str, Any]],
    filename: str,
    status: int = 200,
) -> HttpResponseBase:
    """The page, or with ``?format=csv`` the table it shows as CSV (same rows, same scope)."""
    if wants_csv(request) and status == 200:
        return csv_stream(columns, rows, filename)
    return render(request, template, context, status=status)
