"""The consistency pages: the regional comparison, the funnel plot, a branch's trends and
CUSUM, the flag queue and a flag's evidence with its lifecycle. Every page and its CSV
export shows only what branches.access lets the caller see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from branches.access import branch_scope, regions_visible_to
from branches.models import Branch
from common.api.csv import csv_stream
from common.replica import reads_from_replica
from common.views import csv_or_page, wants_csv
from consistency import charts
from consistency.case_selectors import case_queue
from consistency.forms import OPEN, FlagFilterForm, FunnelForm, PeriodForm
from consistency.models import Case, Flag, Metric
from consistency.priorities import (
    PRIORITY_COLUMNS,
    period_priority_span,
    priority_areas,
    priority_rows,
    priority_section,
)
from consistency.selectors import (
    ComparisonRow,
    MetricCell,
    branch_cusum,
    branch_trends,
    comparison_rows,
    comparison_sort,
    consistency_index,
    flag_queue,
    flag_trend,
    funnel_curves,
    latest_period,
    metric_cells,
    moment_breakdown,
)
from consistency.type_selectors import TYPE_COLUMNS, branch_type_section

FLAG_PAGE_SIZE = 50


def _bad_request(request: HttpRequest, form: Any, title: str) -> HttpResponse:
    return render(request, "consistency/bad_query.html", {"form": form, "title": title}, status=400)


def _default_region(request: HttpRequest, form: PeriodForm) -> Any:
    """The region asked for; else a regional manager's own; else none (all their branches)."""
    region = form.cleaned_data.get("region")
    if region is None and "region" not in request.GET:
        region = getattr(request.user, "regions", None) and request.user.regions.first()  # type: ignore[union-attr]
    return region


def branch_links(request: HttpRequest) -> dict[str, str]:
    """What a table of many branches links each row with: the branch pages' common prefix
    (one URL reversal, not one per row) and the period and channel being looked at."""
    query = request.GET.copy()
    for name in ("sort", "dir", "region", "format"):
        query.pop(name, None)
    return {
        "branch_base": reverse("branch-page", args=["-"])[:-2],
        "branch_query": query.urlencode(),
    }


COMPARISON_COLUMNS = [
    "branch",
    "name",
    *(f"{m}_{part}" for m in Metric.values for part in ("value", "n", "standard", "peers")),
]


def _comparison_line(row: ComparisonRow) -> dict[str, Any]:
    line: dict[str, Any] = {"branch": row.branch.code, "name": row.branch.name}
    for metric, cell in row.cells.items():
        line.update(
            {
                f"{metric}_value": cell.value,
                f"{metric}_n": cell.n,
                f"{metric}_standard": cell.standard.status if cell.standard else "",
                f"{metric}_peers": cell.peers.status if cell.peers else "",
            }
        )
    return line


@login_required
@reads_from_replica
def comparison_view(request: HttpRequest) -> HttpResponseBase:
    """A region's branches by metric for a period and channel, against the standard and
    the chain's peers, with the chain's consistency index."""
    regions = regions_visible_to(request.user)
    form = PeriodForm(request.GET, regions=regions)
    if not form.is_valid():
        return _bad_request(request, form, _("Comparison"))
    kind = form.chosen_kind
    region = _default_region(request, form)
    period_start = form.period_start(latest_period(kind))
    rows = comparison_rows(
        actor=request.user,
        kind=kind,
        period_start=period_start,
        channel=form.chosen_channel,
        region_id=region.pk if region else None,
    )
    sort = request.GET.get("sort", "")
    descending = request.GET.get("dir") != "asc"
    if sort in Metric.values:
        comparison_sort(rows, sort, descending)
    index = [
        {"period_start": i.period_start, "value": i.value, "inside": i.inside, "cells": i.cells}
        for i in consistency_index(kind=kind, since=period_start - timedelta(weeks=26))
        if i.period_start <= period_start
    ]
    return csv_or_page(
        request,
        "consistency/comparison.html",
        {
            "form": form,
            "region": region,
            "kind": kind,
            "period_start": period_start,
            "channel": form.chosen_channel,
            "rows": rows,
            "metrics": Metric.choices,
            "sort": sort,
            "descending": descending,
            "index": index,
            "index_figure": charts.index_figure(index),
            **branch_links(request),
            "plotly": bool(index),
        },
        columns=COMPARISON_COLUMNS,
        rows=(_comparison_line(row) for row in rows),
        filename=f"comparison-{period_start}",
    )


@login_required
@reads_from_replica
def funnel_view(request: HttpRequest) -> HttpResponseBase:
    """One metric's funnel plot: every branch a point against the limits."""
    regions = regions_visible_to(request.user)
    form = FunnelForm(request.GET, regions=regions)
    if not form.is_valid():
        return _bad_request(request, form, _("Funnel plot"))
    kind, metric, channel = form.chosen_kind, form.chosen_metric, form.chosen_channel
    region = _default_region(request, form)
    period_start = form.period_start(latest_period(kind))
    branch_ids = (
        list(Branch.objects.filter(region=region).values_list("pk", flat=True)) if region else None
    )
    cells = metric_cells(
        actor=request.user,
        kind=kind,
        period_start=period_start,
        metrics=[metric],
        channels=[channel],
        branch_ids=branch_ids,
    )
    curves = funnel_curves(cells, kind, period_start)
    csv_rows = (
        {
            "branch": c.branch.code,
            "x": c.x,
            "n": c.n,
            "value": c.value,
            "target": c.target,
            "standard_status": c.standard.status if c.standard else "",
            "standard_z": c.standard.z if c.standard else None,
            "pooled": c.pooled,
            "peers_status": c.peers.status if c.peers else "",
            "peers_z": c.peers.z if c.peers else None,
        }
        for c in cells
    )
    return csv_or_page(
        request,
        "consistency/funnel.html",
        {
            "form": form,
            "region": region,
            "metric": metric,
            "metric_label": Metric(metric).label,
            "kind": kind,
            "period_start": period_start,
            "channel": channel,
            "cells": sorted(cells, key=_worst_first),
            "figure": charts.funnel_figure(cells, curves, metric),
            "plotly": True,
        },
        columns=FUNNEL_COLUMNS,
        rows=csv_rows,
        filename=f"funnel-{metric}-{period_start}",
    )


FUNNEL_COLUMNS = [
    "branch", "x", "n", "value", "target", "standard_status", "standard_z", "pooled",
    "peers_status", "peers_z",
]  # fmt: skip
TREND_COLUMNS = [
    "metric", "period_start", "x", "n", "value", "target", "status", "lower95", "upper95",
    "lower998", "upper998",
]  # fmt: skip
STATUS_RANK = {"alarm": 0, "warning": 1, "ok": 2, "insufficient": 3}


def _worst_first(cell: MetricCell) -> tuple[int, float]:
    """Alarms, then warnings, then the rest; within each, the furthest from the target."""
    judged = cell.standard
    if judged is None:
        return (4, 0.0)
    return (STATUS_RANK[str(judged.status)], -abs(judged.z or 0.0))


MOMENT_COLUMNS = [
    "moment", "critical", "contacts", "complaints", "complaint_rate", "csat_n", "csat_low",
    "csat_low_rate",
]  # fmt: skip


def moment_rows(moments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**m, "moment": str(m["moment"]), "critical": m["moment"].is_critical} for m in moments]


def _branch_or_404(request: HttpRequest, code: str) -> Branch:
    return get_object_or_404(
        branch_scope(request.user).branches().select_related("region"), code=code
    )


@login_required
@reads_from_replica
def branch_view(request: HttpRequest, code: str) -> HttpResponseBase:
    """A branch's metrics: this period's cells, each metric's trend against its limits,
    the CUSUM charts and the moments of truth behind complaints and low scores."""
    branch = _branch_or_404(request, code)
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, form, _("Branch %(code)s") % {"code": branch.code})
    kind, channel = form.chosen_kind, form.chosen_channel
    period_start = form.period_start(latest_period(kind))
    moments = moment_breakdown(branch=branch, kind=kind, period_start=period_start)
    if wants_csv(request) and request.GET.get("table") == "moments":
        return csv_stream(MOMENT_COLUMNS, moment_rows(moments), f"moments-{branch.code}")
    complaint_types = branch_type_section(branch, kind, period_start)
    if wants_csv(request) and request.GET.get("table") == "types":
        return csv_stream(TYPE_COLUMNS, complaint_types, f"complaint-types-{branch.code}")
    first, end = period_priority_span(kind, period_start)
    priorities = priority_areas(branch_ids=[branch.pk], start=first, end=end)
    if wants_csv(request) and request.GET.get("table") == "priorities":
        lines = priority_rows(priorities, first, end)
        return csv_stream(PRIORITY_COLUMNS, lines, f"priorities-{branch.code}-{period_start}")
    trends = branch_trends(branch=branch, channel=channel, kind=kind, until=period_start)
    cusum = branch_cusum(branch=branch, until=period_start)
    cells = {
        c.metric: c
        for c in metric_cells(
            actor=request.user,
            kind=kind,
            period_start=period_start,
            channels=[channel],
            branch_ids=[branch.pk],
        )
    }
    metrics: list[dict[str, Any]] = [
        {
            "metric": metric,
            "label": label,
            "cell": cells.get(metric),
            "trend": trends[metric],
            "trend_figure": charts.trend_figure(trends[metric], metric),
            "cusum_figure": charts.cusum_figure(cusum[metric]) if metric in cusum else None,
            "cusum_signals": cusum[metric]["signals"] if metric in cusum else [],
        }
        for metric, label in Metric.choices
    ]
    csv_rows = (
        {
            "metric": m["metric"],
            "period_start": p["period_start"],
            "x": p["x"],
            "n": p["n"],
            "value": p["value"],
            "target": p["target"],
            "status": p["status"],
            "lower95": p["limits95"][0] if p["limits95"] else None,
            "upper95": p["limits95"][1] if p["limits95"] else None,
            "lower998": p["limits998"][0] if p["limits998"] else None,
            "upper998": p["limits998"][1] if p["limits998"] else None,
        }
        for m in metrics
        for p in m["trend"]
    )
    return csv_or_page(
        request,
        "consistency/branch.html",
        {
            "branch": branch,
            "form": form,
            "kind": kind,
            "channel": channel,
            "period_start": period_start,
            "metrics": metrics,
            "moments": moments,
            "complaint_types": complaint_types,
            "priorities": priority_section(priorities, first, end),
            "priorities_table": "priorities",
            "cases": case_queue(actor=request.user).filter(
                branch=branch, status__in=Case.OPEN_STATUSES
            )[:20],
            "plotly": True,
        },
        columns=TREND_COLUMNS,
        rows=csv_rows,
        filename=f"branch-{branch.code}-{period_start}",
    )


FLAG_COLUMNS = [
    "id", "branch", "metric", "channel", "kind", "period_start", "test", "severity", "status",
    "x", "n", "value", "centre", "z", "critical_moments", "owner", "due_date",
]  # fmt: skip


def _flag_row(flag: Flag) -> dict[str, Any]:
    return {
        **{name: getattr(flag, name) for name in FLAG_COLUMNS},
        "branch": flag.branch.code,
        "owner": flag.owner.username if flag.owner else "",
    }


@login_required
@reads_from_replica
def flag_queue_view(request: HttpRequest) -> HttpResponseBase:
    """Flags at the caller's branches in priority order, filtered; CSV exports them all."""
    branches = branch_scope(request.user).branches().order_by("code")
    data = request.GET.copy()
    data.setdefault("status", OPEN)
    form = FlagFilterForm(data, branches=branches)
    if not form.is_valid():
        return _bad_request(request, form, _("Flags"))
    flags = flag_queue(actor=request.user)
    wanted = form.cleaned_data
    if wanted["status"] == OPEN:
        flags = flags.exclude(status__in=Flag.CLOSED)
    elif wanted["status"]:
        flags = flags.filter(status=wanted["status"])
    for name in ("severity", "test", "metric", "branch"):
        if wanted[name]:
            flags = flags.filter(**{name: wanted[name]})
    page = Paginator(flags, FLAG_PAGE_SIZE).get_page(request.GET.get("page"))
    return csv_or_page(
        request,
        "consistency/flag_queue.html",
        {
            "form": form,
            "page": page,
            "branch_codes": [b.code for b in branches],
            "chosen_branch": wanted["branch"].code if wanted["branch"] else "",
        },
        columns=FLAG_COLUMNS,
        rows=(_flag_row(f) for f in flags.iterator(chunk_size=2000)),
        filename="flags",
    )


def _flag_or_404(request: HttpRequest, pk: int) -> Flag:
    return get_object_or_404(flag_queue(actor=request.user), pk=pk)


def _flag_page(request: HttpRequest, flag: Flag) -> HttpResponse:
    """A flag is read-only evidence: its numbers, trend, moments and history."""
    trend = flag_trend(flag)
    return render(
        request,
        "consistency/flag_detail.html",
        {
            "flag": flag,
            "trend": trend,
            "figure": charts.trend_figure(trend, flag.metric),
            "moments": moment_breakdown(
                branch=flag.branch, kind=flag.kind, period_start=flag.period_start
            ),
            "events": flag.events.select_related("actor"),
            "plotly": True,
        },
    )


@login_required
def flag_detail_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A flag's evidence and history; ``?format=csv`` exports its trend, or with
    ``table=moments`` / ``table=history`` those tables."""
    flag = _flag_or_404(request, pk)
    if not wants_csv(request):
        return _flag_page(request, flag)
    table = request.GET.get("table", "trend")
    name = f"flag-{flag.pk}-{table}"
    if table == "moments":
        moments = moment_breakdown(
            branch=flag.branch, kind=flag.kind, period_start=flag.period_start
        )
        return csv_stream(MOMENT_COLUMNS, moment_rows(moments), name)
    if table == "history":
        events = [
            {
                "at": e.at,
                "who": e.actor.username if e.actor else "",
                "from": e.source_label,
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "note": e.note,
            }
            for e in flag.events.select_related("actor")
        ]
        columns = ["at", "who", "from", "action", "from_status", "to_status", "note"]
        return csv_stream(columns, events, name)
    trend = flag_trend(flag)
    return csv_stream(["period_start", "x", "n", "value"], trend, name)
