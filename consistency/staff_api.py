"""REST API of the staff figures (SPEC §9): each agent's metrics at one branch, shrunk
towards the branch, with n and a 95 % interval.

Staff figures never leave through the API without the ``staff:read`` scope; a key sees the
branches its limits allow. Staff signed in with a session see what the staff pages show
them: a manager the agents of the branches they see, an agent their own row."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from branches.access import branch_scope
from common.api.views import scoped_get
from common.replica import reads_from_replica
from common.validation import EARLIEST_YEAR
from consistency.models import QA_METRICS
from consistency.staff import (
    DEFAULT_WEEKS,
    STAFF_METRICS,
    AgentFigures,
    staff_period,
    staff_table,
    staff_visible,
)

SCOPES = {"read": "staff:read"}
# The longest span asked for at once (two years of local days).
MAX_DAYS = 731
LATEST_YEAR = 9998


class StaffQuerySerializer(serializers.Serializer):
    branch = serializers.CharField(max_length=32, help_text="Branch code.")
    first = serializers.DateField(
        required=False,
        help_text="First local day counted; default: 12 complete weeks before `last`.",
    )
    last = serializers.DateField(
        required=False,
        help_text="The day after the last local day counted (exclusive); default: the "
        "Monday of the branch's current week, so only complete weeks count.",
    )

    def _in_range(self, day: date) -> date:
        if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise serializers.ValidationError(f"Use a day from {EARLIEST_YEAR} to {LATEST_YEAR}.")
        return day

    def validate_first(self, day: date) -> date:
        return self._in_range(day)

    def validate_last(self, day: date) -> date:
        return self._in_range(day)


def _span(wanted: dict[str, Any], default_last: date) -> tuple[date, date]:
    """The days asked for, completed by the defaults: up to this week, 12 weeks long."""
    last: date = wanted.get("last") or default_last
    first: date = wanted.get("first") or last - timedelta(weeks=DEFAULT_WEEKS)
    if first >= last:
        raise serializers.ValidationError({"first": ["Must come before `last`."]})
    if (last - first).days > MAX_DAYS:
        raise serializers.ValidationError({"first": [f"Ask for at most {MAX_DAYS} days at once."]})
    return first, last


class FigureSerializer(serializers.Serializer):
    x = serializers.IntegerField(help_text="Events counted (failures for 'at most' metrics).")
    n = serializers.IntegerField(help_text="Contacts (or reviews) the metric counts.")
    value = serializers.FloatField(allow_null=True, help_text="The raw share x / n; null at n 0.")
    estimate = serializers.FloatField(
        help_text="Posterior mean: the share shrunk towards the branch (empirical Bayes)."
    )
    low = serializers.FloatField(help_text="2.5 % bound of the 95 % credible interval.")
    high = serializers.FloatField(help_text="97.5 % bound of the 95 % credible interval.")
    rank = serializers.IntegerField(
        allow_null=True,
        help_text="1 is the best estimate among the branch's agents with data; null at n 0.",
    )


class QaFigureSerializer(FigureSerializer):
    disputed = serializers.IntegerField(help_text="Of the n reviews, those with a dispute open.")


class StaffMetricsSerializer(serializers.Serializer):
    response_within_standard = FigureSerializer(help_text="Response within standard.")
    first_contact_resolution = FigureSerializer(help_text="First-contact resolution.")
    abandonment_rate = FigureSerializer(help_text="Abandonment rate (lower is better).")
    complaint_rate = FigureSerializer(help_text="Complaint rate (lower is better).")
    csat_satisfied = FigureSerializer(help_text="CSAT satisfied (4-5).")
    qa_pass = QaFigureSerializer(help_text="QA reviews passed.")
    qa_critical_fail = QaFigureSerializer(help_text="QA critical fails (lower is better).")


class AgentFiguresSerializer(serializers.Serializer):
    agent = serializers.CharField(help_text="The agent's login.")
    name = serializers.CharField(allow_blank=True)
    member = serializers.BooleanField(
        help_text="Belongs to the branch (false: served contacts there all the same)."
    )
    first = serializers.DateField(help_text="First local day counted.")
    last = serializers.DateField(help_text="The day after the last local day counted.")
    metrics = StaffMetricsSerializer()
    qa_disputed = serializers.IntegerField(help_text="QA reviews counted with a dispute open.")


def _agent_data(row: AgentFigures, first: date, last: date) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for metric in STAFF_METRICS:
        shrunk = row.figures[metric]
        metrics[metric] = {
            "x": shrunk.x,
            "n": shrunk.n,
            "value": shrunk.raw,
            "estimate": shrunk.estimate,
            "low": shrunk.low,
            "high": shrunk.high,
            "rank": row.ranks[metric],
        }
        if metric in QA_METRICS:
            metrics[metric]["disputed"] = row.disputed
    return {
        "agent": row.username,
        "name": row.name,
        "member": row.member,
        "first": first,
        "last": last,
        "metrics": metrics,
        "qa_disputed": row.disputed,
    }


class StaffFiguresApi(APIView):
    """Every agent's figures at one branch over its local days [first, last): per metric
    x, n, the raw share, and the estimate shrunk towards the branch with its 95 % interval
    and rank. Needs the `staff:read` scope."""

    required_scopes = SCOPES

    @extend_schema(parameters=[StaffQuerySerializer], responses=AgentFiguresSerializer(many=True))
    @reads_from_replica
    def get(self, request: Request) -> Response:
        query = StaffQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        branch = scoped_get(branch_scope(request.user).branches(), code=wanted["branch"])
        first, last = _span(dict(wanted), staff_period(branch)[1])
        table = staff_table(branch=branch, first=first, last=last)
        rows = table.agents
        if not staff_visible(request.user, None, branch):
            rows = [r for r in rows if r.agent_id == getattr(request.user, "pk", None)]
        data = [_agent_data(row, first, last) for row in rows]
        return Response(AgentFiguresSerializer(data, many=True).data)


urlpatterns = [
    path("consistency/staff/", StaffFiguresApi.as_view(), name="staff-figures"),
]
