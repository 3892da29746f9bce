"""REST API for interactions (sync feed, single writes with ETag, upsert by external id,
bulk, feedback) and the service cycles with their moments of truth."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.etag import if_match
from common.api.fields import AwareDateTimeField, CodeField, SyncFieldsMixin, iso_datetime
from common.api.filters import IdFilter, SyncFilterSet, TimeFilter
from common.api.serializers import (
    BulkResponseSerializer,
    ExternalRefSerializer,
    StrictSerializer,
    ValuesRepresentation,
    bulk_request_schema,
    shared_serializer,
)
from common.api.views import (
    BulkUpsertApi,
    SyncListApi,
    detail_response,
    scoped_get,
    single_write_response,
)
from common.models import external_ref_filter
from customers.models import Channel
from interactions.models import Direction, Interaction, Moment, Outcome, ServiceCycle
from interactions.selectors import interaction_feed, interaction_list
from interactions.services import (
    interaction_delete,
    interaction_feedback_record,
    interactions_upsert,
)

SCOPES = {"read": "interactions:read", "write": "interactions:write"}


def interaction_named(actor: Any, values: dict[str, Any]) -> Interaction:
    """The interaction a write names, by ``interaction`` (its id) or ``interaction_ref``
    ({source, external_id}), popped from ``values``; among the caller's, else 404."""
    interactions = interaction_list(actor=actor)
    if "interaction_ref" in values:
        ref = values.pop("interaction_ref")
        return scoped_get(external_ref_filter(interactions, ref["source"], [ref["external_id"]]))
    return scoped_get(interactions, pk=values.pop("interaction"))


class InteractionSerializer(ValuesRepresentation, SyncFieldsMixin, StrictSerializer):
    """A touchpoint. On writes every field is optional: what is left out keeps its value
    (a new interaction needs branch, channel, occurred_at and outcome)."""

    value_columns = (
        "id",
        "created_at",
        "updated_at",
        "deleted_at",
        "branch__code",
        "customer_id",
        "customer__source",
        "customer__external_id",
        "staff__username",
        "channel",
        "direction",
        "occurred_at",
        "wait_seconds",
        "handle_seconds",
        "outcome",
        "topic",
        "is_complaint",
        "notes",
        "moment_id",
        "csat",
        "nps",
        "feedback_comment",
        "feedback_at",
        "source",
        "external_id",
    )

    @classmethod
    def represent_values(cls, row: dict[str, Any], zone: tzinfo) -> dict[str, Any]:
        return {
            "id": row["id"],
            "created_at": iso_datetime(row["created_at"], zone),
            "updated_at": iso_datetime(row["updated_at"], zone),
            "deleted": row["deleted_at"] is not None,
            "branch": row["branch__code"],
            "customer": row["customer_id"],
            "customer_ref": {
                "source": row["customer__source"],
                "external_id": row["customer__external_id"],
            }
            if row["customer__external_id"]
            else None,
            "staff": row["staff__username"],
            "channel": row["channel"],
            "direction": row["direction"],
            "occurred_at": iso_datetime(row["occurred_at"], zone),
            "wait_seconds": row["wait_seconds"],
            "handle_seconds": row["handle_seconds"],
            "outcome": row["outcome"],
            "topic": row["topic"],
            "is_complaint": row["is_complaint"],
            "notes": row["notes"],
            "moment": row["moment_id"],
            "csat": row["csat"],
            "nps": row["nps"],
            "feedback_comment": row["feedback_comment"],
            "feedback_at": iso_datetime(row["feedback_at"], zone),
            "source": row["source"],
            "external_id": row["external_id"],
        }

    branch = CodeField(max_length=32, required=False, help_text="Branch code, e.g. nor-01.")
    customer = serializers.IntegerField(
        source="customer_id",
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Customer id.",
    )
    customer_ref = ExternalRefSerializer(
        required=False,
        allow_null=True,
        help_text="The customer by the integration's own reference, instead of `customer`.",
    )
    staff = serializers.CharField(source="staff.username", read_only=True, allow_null=True)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    occurred_at = AwareDateTimeField(required=False)
    wait_seconds = serializers.IntegerField(
        min_value=0, max_value=2_000_000_000, required=False, allow_null=True
    )
    handle_seconds = serializers.IntegerField(
        min_value=0, max_value=2_000_000_000, required=False, allow_null=True
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    topic = serializers.CharField(max_length=120, required=False, allow_blank=True)
    is_complaint = serializers.BooleanField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    moment = serializers.IntegerField(
        source="moment_id",
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Moment of truth id.",
    )
    csat = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    nps = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    feedback_comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    feedback_at = serializers.DateTimeField(read_only=True, allow_null=True)
    source = serializers.CharField(max_length=64, required=False, allow_blank=True)  # type: ignore[assignment]
    external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)

    def to_representation(self, instance: Interaction) -> dict[str, Any]:
        data = super().to_representation(instance)
        customer = instance.customer
        data["customer_ref"] = (
            {"source": customer.source, "external_id": customer.external_id}
            if customer is not None and customer.external_id
            else None
        )
        return data

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        # Services speak model field names: customer/moment by id.
        for wire, field in (("customer", "customer_id"), ("moment", "moment_id")):
            if field in values:
                values[wire] = values.pop(field)
        if values.get("customer") is not None and values.get("customer_ref"):
            raise serializers.ValidationError(
                {"customer_ref": ["Name the customer by id or by reference, not both."]}
            )
        if values.get("customer_ref") is None:
            values.pop("customer_ref", None)
        return values


class InteractionFilter(SyncFilterSet):
    branch = django_filters.CharFilter(field_name="branch__code", help_text="Branch code.")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    is_complaint = django_filters.BooleanFilter()
    occurred_after = TimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = TimeFilter(field_name="occurred_at", lookup_expr="lt")
    customer = IdFilter(field_name="customer_id", help_text="Customer id.")
    source = django_filters.CharFilter()
    external_id = django_filters.CharFilter()

    class Meta:
        model = Interaction
        fields: list[str] = []


EXAMPLE = {
    "source": "callcentre",
    "external_id": "call-20261120-0042",
    "branch": "nor-01",
    "customer_ref": {"source": "pos", "external_id": "C-1"},
    "channel": "phone",
    "occurred_at": "2026-11-20T09:14:00Z",
    "wait_seconds": 22,
    "handle_seconds": 240,
    "outcome": "resolved",
    "topic": "card problem",
}


class InteractionListCreateApi(SyncListApi):
    """Interactions at the caller's branches in sync order; `?format=csv` exports them."""

    serializer_class = InteractionSerializer
    filterset_class = InteractionFilter
    required_scopes = SCOPES
    csv_filename = "interactions"

    def get_queryset(self) -> QuerySet[Interaction]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Interaction.objects.none()
        return interaction_feed(actor=self.request.user)

    @extend_schema(
        responses={201: InteractionSerializer},
        examples=[OpenApiExample("A call", value=EXAMPLE, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        item = shared_serializer(InteractionSerializer).run_validation(request.data)
        [result] = interactions_upsert(actor=request.user, items=[dict(item)], create_only=True)
        return single_write_response(result, InteractionSerializer)


class InteractionDetailApi(APIView):
    serializer_class = InteractionSerializer
    required_scopes = SCOPES

    def _get(self, request: Request, pk: int) -> Interaction:
        return scoped_get(interaction_list(actor=request.user), pk=pk)

    @extend_schema(responses=InteractionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return detail_response(self._get(request, pk), InteractionSerializer)

    @extend_schema(request=InteractionSerializer, responses=InteractionSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        interaction = self._get(request, pk)
        item = InteractionSerializer(data=request.data, partial=True)
        item.is_valid(raise_exception=True)
        [result] = interactions_upsert(
            actor=request.user,
            items=[{**item.validated_data, "id": interaction.pk}],
            if_match=if_match(request),
        )
        return single_write_response(result, InteractionSerializer)

    put = patch

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        interaction_delete(
            actor=request.user, interaction=self._get(request, pk), if_match=if_match(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InteractionByExternalIdApi(APIView):
    """The interaction an integration knows as (source, external_id): PUT creates or updates."""

    serializer_class = InteractionSerializer
    required_scopes = SCOPES

    @extend_schema(responses=InteractionSerializer)
    def get(self, request: Request, source: str, external_id: str) -> Response:
        interaction = scoped_get(
            interaction_list(actor=request.user), source=source, external_id=external_id
        )
        return detail_response(interaction, InteractionSerializer)

    @extend_schema(
        request=InteractionSerializer,
        responses={200: InteractionSerializer, 201: InteractionSerializer},
        examples=[OpenApiExample("A call", value=EXAMPLE, request_only=True)],
    )
    def put(self, request: Request, source: str, external_id: str) -> Response:
        item = InteractionSerializer(data=request.data)
        item.is_valid(raise_exception=True)
        data = {**item.validated_data, "source": source, "external_id": external_id}
        [result] = interactions_upsert(actor=request.user, items=[data], if_match=if_match(request))
        return single_write_response(result, InteractionSerializer)


class InteractionBulkApi(BulkUpsertApi):
    """Up to 1 000 interactions; each with an external reference is created or updated."""

    item_serializer_class = InteractionSerializer
    required_scopes = SCOPES
    upsert = staticmethod(interactions_upsert)

    @extend_schema(
        request={"application/json": bulk_request_schema("InteractionRequest")},
        responses=BulkResponseSerializer,
        examples=[OpenApiExample("A batch of calls", value=[EXAMPLE], request_only=True)],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class FeedbackSerializer(StrictSerializer):
    csat = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    nps = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class InteractionFeedbackApi(APIView):
    """Record the customer's CSAT/NPS and comment for one interaction."""

    required_scopes = SCOPES

    @extend_schema(request=FeedbackSerializer, responses=InteractionSerializer)
    def post(self, request: Request, pk: int) -> Response:
        interaction = scoped_get(interaction_list(actor=request.user), pk=pk)
        feedback = FeedbackSerializer(data=request.data)
        feedback.is_valid(raise_exception=True)
        interaction = interaction_feedback_record(
            actor=request.user,
            interaction=interaction,
            csat=feedback.validated_data.get("csat"),
            nps=feedback.validated_data.get("nps"),
            comment=feedback.validated_data.get("comment", ""),
        )
        return detail_response(interaction, InteractionSerializer)


class MomentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Moment
        fields = ["id", "position", "name", "is_critical"]


class ServiceCycleSerializer(serializers.ModelSerializer):
    moments = MomentSerializer(many=True, read_only=True)

    class Meta:
        model = ServiceCycle
        fields = ["id", "code", "name", "description", "moments"]


class ServiceCycleListApi(generics.ListAPIView):
    """Service cycles and their ordered moments of truth (critical ones marked)."""

    serializer_class = ServiceCycleSerializer
    required_scopes = {"read": "interactions:read"}
    pagination_class = None
    queryset = ServiceCycle.objects.prefetch_related("moments")


class ServiceCycleDetailApi(generics.RetrieveAPIView):
    serializer_class = ServiceCycleSerializer
    required_scopes = {"read": "interactions:read"}
    queryset = ServiceCycle.objects.prefetch_related("moments")


urlpatterns = [
    path("interactions/", InteractionListCreateApi.as_view(), name="interaction-list"),
    path("interactions/bulk/", InteractionBulkApi.as_view(), name="interaction-bulk"),
    path(
        "interactions/by-external-id/<str:source>/<str:external_id>/",
        InteractionByExternalIdApi.as_view(),
        name="interaction-by-external-id",
    ),
    path("interactions/<int:pk>/", InteractionDetailApi.as_view(), name="interaction-detail"),
    path(
        "interactions/<int:pk>/feedback/",
        InteractionFeedbackApi.as_view(),
        name="interaction-feedback",
    ),
    path("service-cycles/", ServiceCycleListApi.as_view(), name="service-cycle-list"),
    path("service-cycles/<int:pk>/", ServiceCycleDetailApi.as_view(), name="service-cycle-detail"),
]
