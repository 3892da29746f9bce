"""REST API of the priority areas (SPEC §10): for a branch, a region or every branch the
caller may see, the moments of truth and complaint types ranked by what they cost in
satisfaction over a span of local days; ``?format=csv`` exports the same rows.

Limited to the caller's branches like the other consistency endpoints (API keys need
``analytics:read``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from branches.access import branch_scope
from branches.api import visible_regions
from common.api.csv import CSVRenderer, csv_table
from common.replica import reads_from_replica
from consistency.models import PeriodKind
from consistency.priorities import (
    AREA_KINDS,
    PRIORITY_COLUMNS,
    priority_areas,
    priority_rows,
    priority_span,
)
from consistency.priority_stats import Verdict
from consistency.selectors import latest_period

SCOPES = {"read": "analytics:read"}
MAX_DAYS = 731  # two years of local days


class PriorityQuerySerializer(serializers.Serializer):
    branch = serializers.CharField(required=False, help_text="Branch code.")
    region = serializers.CharField(
        required=False, help_text="Region code; neither: every branch the caller may see."
    )
    start = serializers.DateField(
        required=False, help_text="First local day; default: 12 weeks before `end`."
    )
    end = serializers.DateField(
        required=False,
        help_text="The day after the last local day (exclusive); default: the Monday after "
        "the last complete week.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context["request"]
        branches = branch_scope(request.user).branches()
        if "region" in attrs:
            region = visible_regions(request).filter(code=attrs["region"]).first()
            if region is None:
                raise serializers.ValidationError({"region": ["No such region among yours."]})
            branches = branches.filter(region=region)
        if "branch" in attrs:
            branches = branches.filter(code=attrs["branch"])
        chosen = list(branches.order_by("code").values_list("pk", "code"))
        if "branch" in attrs and not chosen:
            raise serializers.ValidationError({"branch": ["No such branch among yours."]})
        end = attrs.get("end") or latest_period(PeriodKind.WEEK) + timedelta(days=7)
        start = attrs.get("start") or priority_span(end)[0]
        if start >= end:
            raise serializers.ValidationError({"end": ["The span ends after it starts."]})
        if (end - start).days > MAX_DAYS:
            raise serializers.ValidationError({"start": [f"At most {MAX_DAYS} days at once."]})
        return {
            "branch_ids": [pk for pk, _ in chosen],
            "codes": [code for _, code in chosen],
            "start": start,
            "end": end,
        }


class PriorityAreaSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1: fix first.")
    kind = serializers.ChoiceField(choices=AREA_KINDS)
    key = serializers.CharField(help_text='"moment:<id>" or "type:<code>".')
    name = serializers.CharField(help_text="The moment's or the type's name.")
    within = serializers.CharField(help_text="The moment's service cycle, the type's area.")
    critical = serializers.BooleanField(help_text="The moment (or the type's moment) is critical.")
    verdict = serializers.ChoiceField(
        choices=[v.value for v in Verdict],
        help_text="On CSAT: `harm` when the 95 % interval of the difference lies below zero, "
        "`better` above, `uncertain` across it, `too_little_data` below 10 answers.",
    )
    contacts = serializers.IntegerField(help_text="Contacts at the moment, or of the type.")
    customers = serializers.IntegerField(help_text="Distinct known customers among them.")
    csat_n = serializers.IntegerField()
    csat_satisfied = serializers.IntegerField(help_text="CSAT 4 or 5.")
    csat_share = serializers.FloatField(allow_null=True)
    rest_csat_n = serializers.IntegerField(help_text="The other contacts' CSAT answers.")
    rest_csat_share = serializers.FloatField(allow_null=True)
    csat_difference = serializers.FloatField(allow_null=True, help_text="Share minus the rest's.")
    csat_lower = serializers.FloatField(allow_null=True, help_text="95 % (Newcombe's hybrid).")
    csat_upper = serializers.FloatField(allow_null=True)
    nps_n = serializers.IntegerField()
    nps = serializers.FloatField(allow_null=True, help_text="-1 to 1.")
    rest_nps_n = serializers.IntegerField()
    rest_nps = serializers.FloatField(allow_null=True)
    nps_difference = serializers.FloatField(allow_null=True)
    nps_lower = serializers.FloatField(allow_null=True)
    nps_upper = serializers.FloatField(allow_null=True)
    satisfied_lost = serializers.FloatField(
        allow_null=True, help_text="-csat_difference x contacts: the cost the list is ranked by."
    )
    satisfied_lost_lower = serializers.FloatField(allow_null=True)
    satisfied_lost_upper = serializers.FloatField(allow_null=True)
    first_day = serializers.DateField()
    last_day = serializers.DateField()


class PrioritiesSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Exclusive.")
    branches = serializers.ListField(child=serializers.CharField(), help_text="Branch codes.")
    areas = PriorityAreaSerializer(many=True, help_text="What to fix first, first.")


class PrioritiesApi(APIView):
    """The moments of truth and complaint types of some branches' contacts, each against the
    rest of their contacts (CSAT and NPS, with 95 % intervals), ranked by the satisfied
    contacts they cost: clear harm first, then the uncertain, too little data last."""

    required_scopes = SCOPES
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(parameters=[PriorityQuerySerializer], responses=PrioritiesSerializer)
    @reads_from_replica
    def get(self, request: Request) -> HttpResponse:
        query = PriorityQuerySerializer(
            data=request.query_params.dict(), context={"request": request}
        )
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        start, end = wanted["start"], wanted["end"]
        areas = priority_areas(branch_ids=wanted["branch_ids"], start=start, end=end)
        rows = priority_rows(areas, start, end)
        if request.accepted_renderer.format == "csv":
            return csv_table(PRIORITY_COLUMNS, rows, f"priorities-{start}")
        body = {"start": start, "end": end, "branches": wanted["codes"], "areas": rows}
        return Response(PrioritiesSerializer(body).data)


urlpatterns = [
    path("consistency/priorities/", PrioritiesApi.as_view(), name="consistency-priorities"),
]
