from __future__ import annotations

import math
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from common.validation import EARLIEST_YEAR


def iso_datetime(value: datetime | None, zone: tzinfo | None = None) -> str | None:
    """A time as DRF's DateTimeField writes it: ISO 8601 in ``zone`` (by default the
    current time zone), "Z" for UTC (for the pages built without DRF's per-field calls,
    see ValuesRepresentation)."""
    if value is None:
        return None
    text = value.astimezone(zone or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class CodeField(serializers.CharField):
    """A related row named by its code on the wire (e.g. a branch as "nor-01")."""

    def to_representation(self, value: Any) -> str:
        return value.code if hasattr(value, "code") else str(value)


class FiniteFloatField(serializers.FloatField):
    """A number JSON can carry: an infinite or undefined value (a z-score where the
    standard error is 0) is sent as null."""

    def to_representation(self, value: Any) -> Any:
        number = float(value)
        return number if math.isfinite(number) else None


class SyncFieldsMixin(serializers.Serializer):
    """Read-only bookkeeping every synced record carries."""

    id = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    deleted = serializers.BooleanField(read_only=True, source="is_deleted")


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that says its zone (an offset or Z), from 1900 on. A time without
    one would be read in the server's zone, which the sender never meant: refused."""

    default_error_messages = {
        "naive": "Give the time zone: an offset such as +07:00, or Z for UTC.",
        "too_early": f"Use a time from {EARLIEST_YEAR} on.",
    }

    def to_internal_value(self, value: Any) -> datetime:
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else value
        except ValueError:  # well formed but no such time (30 February): DRF says so
            parsed = None
        if isinstance(parsed, datetime):
            if parsed.tzinfo is None:
                self.fail("naive")
            if parsed.year < EARLIEST_YEAR:
                self.fail("too_early")
            if isinstance(value, str):  # parsed once (DRF would parse it again), kept in UTC
                return parsed.astimezone(UTC)
        result: datetime = super().to_internal_value(value)
        return result
