"""The quality pages (SPEC §8): a reviewer's queue of sampled interactions, the reviews a
user may read, calibration sessions with the reviewers' agreement, and HQ's scorecards.
Scoring and one review's page live in quality.review_views."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import (
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from branches.access import branch_scope, is_chain_admin, is_manager
from common.forms import apply_errors
from common.replica import reads_from_replica
from common.views import csv_or_page
from quality.forms import NewVersionForm
from quality.models import Assignment, CalibrationSession, Item, Review, Scorecard, Section
from quality.review_views import calibration_blind
from quality.selectors import (
    calibration_agreement,
    item_agreement,
    open_assignments,
    review_feed,
)
from quality.services import scorecard_new_version

PAGE_SIZE = 50
QUEUE_COLUMNS = [
    "id", "due_at", "overdue", "branch", "agent", "channel", "occurred_at", "scorecard", "rule",
]  # fmt: skip
REVIEW_COLUMNS = [
    "id", "occurred_at", "branch", "channel", "agent", "reviewer", "scorecard", "score",
    "passed", "critical_fail", "disputed",
]  # fmt: skip


def _managers_only(request: HttpRequest) -> None:
    if not is_manager(request.user):
        raise Http404("No such page.")


# --- the reviewer's queue -----------------------------------------------------------------


def _queue_rows(assignments: QuerySet[Assignment]) -> Iterator[dict[str, Any]]:
    now = timezone.now()
    for a in assignments.iterator(chunk_size=2000):
        yield {
            "id": a.pk,
            "due_at": timezone.localtime(a.due_at, a.branch.tzinfo),
            "overdue": a.due_at < now,
            "branch": a.branch.code,
            "agent": a.agent.username,
            "channel": a.interaction.channel,
            "occurred_at": timezone.localtime(a.interaction.occurred_at, a.branch.tzinfo),
            "scorecard": a.rule.scorecard_code,
            "rule": a.rule.name,
        }


@login_required
@reads_from_replica
def queue_view(request: HttpRequest) -> HttpResponseBase:
    """The signed-in reviewer's sampled interactions still to score, the most overdue
    first; ``?format=csv`` exports them all."""
    _managers_only(request)
    assignments = open_assignments(reviewer=request.user)
    return csv_or_page(
        request,
        "quality/queue.html",
        {
            "page": Paginator(assignments, PAGE_SIZE).get_page(request.GET.get("page")),
            "now": timezone.now(),
        },
        columns=QUEUE_COLUMNS,
        rows=_queue_rows(assignments),
        filename="review-queue",
    )


# --- reviews ------------------------------------------------------------------------------


def _review_row(review: Review) -> dict[str, Any]:
    return {
        "id": review.pk,
        "occurred_at": timezone.localtime(review.occurred_at, review.branch.tzinfo),
        "branch": review.branch.code,
        "channel": review.channel,
        "agent": review.agent.username if review.agent else "",
        "reviewer": review.reviewer.username if review.reviewer else review.source,
        "scorecard": review.scorecard.code,
        "score": round(review.score, 4) if review.score is not None else None,
        "passed": review.passed,
        "critical_fail": review.critical_fail,
        "disputed": review.disputed,
    }


@login_required
@reads_from_replica
def review_list_view(request: HttpRequest) -> HttpResponseBase:
    """The reviews the user may read (an agent: their own), newest first, at one branch or
    all; ``?format=csv`` exports them all."""
    manager = is_manager(request.user)
    branches = branch_scope(request.user).branches().order_by("code") if manager else None
    branch = None
    code = request.GET.get("branch", "")
    if code:
        branch = branches.filter(code=code).first() if branches is not None else None
        if branch is None:
            raise Http404("No such branch.")
    reviews = review_feed(actor=request.user).filter(deleted_at__isnull=True)
    if branch is not None:
        reviews = reviews.filter(branch=branch)
    reviews = reviews.order_by("-occurred_at", "-pk")
    return csv_or_page(
        request,
        "quality/reviews.html",
        {
            "branches": branches,
            "branch": branch,
            "page": Paginator(reviews, PAGE_SIZE).get_page(request.GET.get("page")),
        },
        columns=REVIEW_COLUMNS,
        rows=(_review_row(r) for r in reviews.iterator(chunk_size=2000)),
        filename=f"reviews-{branch.code}" if branch else "reviews",
    )


# --- calibration --------------------------------------------------------------------------


def _count(rows: QuerySet[Any]) -> Subquery:
    """How many ``rows`` (correlated with the outer row), as an integer subquery."""
    return Subquery(
        rows.order_by().annotate(n=Func("pk", function="COUNT")).values("n"),
        output_field=IntegerField(),
    )


def _sessions(request: HttpRequest) -> QuerySet[CalibrationSession]:
    """The sessions about interactions at the branches the (manager) caller sees."""
    _managers_only(request)
    user_id = request.user.pk or 0
    return (
        branch_scope(request.user)
        .filter(CalibrationSession.objects.all(), field="interaction__branch")
        .select_related("scorecard", "interaction__branch", "reference_reviewer")
        # Counted in subqueries, not by GROUP BY: the partitioned interactions table's key is
        # (id, occurred_at), so PostgreSQL would not group its joined columns by id alone.
        .annotate(
            reviewer_count=_count(
                CalibrationSession.reviewers.through.objects.filter(
                    calibrationsession_id=OuterRef("pk")
                )
            ),
            review_count=_count(
                Review.objects.filter(session_id=OuterRef("pk"), deleted_at__isnull=True)
            ),
            mine=Exists(
                CalibrationSession.reviewers.through.objects.filter(
                    calibrationsession_id=OuterRef("pk"), user_id=user_id
                )
            ),
            scored=Exists(
                Review.objects.filter(
                    session_id=OuterRef("pk"), reviewer_id=user_id, deleted_at__isnull=True
                )
            ),
        )
    )


@login_required
def calibration_list_view(request: HttpRequest) -> HttpResponse:
    """Calibration sessions at the manager's branches, newest first."""
    sessions = _sessions(request).order_by("-created_at", "-pk")
    return render(
        request,
        "quality/calibrations.html",
        {"page": Paginator(sessions, PAGE_SIZE).get_page(request.GET.get("page"))},
    )


@login_required
def calibration_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One session: who has scored, and once two have, how far they agree."""
    session = (
        _sessions(request)
        .select_related("interaction__staff", "interaction__customer", "interaction__moment")
        .filter(pk=pk)
        .first()
    )
    if session is None:
        raise Http404("No such calibration session.")
    reviewers = list(session.reviewers.order_by("username"))
    blind = calibration_blind(session, request.user)
    scored = set(
        session.reviews.filter(deleted_at__isnull=True).values_list("reviewer_id", flat=True)
    )
    agreement = calibration_agreement(session) if len(scored) >= 2 and not blind else None
    return render(
        request,
        "quality/calibration.html",
        {
            "session": session,
            "interaction": session.interaction,
            "reviewers": [{"user": u, "scored": u.pk in scored} for u in reviewers],
            "to_score": session.closed_at is None
            and request.user.pk in {u.pk for u in reviewers}
            and request.user.pk not in scored,
            "blind": blind and len(scored) >= 2,
            "agreement": agreement,
            "per_item": item_agreement(_sessions(request), session.scorecard.code)
            if agreement is not None
            else None,
        },
    )


# --- scorecards (HQ) ----------------------------------------------------------------------


def _admin_link(scorecard: Scorecard) -> str | None:
    try:
        return reverse("admin:quality_scorecard_change", args=[scorecard.pk])
    except NoReverseMatch:  # the scorecard admin is not registered
        return None


def _scorecard_groups(form: NewVersionForm | None) -> list[dict[str, Any]]:
    """Each checklist with its versions, newest first, and the form for a new version."""
    versions = Scorecard.objects.order_by("code", "-effective_from").prefetch_related(
        Prefetch(
            "sections",
            queryset=Section.objects.order_by("position").prefetch_related(
                Prefetch("items", queryset=Item.objects.order_by("position"))
            ),
        )
    )
    today = timezone.localdate()
    groups = []
    for code, rows in groupby(versions, key=lambda s: s.code):
        cards = list(rows)
        current = next((c for c in cards if c.effective_from <= today), None)
        mine = form is not None and form.data.get("scorecard") == code
        groups.append(
            {
                "code": code,
                "versions": [
                    {
                        "card": c,
                        "admin_url": _admin_link(c),
                        "state": "current"
                        if c is current
                        else "scheduled"
                        if c.effective_from > today
                        else "superseded",
                    }
                    for c in cards
                ],
                "form": form
                if mine
                else NewVersionForm(initial={"scorecard": code}, auto_id=f"id_%s_{code}"),
            }
        )
    return groups


@login_required
@require_http_methods(["GET", "POST"])
def scorecards_view(request: HttpRequest) -> HttpResponse:
    """HQ's checklists and their versions; "new version" copies the newest one."""
    if not is_chain_admin(request.user):
        raise Http404("No such page.")
    form = None
    if request.method == "POST":
        if request.POST.get("action") != "new_version":
            raise Http404("No such action.")
        code = request.POST.get("scorecard", "")
        form = NewVersionForm(request.POST, auto_id=f"id_%s_{code}")
        if form.is_valid():
            newest = (
                Scorecard.objects.filter(code=form.cleaned_data["scorecard"])
                .order_by("-effective_from")
                .first()
            )
            if newest is None:
                raise Http404("No such scorecard.")
            try:
                created = scorecard_new_version(
                    actor=request.user,
                    scorecard=newest,
                    effective_from=form.cleaned_data["effective_from"],
                )
            except PermissionDenied:
                raise Http404("No such page.") from None
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request,
                    _("New version of %(code)s from %(day)s: edit it in the admin.")
                    % {"code": created.code, "day": date_format(created.effective_from)},
                )
                return redirect("quality-scorecards")
    return render(
        request,
        "quality/scorecards.html",
        {"groups": _scorecard_groups(form)},
        status=400 if form is not None and form.errors else 200,
    )
