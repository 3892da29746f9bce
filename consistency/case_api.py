"""REST API of cases (SPEC §4a): the queue in priority order, a case with its evidence
and history, and its lifecycle. Reading needs ``analytics:read``; the lifecycle is for
managers signed in as themselves, never for API keys."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from branches.models import User
from common.api.fields import FiniteFloatField
from common.api.filters import StrictFilterSet, TimeFilter
from common.api.serializers import StrictSerializer
from common.api.views import SyncListApi, detail_response, scoped_get
from consistency.api import FlagSerializer, TrendPointSerializer
from consistency.api_metric import METRIC_HELP, MetricFilter
from consistency.case_selectors import CASE_ORDER, case_flags, case_history, case_queue, case_trends
from consistency.lifecycle import case_transition
from consistency.models import Case, CaseStatus, Severity

SCOPES = {"read": "analytics:read"}  # no "write": API keys never move cases


class CaseSerializer(serializers.ModelSerializer):
    branch = serializers.CharField(source="branch.code", help_text="Branch code.")
    metric = serializers.CharField(help_text=METRIC_HELP)
    region = serializers.CharField(source="branch.region.code")
    owner = serializers.CharField(source="owner.username", allow_null=True, default=None)
    channels = serializers.ListField(child=serializers.CharField())
    tests = serializers.ListField(child=serializers.CharField())
    value = FiniteFloatField(allow_null=True)
    priority = serializers.FloatField(help_text="Higher first: the queue's order as a number.")
    summary = serializers.CharField(help_text="What diverges, in words.")
    peers = serializers.SerializerMethodField(help_text="Which peers the peer test pooled.")

    class Meta:
        model = Case
        fields = [
            "id", "branch", "region", "metric", "status", "severity", "channels", "tests",
            "first_period", "last_period", "periods", "alarm_periods", "priority", "summary",
            "x", "n", "value", "target", "peer_value", "peers", "abs_z", "cusum",
            "critical_moments", "quiet_periods", "owner", "due_date", "plan", "opened_at",
            "updated_at", "resolved_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_peers(self, case: Case) -> str:
        return f"peer group {case.peer_group}" if case.peer_group else "the whole chain"


class CaseEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(
        source="actor.username", allow_null=True, default=None, help_text="Empty: the engine."
    )
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    via = serializers.CharField(source="source_label", help_text="Where the step came from.")


class ChannelTrendSerializer(serializers.Serializer):
    channel = serializers.CharField()
    points = TrendPointSerializer(many=True)


class CaseDetailSerializer(CaseSerializer):
    flags = serializers.SerializerMethodField(help_text="Its evidence, newest first.")
    history = serializers.SerializerMethodField()
    trends = serializers.SerializerMethodField(help_text="The metric by week per channel.")

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "flags", "history", "trends"]
        read_only_fields = fields

    @extend_schema_field(FlagSerializer(many=True))
    def get_flags(self, case: Case) -> Any:
        return FlagSerializer(case_flags(case).select_related("branch__region"), many=True).data

    @extend_schema_field(CaseEventSerializer(many=True))
    def get_history(self, case: Case) -> Any:
        return CaseEventSerializer(case_history(case), many=True).data

    @extend_schema_field(ChannelTrendSerializer(many=True))
    def get_trends(self, case: Case) -> Any:
        trends = [{"channel": c, "points": p} for c, p in case_trends(case).items()]
        return ChannelTrendSerializer(trends, many=True).data


class CaseFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CaseStatus.choices)
    is_open = django_filters.BooleanFilter(
        method="_is_open", help_text="true: open, acknowledged, action planned or monitoring."
    )
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    metric = MetricFilter()
    branch = django_filters.CharFilter(field_name="branch__code", help_text="Branch code.")
    region = django_filters.CharFilter(field_name="branch__region__code", help_text="Region code.")
    peer_group = django_filters.CharFilter(field_name="branch__peer_group")
    updated_after = TimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Only cases changed since then."
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def _is_open(self, queryset: QuerySet[Case], name: str, value: bool | None) -> QuerySet[Case]:
        if value is None:
            return queryset
        method = queryset.filter if value else queryset.exclude
        return method(status__in=Case.OPEN_STATUSES)


class CaseListApi(SyncListApi):
    """Cases at the caller's branches in priority order (alarm-level evidence first, then
    the strongest, longest, largest); `?format=csv` exports every match."""

    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    required_scopes = SCOPES
    csv_filename = "cases"
    keyset_ordering = CASE_ORDER

    def get_queryset(self) -> QuerySet[Case]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Case.objects.none()
        return case_queue(actor=self.request.user)


def _case(request: Request, pk: int) -> Case:
    return scoped_get(case_queue(actor=request.user), pk=pk)


class CaseDetailApi(APIView):
    """A case with its evidence (the flags), its trend per channel and its history."""

    required_scopes = SCOPES

    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return detail_response(_case(request, pk), CaseDetailSerializer)


class NoteSerializer(StrictSerializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class PlanSerializer(NoteSerializer):
    owner = serializers.CharField(help_text="Username of who owns the plan.")
    due_date = serializers.DateField()
    plan = serializers.CharField(max_length=5000)

    def validate_owner(self, value: str) -> User:
        owner = User.objects.filter(username=value, is_active=True).first()
        if owner is None:
            raise serializers.ValidationError("No active user has this username.")
        return owner


class CaseActionApi(APIView):
    """One step of the lifecycle; answers with the case as it now is."""

    required_scopes = SCOPES
    action: str
    serializer_class: type[serializers.Serializer] = NoteSerializer

    def post(self, request: Request, pk: int) -> Response:
        case = _case(request, pk)
        data = self.serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        case_transition(actor=request.user, case=case, action=self.action, **data.validated_data)
        return detail_response(_case(request, pk), CaseDetailSerializer)


def _schema(request: type[serializers.Serializer]) -> Any:
    return extend_schema_view(post=extend_schema(request=request, responses=CaseDetailSerializer))


@_schema(NoteSerializer)
class CaseAcknowledgeApi(CaseActionApi):
    """Acknowledge an open case (a note is optional)."""

    action = "acknowledge"


@_schema(PlanSerializer)
class CasePlanApi(CaseActionApi):
    """Plan the action: who owns it, by when, and what."""

    action = "plan"
    serializer_class = PlanSerializer


@_schema(NoteSerializer)
class CaseMonitorApi(CaseActionApi):
    """The plan is in place: the engine re-measures, and resolves the case once the branch
    has been back within the limits long enough."""

    action = "monitor"


@_schema(NoteSerializer)
class CaseResolveApi(CaseActionApi):
    """Close the case, saying what was done."""

    action = "resolve"


@_schema(NoteSerializer)
class CaseNoteApi(CaseActionApi):
    """Add a note to the case's history, whatever its status."""

    action = "note"


urlpatterns = [
    path("cases/", CaseListApi.as_view(), name="case-list"),
    path("cases/<int:pk>/", CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<int:pk>/acknowledge/", CaseAcknowledgeApi.as_view(), name="case-acknowledge"),
    path("cases/<int:pk>/plan/", CasePlanApi.as_view(), name="case-plan"),
    path("cases/<int:pk>/monitor/", CaseMonitorApi.as_view(), name="case-monitor"),
    path("cases/<int:pk>/resolve/", CaseResolveApi.as_view(), name="case-resolve"),
    path("cases/<int:pk>/notes/", CaseNoteApi.as_view(), name="case-notes"),
]
