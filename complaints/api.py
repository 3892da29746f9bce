"""REST API for complaints: each with its reference, type and area codes, status and the
next due date, at the caller's branches; ``?format=csv`` exports them. An integration
records one about an interaction (by id or by its reference), upserted by the complaint's
own (source, external_id). Scopes ``interactions:read`` and ``interactions:write`` (a
complaint is a touchpoint's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.etag import etag_of
from common.api.filters import StrictFilterSet, TimeFilter
from common.api.serializers import ExternalRefSerializer, StrictSerializer, shared_serializer
from common.api.views import SyncListApi, detail_response, scoped_get
from complaints.models import Complaint, ComplaintType, Severity, Status
from complaints.selectors import complaint_list, next_due, overdue_q
from complaints.sync import complaint_upsert
from interactions.api import interaction_named

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
        return queryset.filter(overdue_q(timezone.now()))


class ComplaintInSerializer(StrictSerializer):
    """A complaint an integration records, about an interaction it names by id or by its
    reference. Sent again with the same (source, external_id), it updates the type,
    severity, text and remedy (what is left out keeps its value); the handling (status,
    owner, response) is the staff's."""

    interaction = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="The interaction's id; or give interaction_ref.",
    )
    interaction_ref = ExternalRefSerializer(
        required=False, help_text="The interaction's (source, external_id)."
    )
    type = serializers.CharField(
        max_length=60, required=False, help_text="A current complaint type's code."
    )
    severity = serializers.ChoiceField(
        choices=Severity.choices, required=False, help_text="Medium when a new one leaves it out."
    )
    text = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, help_text="What the customer said."
    )
    remedy = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        help_text="The remedy the customer asks for.",
    )
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=64, required=False, allow_blank=True, help_text="The integration's system."
    )
    external_id = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        help_text="The complaint's id in that system: sending it again updates the complaint.",
    )

    def validate_type(self, code: str) -> ComplaintType:
        kind = ComplaintType.objects.filter(code=code, retired_at__isnull=True).first()
        if kind is not None:
            return kind
        if ComplaintType.objects.filter(code=code).exists():
            raise serializers.ValidationError("This type is retired: choose a current one.")
        raise serializers.ValidationError("No such complaint type.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("interaction" in attrs) == ("interaction_ref" in attrs):
            raise serializers.ValidationError(
                {"interaction": ["Give either interaction or interaction_ref."]}
            )
        if bool(attrs.get("source")) != bool(attrs.get("external_id")):
            raise serializers.ValidationError(
                {"external_id": ["Give source and external_id together, or neither."]}
            )
        return attrs


EXAMPLE = {
    "interaction_ref": {"source": "callcentre", "external_id": "call-20261120-0042"},
    "type": "queue-too-long",
    "severity": "high",
    "text": "Antre 40 menit, cuma 1 teller buka",
    "remedy": "An apology and a faster queue",
    "source": "helpdesk",
    "external_id": "TICKET-8812",
}


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

    @extend_schema(
        summary="Record a complaint (upsert by source and external_id)",
        description=(
            "Records the complaint about an interaction at a branch the caller writes at, "
            "and marks the interaction a complaint. The same (source, external_id) again "
            "updates type, severity, text and remedy (200); the complaint an interaction "
            "marked as one already got is taken over (200). An interaction whose complaint "
            "has another external id is refused (400)."
        ),
        request=ComplaintInSerializer,
        responses={
            201: ComplaintSerializer,
            200: OpenApiResponse(ComplaintSerializer, description="Updated, or unchanged."),
        },
        examples=[OpenApiExample("A ticket of a helpdesk", value=EXAMPLE, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        data = ComplaintInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        interaction = interaction_named(request.user, values)
        if "type" in values:
            values["complaint_type"] = values.pop("type")
        complaint, outcome = complaint_upsert(actor=request.user, **values, interaction=interaction)
        complaint = complaint_list(actor=request.user).get(pk=complaint.pk)
        return Response(
            shared_serializer(ComplaintSerializer).to_representation(complaint),
            status=status.HTTP_201_CREATED if outcome == "created" else status.HTTP_200_OK,
            headers={"ETag": etag_of(complaint)},
        )


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
