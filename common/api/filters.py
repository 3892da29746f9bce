from __future__ import annotations

from datetime import UTC
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError


class IdFilter(django_filters.NumberFilter):
    """A record id: a whole number within the database's range (not a decimal). One that
    no record has (0, say) simply matches nothing."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", -(2**63) + 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, turned into UTC here: the database refuses some offsets Python
    accepts (e.g. -20:36), and a time near year 1 or 9999 may not fit once converted."""

    def to_python(self, value: Any) -> Any:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("This time is out of range.", code="invalid") from None


class TimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time parameter, compared in UTC."""

    field_class = UtcIsoDateTimeField


class StrictFilterSet(django_filters.FilterSet):
    """Refuses what a plain FilterSet would quietly ignore: a typed parameter given empty,
    a single-valued one given twice, true/false spelt otherwise."""

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        # An empty value for a typed parameter (a date, a number, true/false) is a mistake,
        # not a request for no filter.
        problems: dict[str, list[str]] = {}
        for name in self.data:
            if name not in self.filters:
                continue
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else [self.data[name]]
            kind = self.filters[name]
            if len(values) > 1 and not isinstance(kind, django_filters.MultipleChoiceFilter):
                problems[name] = ["Give this parameter once."]
            elif values[0] == "" and not isinstance(kind, django_filters.CharFilter):
                problems[name] = ["Give a value or leave the parameter out."]
            elif isinstance(kind, django_filters.BooleanFilter) and values[0].lower() not in {
                "true",
                "false",
            }:
                problems[name] = ["Use true or false."]
        if problems:
            raise ValidationError(problems)
        return super().filter_queryset(queryset)


class SyncFilterSet(StrictFilterSet):
    """``updated_after`` for incremental pulls; deleted rows only with ``include_deleted``."""

    updated_after = TimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=(
            "Only rows changed at or after this ISO 8601 time. A change is stamped when it is "
            "made and becomes visible when its transaction commits, so when resuming a sync "
            "start a few seconds before the last row you saw: rows read twice are harmless."
        ),
    )
    include_deleted = django_filters.BooleanFilter(
        method="_noop",
        help_text="Also return deleted rows as tombstones (`deleted: true`).",
    )

    def _noop(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        return queryset

    @classmethod
    def asked_for(cls, params: Any) -> bool:
        """Whether a request's query names any of this set's filters."""
        return any(name in cls.base_filters for name in params)

    @staticmethod
    def unfiltered(queryset: QuerySet[Any]) -> QuerySet[Any]:
        """What the set does when no filter is asked for (a sync page's usual request),
        without building it: a filter set deep-copies every filter and builds a form, a
        millisecond or two per request."""
        return queryset.filter(deleted_at__isnull=True)

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("include_deleted"):
            queryset = queryset.filter(deleted_at__isnull=True)
        return queryset
