"""The case pages: the queue a manager works (filters, bulk acknowledge, CSV) and a case
with its evidence, plan, history and lifecycle actions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from branches.access import branch_scope, is_manager
from common.api.csv import csv_stream
from common.forms import apply_errors
from common.replica import reads_from_replica
from common.views import csv_or_page, wants_csv
from consistency import charts
from consistency.case_selectors import case_flags, case_history, case_queue, case_trends
from consistency.case_words import case_items
from consistency.forms import NO_PLAN, OPEN_CASES, OVERDUE, CaseFilterForm, NoteForm, PlanForm
from consistency.lifecycle import CASE_ACTIONS, case_transition, cases_acknowledge
from consistency.models import QA_METRICS, Case, CaseStatus
from consistency.priorities import (
    PRIORITY_COLUMNS,
    plan_opening,
    priority_areas,
    priority_rows,
    priority_section,
    priority_span,
)
from consistency.selectors import branch_cusum, moment_breakdown
from consistency.views import MOMENT_COLUMNS, moment_rows

ITEM_COLUMNS = ["code", "item", "critical", "n", "failed", "share"]

CASE_PAGE_SIZE = 50
EVIDENCE_WEEKS_SHOWN = 4  # the page lists the last weeks' flags; the CSV has them all
CASE_COLUMNS = [
    "id", "branch", "metric", "status", "severity", "summary", "channels", "first_period",
    "last_period", "periods", "x", "n", "value", "target", "peer_value", "peer_group",
    "abs_z", "owner", "due_date", "opened_at",
]  # fmt: skip
FLAG_COLUMNS = [
    "period_start", "channel", "test", "severity", "x", "n", "value", "centre", "z",
    "p_value", "discovery", "peer_group",
]  # fmt: skip
HISTORY_COLUMNS = ["at", "who", "from", "action", "from_status", "to_status", "note"]
DONE = {
    "acknowledge": gettext_lazy("Case acknowledged."),
    "plan": gettext_lazy("Action plan saved."),
    "monitor": gettext_lazy("The plan is in place: the case is being monitored."),
    "resolve": gettext_lazy("Case closed."),
    "note": gettext_lazy("Note added."),
}


def _case_row(case: Case) -> dict[str, Any]:
    return {
        **{name: getattr(case, name) for name in CASE_COLUMNS},
        "branch": case.branch.code,
        "channels": " ".join(case.channels),
        "owner": case.owner.username if case.owner else "",
    }


def _filtered(cases: QuerySet[Case], wanted: dict[str, Any]) -> QuerySet[Case]:
    if wanted["status"] == OPEN_CASES:
        cases = cases.filter(status__in=Case.OPEN_STATUSES)
    elif wanted["status"]:
        cases = cases.filter(status=wanted["status"])
    for name in ("severity", "metric", "branch"):
        if wanted[name]:
            cases = cases.filter(**{name: wanted[name]})
    if wanted["peer_group"]:
        cases = cases.filter(branch__peer_group=wanted["peer_group"])
    if wanted["work"] == NO_PLAN:
        cases = cases.filter(status__in=Case.OPEN_STATUSES, plan="")
    elif wanted["work"] == OVERDUE:
        cases = cases.filter(
            Q(status__in=[CaseStatus.ACTION_PLANNED, CaseStatus.MONITORING])
            & Q(due_date__lt=timezone.localdate())
        )
    return cases


@login_required
@reads_from_replica
def case_queue_view(request: HttpRequest) -> HttpResponseBase:
    """Cases at the caller's branches in priority order, filtered; CSV exports them all."""
    branches = branch_scope(request.user).branches().order_by("code")
    data = request.GET.copy()
    data.setdefault("status", OPEN_CASES)
    form = CaseFilterForm(data, branches=branches)
    if not form.is_valid():
        return render(
            request,
            "consistency/bad_query.html",
            {"title": _("Cases"), "form": form},
            status=400,
        )
    cases = _filtered(case_queue(actor=request.user), form.cleaned_data)
    page = Paginator(cases, CASE_PAGE_SIZE).get_page(request.GET.get("page"))
    return csv_or_page(
        request,
        "consistency/case_queue.html",
        {
            "form": form,
            "page": page,
            "may_act": is_manager(request.user),
            "today": timezone.localdate(),
        },
        columns=CASE_COLUMNS,
        rows=(_case_row(c) for c in cases.iterator(chunk_size=2000)),
        filename="cases",
    )


@login_required
@require_POST
def cases_acknowledge_view(request: HttpRequest) -> HttpResponse:
    """Acknowledge the cases ticked on the queue."""
    ids = [int(v) for v in request.POST.getlist("case") if v.isdigit()]
    chosen = list(case_queue(actor=request.user).filter(pk__in=ids))
    if not chosen:
        messages.error(request, _("Tick the cases to acknowledge first."))
        return redirect("case-queue")
    moved, problems = cases_acknowledge(actor=request.user, cases=chosen)
    if moved:
        messages.success(
            request,
            ngettext("Acknowledged %(count)s case.", "Acknowledged %(count)s cases.", len(moved))
            % {"count": len(moved)},
        )
    for problem in problems:
        messages.error(request, problem)
    return redirect(request.POST.get("next") or "case-queue")


def _case_or_404(request: HttpRequest, pk: int) -> Case:
    return get_object_or_404(case_queue(actor=request.user), pk=pk)


def _history_rows(case: Case) -> list[dict[str, Any]]:
    return [
        {
            "at": e.at,
            "who": e.actor.username if e.actor else "",
            "from": e.source_label,
            "action": e.action,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "note": e.note,
        }
        for e in case_history(case)
    ]


def _priority_span(case: Case) -> tuple[date, date]:
    """The priority areas a case shows: its branch's, the 12 weeks to its last evidence."""
    return priority_span(case.last_period + timedelta(days=7))


def _case_page(
    request: HttpRequest, case: Case, forms: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    trends = case_trends(case)
    cusum = branch_cusum(branch=case.branch, until=case.last_period).get(case.metric)
    may_act = is_manager(request.user) and branch_scope(request.user, for_write=True).allows(
        case.branch_id
    )
    forms = forms or {}
    allowed = {a for a, (starts, _) in CASE_ACTIONS.items() if case.status in starts}
    first, end = _priority_span(case)
    priorities = priority_areas(branch_ids=[case.branch_id], start=first, end=end)
    may_plan = may_act and "plan" in allowed
    opening = plan_opening(priorities, request.GET.get("plan_from", ""), first, end)
    plan = "\n\n".join(p for p in (case.plan, opening if may_plan else None) if p)
    return render(
        request,
        "consistency/case_detail.html",
        {
            "case": case,
            "trends": [
                {
                    "channel": channel,
                    "points": points,
                    "chart": f"case-trend-{channel}",
                    "figure": charts.trend_figure(points, case.metric),
                }
                for channel, points in trends.items()
            ],
            "cusum_figure": charts.cusum_figure(cusum) if cusum else None,
            "moments": moment_breakdown(
                branch=case.branch, kind="week", period_start=case.last_period
            ),
            "items": case_items(case) if case.metric in QA_METRICS else None,
            "flags": case_flags(case).filter(
                period_start__gt=case.last_period - timedelta(weeks=EVIDENCE_WEEKS_SHOWN)
            ),
            "older_flags": case_flags(case)
            .filter(period_start__lte=case.last_period - timedelta(weeks=EVIDENCE_WEEKS_SHOWN))
            .count(),
            "events": case_history(case),
            "may_act": may_act,
            "allowed": allowed,
            "note_form": forms.get("note") or NoteForm(),
            "plan_form": forms.get("plan")
            or PlanForm(
                branch=case.branch,
                initial={"owner": case.owner, "due_date": case.due_date, "plan": plan},
            ),
            "priorities": priority_section(priorities, first, end),
            "priorities_table": "priorities",
            "plan_link": may_plan,
            "plotly": True,
        },
        status=status,
    )


@login_required
def case_detail_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A case: what diverges, its evidence, plan and history; ``?format=csv`` exports its
    flags, or with ``table=history`` its history."""
    case = _case_or_404(request, pk)
    if not wants_csv(request):
        return _case_page(request, case)
    table = request.GET.get("table")
    if table == "history":
        return csv_stream(HISTORY_COLUMNS, _history_rows(case), f"case-{case.pk}-history")
    if table == "items" and case.metric in QA_METRICS:
        rows = ({**i, "item": i["item"].text_en} for i in case_items(case))
        return csv_stream(ITEM_COLUMNS, rows, f"case-{case.pk}-items")
    if table == "moments":
        moments = moment_breakdown(branch=case.branch, kind="week", period_start=case.last_period)
        return csv_stream(MOMENT_COLUMNS, moment_rows(moments), f"case-{case.pk}-moments")
    if table == "priorities":
        first, end = _priority_span(case)
        areas = priority_areas(branch_ids=[case.branch_id], start=first, end=end)
        lines = priority_rows(areas, first, end)
        return csv_stream(PRIORITY_COLUMNS, lines, f"case-{case.pk}-priorities")
    rows = ({name: getattr(f, name) for name in FLAG_COLUMNS} for f in case_flags(case))
    return csv_stream(FLAG_COLUMNS, rows, f"case-{case.pk}-flags")


@login_required
@require_POST
def case_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One lifecycle step; errors come back on the case's page next to the fields."""
    if action not in DONE:
        raise Http404(_("No such action."))
    case = _case_or_404(request, pk)
    form: NoteForm = (
        PlanForm(request.POST, branch=case.branch) if action == "plan" else NoteForm(request.POST)
    )
    key = "plan" if action == "plan" else "note"
    if form.is_valid():
        try:
            case_transition(actor=request.user, case=case, action=action, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, str(DONE[action]))
            return redirect("case-page", pk=case.pk)
    return _case_page(request, case, {key: form}, status=400)
