"""Scoring an interaction against a scorecard, and one review with its dispute.

Who sees what follows quality.services.may_review (scoring) and
quality.selectors.reviews_visible (reading); whoever may not gets a 404, never a hint."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from branches.access import branch_scope, is_manager
from common.forms import apply_errors
from feedback.models import FeedbackResponse
from interactions.models import Interaction
from quality.forms import DisputeForm, ReviewForm, SettleForm
from quality.models import (
    Assignment,
    CalibrationSession,
    Dispute,
    DisputeEvent,
    DisputeStatus,
    Item,
    Review,
    ReviewKind,
    Scorecard,
)
from quality.selectors import reviews_visible
from quality.services import (
    dispute_raise,
    dispute_settle,
    may_review,
    review_submit,
    scorecard_items,
)

STEP_WORDS = {
    "raised": gettext_lazy("raised the dispute"),
    DisputeStatus.ACCEPTED: gettext_lazy("accepted it"),
    DisputeStatus.PARTLY_ACCEPTED: gettext_lazy("partly accepted it"),
    DisputeStatus.REJECTED: gettext_lazy("rejected it"),
}


def _score_phrase(review: Review) -> str:
    if review.score is None:
        return _("no score (nothing applied)")
    verdict = _("passed") if review.passed else _("failed")
    return f"{review.score * 100:.0f} % ({verdict})"


# --- scoring ------------------------------------------------------------------------------


def _reviewable_or_404(request: HttpRequest, pk: int) -> Interaction:
    """The interaction, if the caller may score it (quality.services.may_review)."""
    interaction = (
        Interaction.objects.alive()
        .select_related("branch", "customer", "staff", "moment")
        .filter(pk=pk)
        .first()
    )
    if interaction is None:
        raise Http404("No such interaction.")
    try:
        may_review(request.user, interaction)
    except PermissionDenied:
        raise Http404("No such interaction.") from None
    return interaction


def _id_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    if not value:
        return None
    if not value.isdigit():
        raise Http404(f"No such {name}.")
    return int(value)


def _assignment(request: HttpRequest, interaction: Interaction) -> Assignment | None:
    pk = _id_param(request, "assignment")
    if pk is None:
        return None
    assignment = (
        Assignment.objects.select_related("rule")
        .filter(pk=pk, reviewer_id=request.user.pk, interaction_id=interaction.pk)
        .first()
    )
    if assignment is None:
        raise Http404("No such assignment.")
    return assignment


def _session(request: HttpRequest, interaction: Interaction) -> CalibrationSession | None:
    pk = _id_param(request, "session")
    if pk is None:
        return None
    session = (
        CalibrationSession.objects.select_related("scorecard")
        .filter(pk=pk, interaction_id=interaction.pk, reviewers__pk=request.user.pk or 0)
        .first()
    )
    if session is None:
        raise Http404("No such calibration session.")
    return session


def _scorecard(
    request: HttpRequest,
    interaction: Interaction,
    assignment: Assignment | None,
    session: CalibrationSession | None,
) -> tuple[Scorecard | None, list[Scorecard]]:
    """The checklist to score on, and the others in force that day (to switch to). The
    session's; else the code asked for or the assignment's rule's; else the one for the
    interaction's channel, one for any channel, or the first (by code). The version is the
    one in force on the interaction's day, as quality.services.review_submit picks it."""
    if session is not None:
        return session.scorecard, []
    day = interaction.occurred_at.date()
    in_force: dict[str, Scorecard] = {}
    for card in Scorecard.objects.filter(is_active=True, effective_from__lte=day).order_by(
        "code", "-effective_from"
    ):
        in_force.setdefault(card.code, card)
    code = request.GET.get("scorecard", "")
    if code and code not in in_force:
        raise Http404("No such scorecard.")
    if assignment is not None:
        code = code or assignment.rule.scorecard_code
    if code:
        chosen = in_force.get(code)
    else:
        cards = list(in_force.values())
        chosen = next(
            (c for c in cards if c.channel == interaction.channel),
            next((c for c in cards if not c.channel), cards[0] if cards else None),
        )
    others = [] if assignment is not None else list(in_force.values())
    return chosen, others


@login_required
@require_http_methods(["GET", "POST"])
def review_new_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Score an interaction: what happened, what the customer said, and the checklist."""
    interaction = _reviewable_or_404(request, pk)
    assignment = _assignment(request, interaction)
    session = _session(request, interaction)
    scorecard, others = _scorecard(request, interaction, assignment, session)
    items = scorecard_items(scorecard) if scorecard is not None else []
    done_before = None
    if session is not None:
        done_before = session.reviews.filter(
            reviewer_id=request.user.pk, deleted_at__isnull=True
        ).first()
    elif assignment is not None:
        done_before = assignment.review
    form = ReviewForm(request.POST or None, items=items)
    if request.method == "POST" and form.is_valid():
        if scorecard is None:
            form.add_error(None, _("No scorecard is in force for this interaction."))
        elif done_before is not None:
            form.add_error(None, _("You have scored this already."))
        else:
            try:
                review = review_submit(
                    actor=request.user,
                    interaction=interaction,
                    values=form.values(),
                    comment=form.cleaned_data["comment"],
                    scorecard_code=scorecard.code,
                    session=session,
                    assignment=assignment,
                )
            except PermissionDenied:
                raise Http404("No such interaction.") from None
            except ValidationError as error:
                form.apply_service_errors(error)
            else:
                messages.success(
                    request, _("Review saved: %(score)s.") % {"score": _score_phrase(review)}
                )
                return redirect("quality-review", pk=review.pk)
    return render(
        request,
        "quality/review_new.html",
        {
            "interaction": interaction,
            "feedback": FeedbackResponse.objects.filter(interaction_id=interaction.pk).order_by(
                "-received_at"
            ),
            "scorecard": scorecard,
            "others": others,
            "assignment": assignment,
            "session": session,
            "done_before": done_before,
            "takes_reviews": scorecard is not None
            and done_before is None
            and (session is None or session.closed_at is None),
            "form": form,
            "checklist": form.sections(autofocus=True),
            # A calibration reviewer judges on their own: no earlier reviews to lean on.
            "earlier": []
            if session is not None
            else Review.objects.filter(
                interaction_id=interaction.pk, kind=ReviewKind.REGULAR, deleted_at__isnull=True
            ).select_related("reviewer"),
        },
        status=400 if form.errors else 200,
    )


# --- one review ---------------------------------------------------------------------------


def calibration_blind(session: CalibrationSession | None, user: Any) -> bool:
    """A reviewer of an open session who has not scored yet sees nobody else's answers:
    calibration measures independent judgements."""
    return (
        session is not None
        and session.closed_at is None
        and session.reviewers.filter(pk=user.pk).exists()
        and not session.reviews.filter(reviewer_id=user.pk, deleted_at__isnull=True).exists()
    )


def _review_or_404(request: HttpRequest, pk: int) -> Review:
    review = (
        reviews_visible(actor=request.user)
        .filter(pk=pk, deleted_at__isnull=True)
        .select_related(
            "scorecard",
            "agent",
            "reviewer",
            "branch",
            "session",
            "interaction__branch",
            "interaction__customer",
            "interaction__staff",
            "interaction__moment",
        )
        .first()
    )
    if review is None:
        raise Http404("No such review.")
    if review.kind == ReviewKind.CALIBRATION and (
        not is_manager(request.user) or calibration_blind(review.session, request.user)
    ):
        raise Http404("No such review.")
    return review


def _answer_rows(items: list[Item], review: Review) -> list[dict[str, Any]]:
    return [
        {
            "item": item,
            "value": review.answers.get(item.code),
            "missing": item.code not in review.answers,
        }
        for item in items
    ]


def _review_page(
    request: HttpRequest,
    review: Review,
    items: list[Item],
    *,
    dispute_form: DisputeForm | None = None,
    settle_form: SettleForm | None = None,
) -> HttpResponse:
    user = request.user
    disputes = list(
        review.disputes.select_related("raised_by", "decided_by").prefetch_related(
            Prefetch("events", queryset=DisputeEvent.objects.select_related("actor"))
        )
    )
    open_dispute = next((d for d in disputes if d.status == DisputeStatus.OPEN), None)
    may_dispute = (
        review.kind == ReviewKind.REGULAR
        and review.agent_id is not None
        and review.agent_id == user.pk
        and not review.disputed
    )
    may_settle = (
        open_dispute is not None
        and user.pk != review.agent_id
        and is_manager(user)
        and branch_scope(user).allows(review.branch_id)
    )
    if settle_form is None and open_dispute is not None:
        settle_form = SettleForm(
            items=items, answers=review.answers, initial={"dispute": open_dispute.pk}
        )
    return render(
        request,
        "quality/review.html",
        {
            "review": review,
            "interaction": review.interaction,
            "answers": _answer_rows(items, review),
            "disputes": [
                {
                    "dispute": d,
                    "steps": [
                        {"event": e, "words": STEP_WORDS.get(e.action, e.action)}
                        for e in d.events.all()
                    ],
                }
                for d in disputes
            ],
            "open_dispute": open_dispute,
            "may_dispute": may_dispute,
            "may_settle": may_settle,
            "dispute_form": dispute_form or DisputeForm(),
            "settle_form": settle_form,
            "settle_checklist": settle_form.sections() if settle_form is not None else [],
        },
        status=400
        if (dispute_form and dispute_form.errors) or (settle_form and settle_form.errors)
        else 200,
    )


def _settle(request: HttpRequest, review: Review, form: SettleForm) -> Dispute | None:
    """Settle the dispute the form names; None (with the errors on the form) if refused."""
    if not form.is_valid():
        return None
    dispute = review.disputes.filter(pk=form.cleaned_data["dispute"]).first()
    if dispute is None:
        form.add_error(None, _("This dispute is not about this review."))
        return None
    rejected = form.cleaned_data["status"] == DisputeStatus.REJECTED
    try:
        return dispute_settle(
            actor=request.user,
            dispute=dispute,
            status=form.cleaned_data["status"],
            note=form.cleaned_data["note"],
            values=None if rejected else form.values(),
        )
    except ValidationError as error:
        form.apply_service_errors(error)
        return None


@login_required
@require_http_methods(["GET", "POST"])
def review_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A review with its answers and dispute history; the reviewed agent disputes it here and
    a manager of the branch settles the dispute. POSTs say which by ``action``."""
    review = _review_or_404(request, pk)
    items = scorecard_items(review.scorecard)
    if request.method != "POST":
        return _review_page(request, review, items)
    action = request.POST.get("action")
    try:
        if action == "dispute":
            dispute_form = DisputeForm(request.POST)
            if dispute_form.is_valid():
                try:
                    dispute_raise(
                        actor=request.user,
                        review=review,
                        reason=dispute_form.cleaned_data["reason"],
                    )
                except ValidationError as error:
                    apply_errors(dispute_form, error)
                else:
                    messages.success(request, _("Dispute raised: a manager will settle it."))
                    return redirect("quality-review", pk=review.pk)
            return _review_page(request, review, items, dispute_form=dispute_form)
        if action == "settle":
            settle_form = SettleForm(request.POST, items=items)
            settled = _settle(request, review, settle_form)
            if settled is not None:
                review.refresh_from_db()
                messages.success(
                    request,
                    _("Dispute settled (%(status)s); the review's score: %(score)s.")
                    % {
                        "status": str(settled.get_status_display()).lower(),
                        "score": _score_phrase(review),
                    },
                )
                return redirect("quality-review", pk=review.pk)
            return _review_page(request, review, items, settle_form=settle_form)
    except PermissionDenied:
        raise Http404("No such review.") from None
    raise Http404("No such action.")
