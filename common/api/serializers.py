from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import tzinfo
from functools import cached_property
from typing import Any, ClassVar, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import SkipField, empty, get_error_detail

# JSON types each kind of field accepts as is. DRF would otherwise coerce 0 to False,
# "5" to 5 and 7 to "7": an integration sending the wrong type should hear about it.
_JSON_TYPES: list[tuple[type[serializers.Field], tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), "Must be true or false."),
    (serializers.IntegerField, (int,), "Must be a whole number."),
    (serializers.ChoiceField, (str,), "Must be a string."),
    (serializers.CharField, (str,), "Must be a string."),
    (serializers.DateTimeField, (str,), "Must be an ISO 8601 date-time string."),
    (serializers.ListField, (list,), "Must be a list."),
]


def _wrong_type(field: serializers.Field, value: Any) -> str | None:
    if value is None:
        return None
    for kind, types, message in _JSON_TYPES:
        if isinstance(field, kind):
            if not isinstance(value, types) or (types == (int,) and isinstance(value, bool)):
                return message
            if isinstance(field, serializers.ListField) and isinstance(value, list):
                return next((m for v in value if (m := _wrong_type(field.child, v))), None)
            return None
    return None


_per_thread = threading.local()

S = TypeVar("S", bound=serializers.BaseSerializer)


def shared_serializer(serializer_class: type[S], *, partial: bool = False) -> S:
    """This thread's instance of ``serializer_class``, for ``run_validation`` and
    ``to_representation`` (which keep nothing between calls). DRF builds an instance's
    fields by deep-copying every declared field, about half a millisecond for a record
    with twenty fields: once per thread instead of twice per request."""
    made: dict[tuple[type, bool], Any] = _per_thread.__dict__.setdefault("serializers", {})
    instance = made.get((serializer_class, partial))
    if instance is None:
        instance = made[(serializer_class, partial)] = serializer_class(partial=partial)
    return instance


class ValuesRepresentation:
    """A serializer whose list pages and CSV exports are built from ``QuerySet.values()``
    rows by plain code, not from model instances passed field by field through DRF: for a
    page of 25 to 1 000 rows those per-field calls (and the related rows loaded for them)
    cost many times the query. ``value_columns`` are the columns to read and
    ``represent_values`` turns one row into exactly what ``to_representation`` gives for
    the same record (a test holds the two equal)."""

    value_columns: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def represent_values(cls, row: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
        """``zone``: the current time zone, which DRF writes times in."""
        raise NotImplementedError


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, and (for JSON input) values of the wrong JSON type,
    instead of silently ignoring or coercing them. Pass ``context={"lenient_types": True}``
    for text sources such as CSV, where every value arrives as a string."""

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.fields)

    @cached_property
    def _writable(self) -> dict[str, serializers.Field]:
        """The writable fields by name, in order: a plain dict (DRF's is slow to walk)."""
        return {name: field for name, field in self.fields.items() if not field.read_only}

    @cached_property
    def _visited_when_absent(self) -> frozenset[str]:
        """Fields DRF refuses (required) or fills (default) when an item leaves them out."""
        return frozenset(
            name
            for name, field in self._writable.items()
            if field.required or field.default is not empty
        )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(name for name in data if name not in self._names)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
            if not self.context.get("lenient_types"):
                wrong = {
                    name: [message]
                    for name, field in self._writable.items()
                    if name in data and (message := _wrong_type(field, data[name]))
                }
                if wrong:
                    raise serializers.ValidationError(wrong)
        if not isinstance(data, dict):
            return super().to_internal_value(data)
        return self._fields_to_internal_value(data)

    def _fields_to_internal_value(self, data: dict[str, Any]) -> dict[str, Any]:
        """DRF's per-field loop, over the fields that can give a value: those the item
        sets, and the required or defaulted ones (which DRF refuses or fills when absent).
        DRF also visits every other field, each to be skipped by an exception: for a record
        with twenty optional fields that was half the cost of a bulk item."""
        values: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        always = self._visited_when_absent
        for name, field in self._writable.items():
            if name not in data and name not in always:
                continue
            try:
                value = field.run_validation(field.get_value(data))
                check = getattr(self, f"validate_{name}", None)
                if check is not None:
                    value = check(value)
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
            except DjangoValidationError as exc:
                errors[name] = get_error_detail(exc)
            except SkipField:
                continue
            else:
                self.set_value(values, field.source_attrs, value)
        if errors:
            raise serializers.ValidationError(errors)
        return values


class ExternalRefSerializer(StrictSerializer):
    """A record named by the integration's own reference: both parts, always (also inside a
    partial update, where DRF would otherwise let either be left out)."""

    source = serializers.CharField(max_length=64)  # type: ignore[assignment]
    external_id = serializers.CharField(max_length=128)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            missing = [name for name in ("source", "external_id") if name not in data]
            if missing:
                raise serializers.ValidationError(
                    {name: ["This field is required."] for name in missing}
                )
        return super().to_internal_value(data)


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(["created", "updated", "unchanged", "error"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


class BulkResponseSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
    results = BulkItemResultSerializer(many=True)


def bulk_request_schema(item_component: str) -> dict[str, Any]:
    """The body of a bulk endpoint: any list of objects, each checked on its own (an invalid
    item is reported in its result, not refused with the batch)."""
    return {
        "type": "array",
        "minItems": 1,
        "description": (
            f"Up to 1 000 items, each shaped like {item_component}. Every item gets a result; "
            "invalid ones are reported there and the valid ones are saved. "
            'The array may also be sent as {"items": [...]}.'
        ),
        "items": {"type": "object", "additionalProperties": True},
    }
