"""Staff pages (SPEC §9): a manager's team at one branch (agents by metrics, sortable, CSV)
and one agent's figures against their branch, with their reviews and coaching notes.
Who sees what is ``consistency.staff.staff_visible``; anyone else gets a 404."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta, tzinfo
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from branches.access import is_manager
from branches.models import Branch, User
from common.forms import apply_errors
from common.replica import reads_from_replica
from common.views import csv_or_page
from consistency.models import QA_METRICS, Metric
from consistency.staff import (
    DEFAULT_WEEKS,
    STAFF_METRICS,
    AgentFigures,
    StaffTable,
    agent_works_at,
    staff_branches,
    staff_period,
    staff_sort,
    staff_table,
    staff_visible,
)
from consistency.stats import Direction
from quality.models import CoachingNote, Review, ReviewKind
from quality.selectors import reviews_visible
from quality.services import coaching_note_add

MAX_WEEKS = 104
RECENT_REVIEWS = 20
NOTES_SHOWN = 50
FIGURE_PARTS = ["x", "n", "raw", "estimate", "low", "high", "rank"]
TEAM_COLUMNS = [
    "agent",
    "name",
    *(f"{metric}_{part}" for metric in STAFF_METRICS for part in FIGURE_PARTS),
    "qa_disputed",
]
AGENT_COLUMNS = [
    "metric", *FIGURE_PARTS, "ranked", "branch_x", "branch_n", "branch_value", "disputed",
]  # fmt: skip


class StaffPeriodForm(forms.Form):
    weeks = forms.IntegerField(
        label=gettext_lazy("Complete weeks"),
        min_value=1,
        max_value=MAX_WEEKS,
        required=False,
        help_text=gettext_lazy("The last complete ISO weeks, on the branch's clock."),
    )

    @property
    def chosen_weeks(self) -> int:
        return self.cleaned_data.get("weeks") or DEFAULT_WEEKS


class CoachingNoteForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("What was discussed"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )
    reviews = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Reviews it was about"), coerce=int, required=False
    )

    def __init__(self, *args: Any, reviews: Sequence[Review], zone: tzinfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reviews"]
        assert isinstance(field, forms.TypedMultipleChoiceField)  # noqa: S101 - declared above
        field.choices = [(r.pk, _review_label(r, zone)) for r in reviews]


def _review_label(review: Review, zone: tzinfo) -> str:
    verdict = _("passed") if review.passed else _("failed")
    if review.critical_fail:
        verdict = _("critical fail")
    score = "\u2013" if review.score is None else f"{review.score * 100:.0f} %"
    return _("%(day)s · %(channel)s · %(score)s %(verdict)s") % {
        "day": formats.date_format(
            timezone.localtime(review.occurred_at, zone), "SHORT_DATE_FORMAT"
        ),
        "channel": review.get_channel_display(),
        "score": score,
        "verdict": verdict,
    }


def _review_url(pk: int) -> str:
    """The review's page, once the quality pages provide one."""
    try:
        return reverse("quality-review", args=[pk])
    except NoReverseMatch:
        return ""


def _pick_branch(request: HttpRequest, branches: QuerySet[Branch]) -> Branch:
    """The branch named by ``?branch=``, else the first; 404 outside ``branches``."""
    code = request.GET.get("branch")
    branch = branches.filter(code=code).first() if code else branches.order_by("code").first()
    if branch is None:
        raise Http404(_("No such branch."))
    return branch


def _figure_line(prefix: str, figures: AgentFigures, metric: str) -> dict[str, Any]:
    shrunk = figures.figures[metric]
    return {
        f"{prefix}x": shrunk.x,
        f"{prefix}n": shrunk.n,
        f"{prefix}raw": shrunk.raw,
        f"{prefix}estimate": shrunk.estimate,
        f"{prefix}low": shrunk.low,
        f"{prefix}high": shrunk.high,
        f"{prefix}rank": figures.ranks[metric],
    }


def _team_line(figures: AgentFigures) -> dict[str, Any]:
    line: dict[str, Any] = {"agent": figures.username, "name": figures.name}
    for metric in STAFF_METRICS:
        line.update(_figure_line(f"{metric}_", figures, metric))
    line["qa_disputed"] = figures.disputed
    return line


def _agent_lines(table: StaffTable, figures: AgentFigures) -> Iterable[dict[str, Any]]:
    for metric in STAFF_METRICS:
        pooled = table.pooled[metric]
        yield {
            "metric": metric,
            **_figure_line("", figures, metric),
            "ranked": table.ranked[metric],
            "branch_x": pooled.x,
            "branch_n": pooled.n,
            "branch_value": pooled.value,
            "disputed": figures.disputed if metric in QA_METRICS else None,
        }


def _rows(table: StaffTable, figures: AgentFigures) -> list[dict[str, Any]]:
    """One agent's figures as the pages show them: metric by metric, with the branch's."""
    return [
        {
            "metric": metric,
            "label": Metric(metric).label,
            "shrunk": figures.figures[metric],
            "rank": figures.ranks[metric],
            "ranked": table.ranked[metric],
            "pooled": table.pooled[metric],
            "qa": metric in QA_METRICS,
        }
        for metric in STAFF_METRICS
    ]


@login_required
@reads_from_replica
def staff_team_view(request: HttpRequest) -> HttpResponseBase:
    """A branch's agents by metrics: shrunk estimate, interval and n; sortable; CSV. An agent
    is sent to their own page."""
    if not is_manager(request.user):
        return redirect("staff-agent", pk=request.user.pk)
    branches = staff_branches(request.user).order_by("code")
    branch = _pick_branch(request, branches)
    form = StaffPeriodForm(request.GET)
    valid = form.is_valid()
    first, last = staff_period(branch, form.chosen_weeks if valid else DEFAULT_WEEKS)
    sort = request.GET.get("sort", "")
    descending = request.GET.get("dir") != "asc"
    agents: list[AgentFigures] = []
    table = None
    if valid:
        table = staff_table(branch=branch, first=first, last=last)
        agents = list(table.agents)
        if sort in STAFF_METRICS:
            staff_sort(agents, sort, descending)
    return csv_or_page(
        request,
        "consistency/team.html",
        {
            "branch": branch,
            "branches": branches,
            "form": form,
            "first": first,
            "last_day": _last_day(last),
            "table": table,
            "agents": [(a, [(m, a.figures[m], a.ranks[m]) for m in STAFF_METRICS]) for a in agents],
            "headers": _sort_links(table, sort, descending),
            "pooled_cells": [(m, table.pooled[m]) for m in STAFF_METRICS] if table else [],
            "qa_metrics": QA_METRICS,
            "sort": sort,
            "descending": descending,
            "agent_base": reverse("staff-agent", args=[0])[:-2],
        },
        columns=TEAM_COLUMNS,
        rows=(_team_line(a) for a in agents),
        filename=f"staff-{branch.code}-{first}",
        status=200 if valid else 400,
    )


def _sort_links(table: StaffTable | None, sort: str, descending: bool) -> list[tuple[str, str]]:
    """Each column's heading with the direction its link sorts: the other way round for the
    column sorted by, else best first (lowest first where the standard says "at most")."""
    if table is None:
        return []
    return [
        (
            metric,
            ("asc" if descending else "desc")
            if metric == sort
            else ("asc" if table.directions[metric] == Direction.AT_MOST else "desc"),
        )
        for metric in STAFF_METRICS
    ]


def _last_day(last: date) -> date:
    """The period's last local day (``last`` is the day after it)."""
    return last - timedelta(days=1)


def _agent_branch(request: HttpRequest, agent: User) -> tuple[Branch, list[Branch]]:
    """The branch asked for (else the agent's first) among those where the caller may see
    this agent's figures; 404 if there is none."""
    mine = [b for b in agent.branches.order_by("code") if staff_visible(request.user, agent, b)]
    code = request.GET.get("branch")
    if not code:
        if not mine:
            raise Http404(_("No such agent."))
        return mine[0], mine
    branch = next((b for b in mine if b.code == code), None)
    if branch is None:
        # Someone who served contacts at a branch they do not belong to.
        branch = Branch.objects.filter(code=code).first()
        if (
            branch is None
            or not staff_visible(request.user, agent, branch)
            or not agent_works_at(agent, branch)
        ):
            raise Http404(_("No such agent."))
    return branch, mine


@login_required
@require_http_methods(["GET", "POST"])
def staff_agent_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """One agent's figures against their branch, their recent reviews and coaching notes;
    a manager of the branch adds a note here. ``?format=csv`` exports the figures."""
    agent = get_object_or_404(User, pk=pk)
    branch, branches = _agent_branch(request, agent)
    member = branch in branches
    may_coach = (
        member
        and request.user.pk != agent.pk
        and is_manager(request.user)
        and staff_visible(request.user, None, branch)
    )
    period = StaffPeriodForm(request.GET)
    weeks = period.chosen_weeks if period.is_valid() else DEFAULT_WEEKS
    first, last = staff_period(branch, weeks)
    reviews = list(
        reviews_visible(actor=request.user)
        .filter(agent=agent, branch=branch, kind=ReviewKind.REGULAR, deleted_at__isnull=True)
        .select_related("scorecard", "reviewer")
        .order_by("-occurred_at", "-id")[:RECENT_REVIEWS]
    )
    form = CoachingNoteForm(request.POST or None, reviews=reviews, zone=branch.tzinfo)
    status = 200
    if request.method == "POST":
        if not may_coach:
            raise PermissionDenied(
                _("Only a manager of this agent's branch writes coaching notes.")
            )
        if form.is_valid():
            chosen = set(form.cleaned_data["reviews"])
            try:
                coaching_note_add(
                    actor=request.user,
                    agent=agent,
                    branch_id=branch.pk,
                    note=form.cleaned_data["note"],
                    reviews=[r for r in reviews if r.pk in chosen],
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("Coaching note saved."))
                return redirect(f"{reverse('staff-agent', args=[agent.pk])}?branch={branch.code}")
        status = 400
    table = staff_table(branch=branch, first=first, last=last, include=agent.pk)
    figures = table.agent(agent.pk)
    assert figures is not None  # noqa: S101 - ``include`` lists them
    notes = CoachingNote.objects.filter(agent=agent, branch=branch).select_related("author")
    notes = notes.prefetch_related("reviews")[:NOTES_SHOWN]
    return csv_or_page(
        request,
        "consistency/agent.html",
        {
            "agent": agent,
            "branch": branch,
            "branches": branches,
            "period": period,
            "first": first,
            "last_day": _last_day(last),
            "figures": figures,
            "rows": _rows(table, figures),
            "reviews": [(r, _review_url(r.pk)) for r in reviews],
            "notes": [(n, [(r, _review_url(r.pk)) for r in n.reviews.all()]) for n in notes],
            "form": form if may_coach else None,
            "team_url": f"{reverse('staff-team')}?branch={branch.code}"
            if staff_visible(request.user, None, branch)
            else "",
        },
        columns=AGENT_COLUMNS,
        rows=_agent_lines(table, figures),
        filename=f"staff-{branch.code}-{agent.username}-{first}",
        status=status,
    )
