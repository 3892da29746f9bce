from __future__ import annotations

import math
from typing import Any

from rest_framework import serializers


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
