"""The counter's pages: log a touchpoint, the walk-in queue, a branch's recent
interactions and a customer's 360° page. Reach always comes from branches.access."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from branches.access import branch_scope
from branches.models import Branch
from common.audit import history_entries
from common.forms import apply_errors
from common.views import csv_or_page
from customers.models import Customer
from customers.selectors import customer_get
from interactions.forms import (
    LOG_ERROR_FIELDS,
    NEW_CUSTOMER,
    CheckInFinishForm,
    CheckInForm,
    InteractionLogForm,
)
from interactions.models import CheckIn, Interaction
from interactions.selectors import (
    check_in_get,
    check_in_queue,
    customer_timeline,
    interaction_list,
)
from interactions.services import (
    check_in_arrive,
    check_in_finish,
    check_in_greet,
    check_in_walk_out,
    interaction_log,
    interaction_log_with_new_customer,
)

PAGE_SIZE = 50
QUEUE_COLUMNS = ["id", "who", "topic", "arrived_at", "greeted_at", "staff"]
INTERACTION_COLUMNS = [
    "id",
    "occurred_at",
    "branch",
    "channel",
    "direction",
    "customer",
    "staff",
    "wait_seconds",
    "handle_seconds",
    "outcome",
    "is_complaint",
    "topic",
    "moment",
    "csat",
    "nps",
]


def _pick_branch(request: HttpRequest, branches: QuerySet[Branch]) -> Branch:
    """The branch named by ``?branch=``, else the first one; 404 outside the caller's reach."""
    code = request.GET.get("branch")
    branch = branches.filter(code=code).first() if code else branches.order_by("code").first()
    if branch is None:
        raise Http404("No such branch.")
    return branch


def _writable(request: HttpRequest) -> QuerySet[Branch]:
    return branch_scope(request.user, for_write=True).branches().order_by("code")


def _row(interaction: Interaction) -> dict[str, Any]:
    return {
        "id": interaction.pk,
        "occurred_at": timezone.localtime(interaction.occurred_at, interaction.branch.tzinfo),
        "branch": interaction.branch.code,
        "channel": interaction.channel,
        "direction": interaction.direction,
        "customer": interaction.customer.name if interaction.customer else "",
        "staff": interaction.staff.username if interaction.staff else "",
        "wait_seconds": interaction.wait_seconds,
        "handle_seconds": interaction.handle_seconds,
        "outcome": interaction.outcome,
        "is_complaint": interaction.is_complaint,
        "topic": interaction.topic,
        "moment": str(interaction.moment) if interaction.moment else "",
        "csat": interaction.csat,
        "nps": interaction.nps,
    }


def _rows(interactions: QuerySet[Interaction]) -> Iterator[dict[str, Any]]:
    for interaction in interactions.iterator(chunk_size=2000):
        yield _row(interaction)


def _customer_from_link(request: HttpRequest) -> Customer | None:
    value = request.GET.get("customer", "")
    if not value.isdigit():
        return None
    try:
        return customer_get(actor=request.user, customer_id=int(value))
    except (Customer.DoesNotExist, PermissionDenied):
        return None


@login_required
@require_http_methods(["GET", "POST"])
def interaction_log_view(request: HttpRequest) -> HttpResponse:
    """Log a touchpoint; on success back to an empty form with a confirmation."""
    branches = _writable(request)
    if not branches:
        raise PermissionDenied("You may not record interactions at any branch.")
    form = InteractionLogForm(request.POST or None, branches=branches)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["customer"] == NEW_CUSTOMER:
                interaction = interaction_log_with_new_customer(
                    actor=request.user,
                    customer=form.new_customer_data(),
                    **form.interaction_data(),
                )
            else:
                interaction = interaction_log(
                    actor=request.user,
                    customer=form.chosen_customer(),
                    **form.interaction_data(),
                )
        except ValidationError as error:
            apply_errors(form, error, LOG_ERROR_FIELDS)
        else:
            who = interaction.customer.name if interaction.customer else _("an anonymous customer")
            messages.success(
                request,
                _("Logged: %(channel)s with %(who)s at %(branch)s (%(outcome)s).")
                % {
                    "channel": str(interaction.get_channel_display()).lower(),
                    "who": who,
                    "branch": interaction.branch.code,
                    "outcome": str(interaction.get_outcome_display()).lower(),
                },
            )
            return redirect("interaction-log")
    # A customer already picked stays picked when the form comes back with errors; the
    # link of a customer's page (?customer=<id>) opens the form with them picked.
    chosen = form.chosen_customer() if form.is_bound else _customer_from_link(request)
    if chosen is not None and not form.is_bound:
        form.focus_channel()
    recent = interaction_list(actor=request.user).filter(branch__in=branches)[:10]
    return render(
        request,
        "interactions/log.html",
        {"form": form, "chosen": chosen, "recent": recent, "new_value": NEW_CUSTOMER},
        status=400 if form.errors else 200,
    )


@login_required
def interaction_list_view(request: HttpRequest) -> HttpResponseBase:
    """A branch's interactions, newest first; ``?format=csv`` exports every one of them."""
    branches = branch_scope(request.user).branches().order_by("code")
    branch = _pick_branch(request, branches)
    interactions = interaction_list(actor=request.user, branch_id=branch.pk)
    page = Paginator(interactions, PAGE_SIZE).get_page(request.GET.get("page"))
    return csv_or_page(
        request,
        "interactions/list.html",
        {"branch": branch, "branches": branches, "page": page},
        columns=INTERACTION_COLUMNS,
        rows=_rows(interactions),
        filename=f"interactions-{branch.code}",
    )


@login_required
def customer_detail_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The 360° page: profile, consent, every touchpoint at every branch, changes."""
    try:
        customer, timeline = customer_timeline(actor=request.user, customer_id=pk)
    except (Customer.DoesNotExist, PermissionDenied):
        raise Http404("No such customer.") from None
    page = Paginator(timeline, PAGE_SIZE).get_page(request.GET.get("page"))
    return csv_or_page(
        request,
        "interactions/customer_detail.html",
        {
            "customer": customer,
            "page": page,
            "changes": history_entries(customer.history.all(), limit=20),
        },
        columns=INTERACTION_COLUMNS,
        rows=_rows(timeline),
        filename=f"customer-{customer.pk}-timeline",
    )


# --- walk-ins ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def check_in_queue_view(request: HttpRequest) -> HttpResponseBase:
    """Who is waiting and who is being served at the branch; "arrived" adds a walk-in."""
    branches = _writable(request)
    branch = _pick_branch(request, branches)
    form = CheckInForm(request.POST or None, branches=branches, initial={"branch": branch.pk})
    if request.method == "POST" and form.is_valid():
        try:
            check_in = check_in_arrive(
                actor=request.user,
                branch=form.cleaned_data["branch"],
                customer=form.cleaned_data["customer"],
                label=form.cleaned_data["label"],
                topic=form.cleaned_data["topic"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, _("%(who)s is waiting: the clock is running.") % {"who": check_in}
            )
            return redirect(f"{reverse('checkin-queue')}?branch={check_in.branch.code}")
    queue = list(check_in_queue(actor=request.user, branch_id=branch.pk))
    rows = (
        {
            "id": c.pk,
            "who": str(c),
            "topic": c.topic,
            "arrived_at": timezone.localtime(c.arrived_at, branch.tzinfo),
            "greeted_at": timezone.localtime(c.greeted_at, branch.tzinfo) if c.greeted_at else "",
            "staff": c.staff.username if c.staff else "",
        }
        for c in queue
    )
    return csv_or_page(
        request,
        "interactions/queue.html",
        {
            "branch": branch,
            "branches": branches,
            "form": form,
            "waiting": [c for c in queue if c.greeted_at is None],
            "serving": [c for c in queue if c.greeted_at is not None],
            "finish_form": CheckInFinishForm(),
            "chosen": form.cleaned_data.get("customer") if form.is_bound else None,
        },
        columns=QUEUE_COLUMNS,
        rows=rows,
        filename=f"walk-ins-{branch.code}",
        status=400 if form.errors else 200,
    )


def _check_in_or_404(request: HttpRequest, pk: int) -> CheckIn:
    try:
        return check_in_get(actor=request.user, pk=pk)
    except CheckIn.DoesNotExist:
        raise Http404("No such walk-in.") from None


def _queue_step(
    request: HttpRequest,
    pk: int,
    step: Callable[..., CheckIn],
    done: Callable[[CheckIn], str],
    **data: Any,
) -> HttpResponse:
    """Run one step of a walk-in's visit and go back to the queue saying how it went."""
    check_in = _check_in_or_404(request, pk)
    try:
        moved = step(actor=request.user, check_in=check_in, **data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done(moved))
    return redirect(f"{reverse('checkin-queue')}?branch={check_in.branch.code}")


def _served(check_in: CheckIn) -> str:
    interaction = check_in.interaction
    assert interaction is not None  # noqa: S101 - set by the service
    return _("%(who)s done: waited %(wait)s s, served in %(handle)s s.") % {
        "who": check_in,
        "wait": interaction.wait_seconds,
        "handle": interaction.handle_seconds,
    }


@login_required
@require_POST
def check_in_greet_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _queue_step(
        request,
        pk,
        check_in_greet,
        lambda c: _("%(who)s greeted: the wait is recorded.") % {"who": c},
    )


@login_required
@require_POST
def check_in_finish_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = CheckInFinishForm(request.POST)
    if not form.is_valid():
        check_in = _check_in_or_404(request, pk)
        messages.error(
            request, _("Could not finish: %(errors)s") % {"errors": form.errors.as_text()}
        )
        return redirect(f"{reverse('checkin-queue')}?branch={check_in.branch.code}")
    return _queue_step(request, pk, check_in_finish, _served, **form.cleaned_data)


@login_required
@require_POST
def check_in_walk_out_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _queue_step(
        request,
        pk,
        check_in_walk_out,
        lambda c: _("%(who)s left without being served (recorded as abandoned).") % {"who": c},
    )
