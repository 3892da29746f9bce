"""REST API of the feedback loop: answers collected by other systems (a kiosk, an IVR, a
messaging bot), tied to an interaction by id or by its (source, external_id)."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.serializers import ExternalRefSerializer, StrictSerializer
from feedback.models import FeedbackResponse
from feedback.services import feedback_record
from interactions.api import interaction_named

SCOPES = {"read": "interactions:read", "write": "interactions:write"}


class FeedbackInSerializer(StrictSerializer):
    interaction = serializers.IntegerField(
        required=False, min_value=1, help_text="The interaction's id; or give interaction_ref."
    )
    interaction_ref = ExternalRefSerializer(
        required=False, help_text="The interaction's (source, external_id)."
    )
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=64, help_text="Where the answer was collected, e.g. kiosk, ivr, whatsapp."
    )
    external_id = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        help_text="The answer's id in that system: sending it again changes nothing.",
    )
    nps = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    csat = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    handling = serializers.IntegerField(
        min_value=1,
        max_value=5,
        required=False,
        allow_null=True,
        help_text="How well the customer's complaint was handled, 1 (very badly) to 5 (very "
        "well): the complaint_handling_satisfied measure (4 or 5). Leaves the interaction's "
        "CSAT and NPS as they are.",
    )
    handling_comment = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="What the customer says the chain could do better in handling complaints.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("interaction" in attrs) == ("interaction_ref" in attrs):
            raise serializers.ValidationError(
                {"interaction": ["Give either interaction or interaction_ref."]}
            )
        if all(attrs.get(score) is None for score in ("nps", "csat", "handling")) and not (
            attrs.get("comment") or attrs.get("handling_comment")
        ):
            raise serializers.ValidationError(
                {"nps": ["Give an NPS, CSAT or complaint handling score, or a comment."]}
            )
        return attrs


class FeedbackSerializer(serializers.ModelSerializer):
    branch = serializers.CharField(source="branch.code")
    follow_up = serializers.SerializerMethodField(help_text="Whether a call back was opened.")

    class Meta:
        model = FeedbackResponse
        fields = [
            "id", "interaction", "branch", "source", "external_id", "nps", "csat", "comment",
            "handling", "handling_comment", "received_at", "follow_up",
        ]  # fmt: skip
        read_only_fields = fields

    def get_follow_up(self, response: FeedbackResponse) -> bool:
        return response.needs_follow_up


class FeedbackCreateApi(APIView):
    """Record a customer's answer collected elsewhere. It sets the interaction's CSAT/NPS
    (the statistics follow), opens a follow-up for a detractor or a CSAT of 2 or less, and
    sends a `feedback.received` webhook. An answer about how a complaint was handled gives
    `handling` (1-5) and `handling_comment`. The same (source, external_id) again is
    answered with the first result (200) and changes nothing."""

    required_scopes = SCOPES

    @extend_schema(
        request=FeedbackInSerializer,
        responses={
            201: FeedbackSerializer,
            200: OpenApiResponse(FeedbackSerializer, description="Already recorded."),
        },
    )
    def post(self, request: Request) -> Response:
        data = FeedbackInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        interaction = interaction_named(request.user, values)
        response, created = feedback_record(actor=request.user, interaction=interaction, **values)
        return Response(
            FeedbackSerializer(response).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


urlpatterns = [path("feedback/", FeedbackCreateApi.as_view(), name="feedback-create")]
