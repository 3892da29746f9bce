"""REST API of the consistency engine: metric cells, a region's comparison, the chain's
consistency index, and the flags (read-only evidence; the work is cases, ``case_api``).

Everything is limited to the caller's branches (API keys need ``analytics:read``).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from branches.access import branch_scope
from branches.api import visible_regions
from common.api.csv import CSVRenderer, csv_table
from common.api.fields import FiniteFloatField
from common.api.filters import StrictFilterSet, TimeFilter
from common.api.views import SyncListApi, detail_response, scoped_get
from common.replica import reads_from_replica
from consistency.api_metric import METRIC_HELP, MetricFilter
from consistency.models import (
    ALL_CHANNELS,
    CHANNEL_SCOPES,
    Flag,
    FlagStatus,
    Metric,
    PeriodKind,
    Severity,
    TestKind,
)
from consistency.selectors import (
    MetricCell,
    consistency_index,
    flag_queue,
    flag_trend,
    latest_period,
    metric_cells,
    moment_breakdown,
)
from consistency.stats import Judgement, Status

SCOPES = {"read": "analytics:read"}  # flags are evidence: read-only
CELL_STATUSES = [status.value for status in Status]


# --- metric cells ------------------------------------------------------------------------


class PeriodQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PeriodKind.choices, default=PeriodKind.WEEK)
    period_start = serializers.DateField(
        required=False,
        help_text="First day of the period (a Monday for weeks, the 1st for months); "
        "default: the latest period with data.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind, start = attrs["kind"], attrs.get("period_start")
        if start is None:
            attrs["period_start"] = latest_period(kind)
        elif kind == PeriodKind.WEEK and start.weekday() != 0:
            raise serializers.ValidationError({"period_start": ["A week starts on a Monday."]})
        elif kind == PeriodKind.MONTH and start.day != 1:
            raise serializers.ValidationError({"period_start": ["A month starts on the 1st."]})
        return attrs


class MetricQuerySerializer(PeriodQuerySerializer):
    metric = serializers.ChoiceField(choices=Metric.choices, required=False)
    channel = serializers.ChoiceField(choices=CHANNEL_SCOPES, required=False)
    branch = serializers.CharField(required=False, help_text="Branch code.")
    region = serializers.CharField(required=False, help_text="Region code.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        branches = branch_scope(self.context["request"].user).branches()
        if "region" in attrs:
            region = visible_regions(self.context["request"]).filter(code=attrs["region"]).first()
            if region is None:
                raise serializers.ValidationError({"region": ["No such region among yours."]})
            attrs["region"] = region
            branches = branches.filter(region=region)
        if "branch" in attrs:
            branches = branches.filter(code=attrs["branch"])
            if not branches.exists():
                raise serializers.ValidationError({"branch": ["No such branch among yours."]})
        attrs["branch_ids"] = list(branches.values_list("pk", flat=True))
        return attrs


class JudgementSerializer(serializers.Serializer):
    centre = serializers.FloatField(help_text="The target, or the chain's pooled value.")
    z = FiniteFloatField(allow_null=True, help_text="null when the standard error is 0.")
    lower95 = serializers.FloatField(allow_null=True)
    upper95 = serializers.FloatField(allow_null=True)
    lower998 = serializers.FloatField(allow_null=True)
    upper998 = serializers.FloatField(allow_null=True)
    status = serializers.ChoiceField(
        choices=CELL_STATUSES,
        help_text="`insufficient` below the minimum sample size: never green, never flagged.",
    )

    def to_representation(self, instance: Judgement) -> dict[str, Any]:
        low95, high95 = instance.limits95 or (None, None)
        low998, high998 = instance.limits998 or (None, None)
        return {
            "centre": instance.centre,
            "z": self.fields["z"].to_representation(instance.z) if instance.z is not None else None,
            "lower95": low95,
            "upper95": high95,
            "lower998": low998,
            "upper998": high998,
            "status": str(instance.status),
        }


class MetricCellSerializer(serializers.Serializer):
    branch = serializers.CharField(source="branch.code")
    branch_name = serializers.CharField(source="branch.name")
    region = serializers.CharField(source="branch.region.code")
    metric = serializers.ChoiceField(choices=Metric.choices)
    channel = serializers.ChoiceField(choices=CHANNEL_SCOPES)
    period_start = serializers.DateField()
    x = serializers.IntegerField(help_text="Successes (failures for 'at most' metrics).")
    n = serializers.IntegerField(help_text="Contacts the metric counts.")
    detractors = serializers.IntegerField(allow_null=True, help_text="NPS only.")
    value = serializers.FloatField(allow_null=True)
    target = serializers.FloatField(allow_null=True)
    direction = serializers.CharField(allow_null=True)
    min_n = serializers.IntegerField(allow_null=True)
    standard = JudgementSerializer(allow_null=True, help_text="Against the standard.")
    peers = JudgementSerializer(allow_null=True, help_text="Against the branch's peers.")
    peer_group = serializers.CharField(
        help_text="Which peers were pooled: the branch's peer group, or empty for the chain."
    )
    disputed = serializers.IntegerField(
        allow_null=True,
        help_text="QA metrics only: reviews counted in n whose dispute is still open.",
    )


TESTS = ("standard", "peers")
CELL_COLUMNS: list[str] = [
    *(str(name) for name in MetricCellSerializer().fields if name not in TESTS),
    *(f"{test}_{name}" for test in TESTS for name in JudgementSerializer().fields),
]


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """One CSV row per cell: the two judgements spread over their own columns."""
    flat = {k: v for k, v in row.items() if k not in TESTS}
    for test in TESTS:
        for key, value in (row[test] or {}).items():
            flat[f"{test}_{key}"] = value
    return flat


class MetricCellsApi(APIView):
    """x, n, value, target, limits, z and status of every (branch, metric, channel) cell
    in one period, against the standard and against the chain's peers; `?format=csv`
    exports them."""

    required_scopes = SCOPES
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(parameters=[MetricQuerySerializer], responses=MetricCellSerializer(many=True))
    @reads_from_replica
    def get(self, request: Request) -> HttpResponse:
        query = _query(request, MetricQuerySerializer)
        cells = _cells(request, query)
        data = MetricCellSerializer(cells, many=True).data
        if request.accepted_renderer.format == "csv":
            return csv_table(CELL_COLUMNS, [_flat(row) for row in data], "metrics")
        return Response(data)


def _query(request: Request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    # A plain dict: an empty parameter is then a mistake, not a parameter left out.
    query = serializer_class(data=request.query_params.dict(), context={"request": request})
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def _cells(request: Request, query: dict[str, Any]) -> list[MetricCell]:
    return metric_cells(
        actor=request.user,
        kind=query["kind"],
        period_start=query["period_start"],
        metrics=[query["metric"]] if "metric" in query else None,
        channels=[query["channel"]] if "channel" in query else None,
        branch_ids=query["branch_ids"],
    )


# --- a region's comparison ---------------------------------------------------------------


class ComparisonQuerySerializer(MetricQuerySerializer):
    region = serializers.CharField(help_text="Region code.")
    metric = serializers.ChoiceField(choices=Metric.choices)
    channel = serializers.ChoiceField(choices=CHANNEL_SCOPES, default=ALL_CHANNELS)
    branch = None  # type: ignore[assignment]


class ComparisonSerializer(serializers.Serializer):
    region = serializers.CharField()
    metric = serializers.ChoiceField(choices=Metric.choices)
    channel = serializers.ChoiceField(choices=CHANNEL_SCOPES)
    kind = serializers.ChoiceField(choices=PeriodKind.choices)
    period_start = serializers.DateField()
    target = serializers.FloatField(allow_null=True)
    direction = serializers.CharField(allow_null=True)
    min_n = serializers.IntegerField(allow_null=True)
    pooled = serializers.FloatField(allow_null=True, help_text="The whole chain's value.")
    branches = MetricCellSerializer(many=True, help_text="Best value first; no data last.")


class ComparisonApi(APIView):
    """A region's branches side by side on one metric in one period, against the standard
    and the chain's peers, best first."""

    required_scopes = SCOPES

    @extend_schema(parameters=[ComparisonQuerySerializer], responses=ComparisonSerializer)
    @reads_from_replica
    def get(self, request: Request) -> Response:
        query = _query(request, ComparisonQuerySerializer)
        cells = _cells(request, query)
        at_most = bool(cells) and cells[0].direction == "at_most"
        cells.sort(
            key=lambda c: (c.value is None, (c.value or 0) * (1 if at_most else -1), c.branch.code)
        )
        first = cells[0] if cells else None
        return Response(
            ComparisonSerializer(
                {
                    "region": query["region"].code,
                    "metric": query["metric"],
                    "channel": query["channel"],
                    "kind": query["kind"],
                    "period_start": query["period_start"],
                    "target": first.target if first else None,
                    "direction": first.direction if first else None,
                    "min_n": first.min_n if first else None,
                    "pooled": first.pooled if first else None,
                    "branches": cells,
                }
            ).data
        )


# --- the consistency index ---------------------------------------------------------------


class IndexQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PeriodKind.choices, default=PeriodKind.WEEK)
    since = serializers.DateField(required=False, help_text="First period to include.")


class IndexSerializer(serializers.Serializer):
    kind = serializers.CharField()
    period_start = serializers.DateField()
    inside = serializers.IntegerField(help_text="Cells inside the peer 95 % limits.")
    cells = serializers.IntegerField(help_text="Cells with enough data to judge.")
    value = serializers.FloatField(allow_null=True, help_text="inside / cells.")


class ConsistencyIndexApi(APIView):
    """The chain's share of (branch, metric) cells inside the peer 95 % limits, per period
    (a chain-wide figure: it names no branch)."""

    required_scopes = SCOPES
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(parameters=[IndexQuerySerializer], responses=IndexSerializer(many=True))
    @reads_from_replica
    def get(self, request: Request) -> HttpResponse:
        query = _query(request, IndexQuerySerializer)
        rows = IndexSerializer(consistency_index(**query), many=True).data
        if request.accepted_renderer.format == "csv":
            return csv_table(list(IndexSerializer().fields), rows, "consistency-index")
        return Response(rows)


# --- flags -------------------------------------------------------------------------------


class FlagSerializer(serializers.ModelSerializer):
    branch = serializers.CharField(source="branch.code")
    metric = serializers.CharField(help_text=METRIC_HELP)
    region = serializers.CharField(source="branch.region.code")
    z = FiniteFloatField(allow_null=True, help_text="null when the standard error is 0.")
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)

    class Meta:
        model = Flag
        fields = [
            "id", "branch", "region", "metric", "channel", "kind", "period_start", "test",
            "severity", "status", "x", "n", "value", "centre", "lower95", "upper95",
            "lower998", "upper998", "z", "cusum", "signals", "critical_moments", "p_value",
            "discovery", "peer_group", "case", "owner", "due_date", "plan", "opened_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


OPEN_STATUSES = [FlagStatus.OPEN, FlagStatus.ACKNOWLEDGED, FlagStatus.ACTION_PLANNED]


class FlagFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=FlagStatus.choices)
    is_open = django_filters.BooleanFilter(
        method="_is_open", help_text="true: open, acknowledged or action planned."
    )
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    test = django_filters.ChoiceFilter(choices=TestKind.choices)
    metric = MetricFilter()
    channel = django_filters.ChoiceFilter(choices=CHANNEL_SCOPES)
    kind = django_filters.ChoiceFilter(choices=PeriodKind.choices)
    branch = django_filters.CharFilter(field_name="branch__code", help_text="Branch code.")
    region = django_filters.CharFilter(field_name="branch__region__code", help_text="Region code.")
    period_after = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_before = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")
    owner = django_filters.CharFilter(field_name="owner__username", help_text="Owner's username.")
    updated_after = TimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Only flags changed since then."
    )

    class Meta:
        model = Flag
        fields: list[str] = []

    def _is_open(self, queryset: QuerySet[Flag], name: str, value: bool | None) -> QuerySet[Flag]:
        if value is None:
            return queryset
        return (queryset.filter if value else queryset.exclude)(status__in=OPEN_STATUSES)


class FlagListApi(SyncListApi):
    """The flag queue at the caller's branches in priority order (alarms and CUSUM signals
    before warnings, then |z|, sample size and critical moments); `?format=csv` exports it."""

    serializer_class = FlagSerializer
    filterset_class = FlagFilter
    required_scopes = SCOPES
    csv_filename = "flags"
    keyset_ordering = ("rank", "-abs_z", "-n", "-critical_moments", "-period_start", "id")

    def get_queryset(self) -> QuerySet[Flag]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Flag.objects.none()
        return flag_queue(actor=self.request.user)


class FlagEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(
        source="actor.username", allow_null=True, default=None, help_text="Empty: the engine."
    )
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()


class TrendPointSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    x = serializers.IntegerField()
    n = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True)


class MomentShareSerializer(serializers.Serializer):
    moment = serializers.CharField(source="moment.name")
    cycle = serializers.CharField(source="moment.cycle.code")
    is_critical = serializers.BooleanField(source="moment.is_critical")
    contacts = serializers.IntegerField()
    complaints = serializers.IntegerField()
    complaint_rate = serializers.FloatField()
    csat_n = serializers.IntegerField()
    csat_low = serializers.IntegerField(help_text="CSAT of 3 or less.")
    csat_low_rate = serializers.FloatField(allow_null=True)


class FlagDetailSerializer(FlagSerializer):
    history = FlagEventSerializer(many=True, source="events.all")
    trend = serializers.SerializerMethodField(help_text="The last 12 periods up to this one.")
    moments = serializers.SerializerMethodField(
        help_text="Which moments of truth drive complaints and low CSAT: critical first."
    )

    class Meta(FlagSerializer.Meta):
        fields = [*FlagSerializer.Meta.fields, "history", "trend", "moments"]
        read_only_fields = fields

    @extend_schema_field(TrendPointSerializer(many=True))
    def get_trend(self, flag: Flag) -> Any:
        return TrendPointSerializer(flag_trend(flag), many=True).data

    @extend_schema_field(MomentShareSerializer(many=True))
    def get_moments(self, flag: Flag) -> Any:
        moments = moment_breakdown(
            branch=flag.branch, kind=flag.kind, period_start=flag.period_start
        )
        return MomentShareSerializer(moments, many=True).data


def _flag(request: Request, pk: int) -> Flag:
    return scoped_get(flag_queue(actor=request.user).prefetch_related("events__actor"), pk=pk)


class FlagDetailApi(APIView):
    """A flag with its evidence: the cell and its limits, the trend, the moments of truth
    behind it, and the history of who did what when."""

    required_scopes = SCOPES

    @extend_schema(responses=FlagDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return detail_response(_flag(request, pk), FlagDetailSerializer)


urlpatterns = [
    path("consistency/metrics/", MetricCellsApi.as_view(), name="consistency-metrics"),
    path("consistency/comparison/", ComparisonApi.as_view(), name="consistency-comparison"),
    path("consistency/index/", ConsistencyIndexApi.as_view(), name="consistency-index"),
    path("flags/", FlagListApi.as_view(), name="flag-list"),
    path("flags/<int:pk>/", FlagDetailApi.as_view(), name="flag-detail"),
]
