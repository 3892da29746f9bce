"""The public survey page (no sign-in: the link's token is the key), and the staff pages
of the feedback loop: follow-ups and response rates per branch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from branches.access import branch_scope, is_manager
from common.client_ip import client_address
from common.forms import apply_errors
from common.replica import reads_from_replica
from common.views import csv_or_page
from feedback.forms import (
    FollowUpFilterForm,
    FollowUpNoteForm,
    HandlingSurveyForm,
    ResponseRatesForm,
    SurveyForm,
)
from feedback.models import FollowUp, InvitationStatus, SurveyInvitation
from feedback.selectors import follow_up_get, follow_up_list, invitation_by_token, response_rates
from feedback.services import follow_up_act, survey_answer

LANGUAGE_CODES = {code for code, _ in settings.LANGUAGES}


def _too_many(request: HttpRequest) -> bool:
    """A client address asking for more survey pages a minute than a person would: someone
    guessing links. Counted in the shared cache, per minute."""
    address = client_address(request) or ""  # behind the proxy: the customer, not nginx
    key = f"survey-rate:{address}:{int(timezone.now().timestamp() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        count = 1
    return count > settings.SURVEY_RATE_PER_MINUTE


def _language(request: HttpRequest, invitation: SurveyInvitation | None) -> str:
    """The customer's language, else the browser's, else English."""
    if invitation is not None and invitation.language in LANGUAGE_CODES:
        return invitation.language
    return translation.get_language_from_request(request)


@never_cache
@require_http_methods(["GET", "POST"])
def survey_view(request: HttpRequest, token: str) -> HttpResponse:
    if _too_many(request):
        with translation.override(_language(request, None)):
            response = render(
                request, "feedback/survey_closed.html", {"reason": "busy"}, status=429
            )
        response["Retry-After"] = "60"
        return response
    invitation = invitation_by_token(token)
    with translation.override(_language(request, invitation)):
        if invitation is None or invitation.status not in {
            InvitationStatus.SENT,
            InvitationStatus.RESPONDED,
        }:
            return render(request, "feedback/survey_closed.html", {"reason": "unknown"}, status=404)
        if invitation.status == InvitationStatus.RESPONDED:
            return render(request, "feedback/survey_closed.html", {"reason": "used"}, status=410)
        if invitation.expires_at and invitation.expires_at <= timezone.now():
            return render(request, "feedback/survey_closed.html", {"reason": "expired"}, status=410)
        # A closed complaint's survey asks how it was handled; a visit's, NPS and CSAT.
        handling = invitation.is_about_handling
        form = (HandlingSurveyForm if handling else SurveyForm)(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                survey_answer(invitation=invitation, **form.cleaned_data)
            except ValidationError as error:
                reason = "used" if error.code == "used" else "expired"
                return render(
                    request, "feedback/survey_closed.html", {"reason": reason}, status=410
                )
            return render(request, "feedback/survey_thanks.html", {"branch": invitation.branch})
        return render(
            request,
            "feedback/survey_handling.html" if handling else "feedback/survey.html",
            {
                "form": form,
                "branch": invitation.branch,
                "customer": invitation.customer,
                "complaint": invitation.complaint,
            },
            status=400 if form.errors else 200,
        )


FOLLOW_UP_COLUMNS = [
    "id", "branch", "customer", "reason", "comment", "status", "owner", "opened_at", "due_at",
    "overdue",
]  # fmt: skip


@login_required
def follow_up_list_view(request: HttpRequest) -> HttpResponseBase:
    """Follow-ups of unhappy customers at the caller's branches, most urgent first."""
    branches = branch_scope(request.user).branches().order_by("code")
    code = request.GET.get("branch", "")
    branch = branches.filter(code=code).first() if code else None
    if code and branch is None:
        raise Http404("No such branch.")
    form = FollowUpFilterForm(request.GET)
    wanted = form.cleaned_data if form.is_valid() else {"status": "", "overdue": False}
    follow_ups = follow_up_list(
        actor=request.user,
        branch_id=branch.pk if branch else None,
        status=wanted["status"],
        overdue=wanted["overdue"],
    )
    now = timezone.now()
    rows = (
        {
            "id": f.pk,
            "branch": f.branch.code,
            "customer": f.interaction.customer.name if f.interaction.customer else "",
            "reason": f.reason,
            "comment": f.response.comment,
            "status": f.status,
            "owner": f.owner.username if f.owner else "",
            "opened_at": f.opened_at,
            "due_at": f.due_at,
            "overdue": f.status != "closed" and f.due_at < now,
        }
        for f in follow_ups.iterator(chunk_size=1000)
    )
    return csv_or_page(
        request,
        "feedback/follow_ups.html",
        {
            "form": form,
            "branches": branches,
            "branch": branch,
            "page": Paginator(follow_ups, 50).get_page(request.GET.get("page")),
            "now": now,
        },
        columns=FOLLOW_UP_COLUMNS,
        rows=rows,
        filename="follow-ups",
        status=200 if form.is_valid() else 400,
    )


def _follow_up_or_404(request: HttpRequest, pk: int) -> FollowUp:
    try:
        return follow_up_get(actor=request.user, pk=pk)
    except FollowUp.DoesNotExist:
        raise Http404("No such follow-up.") from None


def _follow_up_page(request: HttpRequest, follow_up: FollowUp, form: Any = None) -> HttpResponse:
    may_act = is_manager(request.user) and branch_scope(request.user, for_write=True).allows(
        follow_up.branch_id
    )
    return render(
        request,
        "feedback/follow_up.html",
        {
            "follow_up": follow_up,
            "notes": follow_up.notes.select_related("author"),
            "may_act": may_act,
            "form": form or FollowUpNoteForm(),
            "overdue": follow_up.status != "closed" and follow_up.due_at < timezone.now(),
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def follow_up_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _follow_up_page(request, _follow_up_or_404(request, pk))


DONE = {
    "claim": gettext_lazy("Claimed: it is yours."),
    "note": gettext_lazy("Note added."),
    "close": gettext_lazy("Follow-up closed."),
}


@login_required
@require_POST
def follow_up_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in DONE:
        raise Http404("No such action.")
    follow_up = _follow_up_or_404(request, pk)
    form = FollowUpNoteForm(request.POST)
    if form.is_valid():
        try:
            follow_up_act(
                actor=request.user,
                follow_up=follow_up,
                action=action,
                text=form.cleaned_data["text"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, DONE[action])
            return redirect("follow-up", pk=follow_up.pk)
    return _follow_up_page(request, follow_up, form)


RATE_COLUMNS = ["branch", "contacts", "invited", "skipped", "answered", "rate", "other_feedback"]


@login_required
@reads_from_replica
def response_rates_view(request: HttpRequest) -> HttpResponseBase:
    """Survey reach per branch over the last ``weeks`` weeks: asked, answered, rate."""
    form = ResponseRatesForm(request.GET)
    if not form.is_valid():
        return render(
            request, "feedback/response_rates.html", {"form": form, "rates": [], "weeks": 4},
            status=400,
        )  # fmt: skip
    weeks = form.cleaned_data["weeks"] or 4
    until = timezone.now()
    since = until - timedelta(weeks=weeks)
    rates = response_rates(actor=request.user, since=since, until=until)
    rows = [
        {
            "branch": r.branch.code,
            "contacts": r.contacts,
            "invited": r.invited,
            "skipped": r.skipped,
            "answered": r.answered,
            "rate": r.rate,
            "other_feedback": r.other_feedback,
        }
        for r in rates
    ]
    return csv_or_page(
        request,
        "feedback/response_rates.html",
        {"form": form, "rates": rates, "weeks": weeks, "since": since},
        columns=RATE_COLUMNS,
        rows=rows,
        filename="survey-response-rates",
    )
