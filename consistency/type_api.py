"""Complaints by type under the consistency API (SPEC §10): each type's rate per branch
in one period against the chain's, with the strongest open flag of it; CSV too."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from branches.models import Branch
from common.api.csv import CSVRenderer, csv_table
from common.replica import reads_from_replica
from consistency.api import SCOPES, MetricQuerySerializer
from consistency.type_selectors import TypeLine, type_lines, type_names


class TypeQuerySerializer(MetricQuerySerializer):
    metric = None  # type: ignore[assignment]
    channel = None  # type: ignore[assignment]
    type = serializers.CharField(required=False, help_text="Complaint type code.")


class TypeFigureSerializer(serializers.Serializer):
    branch = serializers.CharField(help_text="Branch code.")
    type = serializers.CharField(help_text="Complaint type code.")
    area = serializers.CharField(help_text="The type's area code.")
    metric = serializers.CharField(help_text="The metric of its flags and cases.")
    x = serializers.IntegerField(help_text="Complaints of the type.")
    n = serializers.IntegerField(help_text="Contacts, all channels.")
    value = serializers.FloatField(allow_null=True)
    chain_value = serializers.FloatField(allow_null=True, help_text="The whole chain's rate.")
    flag = serializers.ChoiceField(
        choices=["", "warning", "alarm", "signal"],
        help_text="The strongest open flag of the type there that period (empty: none).",
    )


COLUMNS = list(TypeFigureSerializer().fields)


class ComplaintTypeFiguresApi(APIView):
    """Every complaint type's rate at each of your branches in one period (all channels),
    against the chain's rate; `?format=csv` exports them."""

    required_scopes = SCOPES
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(parameters=[TypeQuerySerializer], responses=TypeFigureSerializer(many=True))
    @reads_from_replica
    def get(self, request: Request) -> HttpResponse:
        query = TypeQuerySerializer(data=request.query_params.dict(), context={"request": request})
        query.is_valid(raise_exception=True)
        values: dict[str, Any] = dict(query.validated_data)
        lines = type_lines(
            branch_ids=values["branch_ids"],
            kind=values["kind"],
            period_start=values["period_start"],
        )
        if "type" in values:
            lines = [line for line in lines if line.code == values["type"]]
        codes = dict(Branch.objects.filter(pk__in=values["branch_ids"]).values_list("pk", "code"))
        names = type_names()
        data = TypeFigureSerializer([_row(line, codes, names) for line in lines], many=True).data
        if request.accepted_renderer.format == "csv":
            return csv_table(COLUMNS, data, "complaint-types")
        return Response(data)


def _row(line: TypeLine, codes: dict[int, str], names: dict[str, Any]) -> dict[str, Any]:
    named = names.get(line.code)
    return {
        "branch": codes[line.branch_id],
        "type": line.code,
        "area": named[1].code if named else "",
        "metric": f"complaint_rate:{line.code}",
        "x": line.x,
        "n": line.n,
        "value": line.value,
        "chain_value": line.chain_value,
        "flag": line.flag,
    }


urlpatterns = [
    path(
        "consistency/complaint-types/",
        ComplaintTypeFiguresApi.as_view(),
        name="consistency-complaint-types",
    ),
]
