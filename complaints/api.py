"""REST API for complaints (read): each with its reference, type and area codes, status and
the next due date, at the caller's branches; ``?format=csv`` exports them. Scope
``interactions:read`` (a complaint is a touchpoint's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.filters import StrictFilterSet, TimeFilter
from common.api.views import SyncListApi, detail_response, scoped_get
from complaints.models import OPEN_STATUSES, Complaint, Severity, Status
from complaints.selectors import complaint_list, next_due

SCOPES = {"read": "interactions:read", "write": "interactions:write"}


class ComplaintSerializer(serializers.ModelSerializer[Complaint]):
    interaction = serializers.IntegerField(source="interaction_id", read_only=True)
    branch = serializers.CharField(source="branch.code", read_only=True)
    type = serializers.CharField(
        source="type.code", read_only=True, allow_null=True, help_text="The type's code."
    )
    area = serializers.CharField(
        source="type.area.code", read_only=True, allow_null=True, help_text="The area's code."
    )
    owner = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
    due_at = serializers.SerializerMethodField(
        help_text="The next deadline: the acknowledgement while received, then the response; "
        "null once responded."
    )

    class Meta:
        model = Complaint
        fields = [
            "id", "reference", "interaction", "branch", "received_at", "type", "area",
            "severity", "status", "due_at", "acknowledge_due", "respond_due",
            "acknowledged_at", "responded_at", "closed_at", "text", "remedy", "response",
            "owner", "source", "external_id", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_due_at(self, complaint: Complaint) -> datetime | None:
        return next_due(complaint)


class ComplaintFilter(StrictFilterSet):
    updated_after = TimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Only rows changed at or after."
    )
    branch = django_filters.CharFilter(field_name="branch__code", help_text="Branch code.")
    status = django_filters.ChoiceFilter(choices=Status.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    type = django_filters.CharFilter(field_name="type__code", help_text="Type code.")
    area = django_filters.CharFilter(field_name="type__area__code", help_text="Area code.")
    overdue = django_filters.BooleanFilter(
        method="_overdue", help_text="Only open complaints past their next deadline."
    )

    class Meta:
        model = Complaint
        fields: list[str] = []

    def _overdue(self, queryset: QuerySet[Complaint], name: str, value: bool) -> Any:
        if not value:
            return queryset
        now = timezone.now()
        late = queryset.filter(status=Status.RECEIVED, acknowledge_due__lt=now) | queryset.filter(
            status__in=[s for s in OPEN_STATUSES if s != Status.RESPONDED], respond_due__lt=now
        )
        return late.distinct()


class ComplaintListApi(SyncListApi):
    """Complaints at the caller's branches in sync order (updated_at, id)."""

    serializer_class = ComplaintSerializer
    filterset_class = ComplaintFilter
    required_scopes = SCOPES
    csv_filename = "complaints"

    def get_queryset(self) -> QuerySet[Complaint]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Complaint.objects.none()
        return complaint_list(actor=self.request.user)


class ComplaintDetailApi(APIView):
    serializer_class = ComplaintSerializer
    required_scopes = SCOPES

    @extend_schema(responses=ComplaintSerializer)
    def get(self, request: Request, pk: int) -> Response:
        complaint = scoped_get(complaint_list(actor=request.user), pk=pk)
        return detail_response(complaint, ComplaintSerializer)


urlpatterns = [
    path("complaints/", ComplaintListApi.as_view(), name="complaint-list"),
    path("complaints/<int:pk>/", ComplaintDetailApi.as_view(), name="complaint-detail"),
]
