"""REST API for quality reviews: QA tools and speech analytics that score outside send
their reviews (upsert by source + external_id, bulk, Idempotency-Key), and read them back
in sync order. Scopes: ``staff:read`` and ``staff:write``."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.fields import CodeField, SyncFieldsMixin
from common.api.filters import SyncFilterSet
from common.api.serializers import (
    BulkResponseSerializer,
    ExternalRefSerializer,
    StrictSerializer,
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
from quality.imports import reviews_upsert
from quality.models import Review
from quality.selectors import review_feed

SCOPES = {"read": "staff:read", "write": "staff:write"}
ANSWER_ERROR = "An answer is a whole number from 0 to 5, or null (not applicable)."


class AnswersField(serializers.DictField):
    """Item code -> answer: 0 or 1 for a yes/no item, 1 to 5 for a scaled one, null for
    not applicable. Checked here in one pass (a batch holds thousands of answers); which
    answers an item takes is the scorecard's to say (quality.services.review_score)."""

    child = serializers.IntegerField(min_value=0, max_value=5, allow_null=True)

    def to_internal_value(self, data: Any) -> dict[str, int | None]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        wrong = [
            f"{code}: {ANSWER_ERROR}"
            for code, value in data.items()
            if not (value is None or (type(value) is int and 0 <= value <= 5))
        ]
        if wrong:
            raise serializers.ValidationError(wrong)
        return {str(code): value for code, value in data.items()}


class ReviewSerializer(SyncFieldsMixin, StrictSerializer):
    """A review of one interaction against a scorecard (the version in force on the
    interaction's day). Score, pass and critical fail are worked out here."""

    interaction = serializers.IntegerField(
        source="interaction_id",
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Interaction id.",
    )
    interaction_ref = ExternalRefSerializer(
        required=False,
        allow_null=True,
        help_text="The interaction by the integration's own reference, instead of `interaction`.",
    )
    scorecard = CodeField(max_length=40, help_text="The scorecard's code, e.g. phone.")
    scorecard_version = serializers.DateField(source="scorecard.effective_from", read_only=True)
    answers = AnswersField(help_text="Item code -> answer; null for not applicable.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    score = serializers.FloatField(read_only=True, allow_null=True)
    passed = serializers.BooleanField(read_only=True)
    critical_fail = serializers.BooleanField(read_only=True)
    disputed = serializers.BooleanField(read_only=True)
    kind = serializers.CharField(read_only=True)
    agent = serializers.CharField(source="agent.username", read_only=True, allow_null=True)
    reviewer = serializers.CharField(source="reviewer.username", read_only=True, allow_null=True)
    branch = serializers.CharField(source="branch.code", read_only=True)
    channel = serializers.CharField(read_only=True)
    occurred_at = serializers.DateTimeField(read_only=True)
    source = serializers.CharField(max_length=64, required=False, allow_blank=True)  # type: ignore[assignment]
    external_id = serializers.CharField(max_length=128, required=False, allow_blank=True)

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        if "interaction_id" in values:
            values["interaction"] = values.pop("interaction_id")
        if values.get("interaction") is not None and values.get("interaction_ref"):
            raise serializers.ValidationError(
                {"interaction_ref": ["Name the interaction by id or by reference, not both."]}
            )
        if values.get("interaction_ref") is None:
            values.pop("interaction_ref", None)
        return values


class ReviewFilter(SyncFilterSet):
    branch = django_filters.CharFilter(field_name="branch__code", help_text="Branch code.")
    agent = django_filters.CharFilter(field_name="agent__username", help_text="Agent's login.")
    scorecard = django_filters.CharFilter(field_name="scorecard__code")
    source = django_filters.CharFilter()
    external_id = django_filters.CharFilter()

    class Meta:
        model = Review
        fields: list[str] = []


EXAMPLE = {
    "source": "speechqa",
    "external_id": "qa-20261120-0042",
    "interaction_ref": {"source": "callcentre", "external_id": "call-20261120-0042"},
    "scorecard": "phone",
    "answers": {"greets-by-name": 1, "does-not-interrupt": 1, "confirms-amount": 0},
    "comment": "Did not read the amount back.",
}


class ReviewListCreateApi(SyncListApi):
    """Reviews of interactions at the caller's branches in sync order; `?format=csv`
    exports them."""

    serializer_class = ReviewSerializer
    filterset_class = ReviewFilter
    required_scopes = SCOPES
    csv_filename = "reviews"

    def get_queryset(self) -> QuerySet[Review]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Review.objects.none()
        return review_feed(actor=self.request.user)

    @extend_schema(
        responses={201: ReviewSerializer},
        examples=[OpenApiExample("A scored call", value=EXAMPLE, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        item = shared_serializer(ReviewSerializer).run_validation(request.data)
        [result] = reviews_upsert(actor=request.user, items=[dict(item)], create_only=True)
        return single_write_response(result, ReviewSerializer)


class ReviewDetailApi(APIView):
    serializer_class = ReviewSerializer
    required_scopes = SCOPES

    @extend_schema(responses=ReviewSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return detail_response(scoped_get(review_feed(actor=request.user), pk=pk), ReviewSerializer)


class ReviewBulkApi(BulkUpsertApi):
    """Up to 1 000 reviews; each with an external reference is created or updated."""

    item_serializer_class = ReviewSerializer
    required_scopes = SCOPES
    upsert = staticmethod(reviews_upsert)

    @extend_schema(
        request={"application/json": bulk_request_schema("ReviewRequest")},
        responses=BulkResponseSerializer,
        examples=[OpenApiExample("A batch of scored calls", value=[EXAMPLE], request_only=True)],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


urlpatterns = [
    path("quality/reviews/", ReviewListCreateApi.as_view(), name="review-list"),
    path("quality/reviews/bulk/", ReviewBulkApi.as_view(), name="review-bulk"),
    path("quality/reviews/<int:pk>/", ReviewDetailApi.as_view(), name="review-detail"),
]
