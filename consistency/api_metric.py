"""The metric parameter and field of the consistency API: one of the metrics, or one
complaint type's rate (``complaint_rate:<type code>``), which no fixed enum can list."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from rest_framework import serializers

from consistency.models import Metric, metric_type_code

METRIC_HELP = (
    "A metric (e.g. complaint_rate), or one complaint type's rate: complaint_rate:<type code>."
)


class MetricFilter(django_filters.CharFilter):
    """A metric, or a complaint type's rate; anything else is a 400 naming the parameter."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(method=self._metric, help_text=METRIC_HELP, **kwargs)

    @staticmethod
    def _metric(queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        if value not in Metric.values and not metric_type_code(value):
            raise serializers.ValidationError({name: ["No such metric."]})
        return queryset.filter(metric=value)
