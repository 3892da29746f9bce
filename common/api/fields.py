from __future__ import annotations

from typing import Any

from rest_framework import serializers


class CodeField(serializers.CharField):
    """A related row named by its code on the wire (e.g. a branch as "nor-01")."""

    def to_representation(self, value: Any) -> str:
        return value.code if hasattr(value, "code") else str(value)


class SyncFieldsMixin(serializers.Serializer):
    """Read-only bookkeeping every synced record carries."""

    id = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    deleted = serializers.BooleanField(read_only=True, source="is_deleted")
