"""The complaint pages (SPEC §10): the queue of complaints at the user's branches
(filters, sortable columns, CSV of what is shown) and a complaint with its history, the
steps its status allows, its owner and severity, and its type (suggested from the text,
confirmed by staff)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from branches.access import branch_scope, is_manager
from common.api.csv import csv_stream
from common.forms import apply_errors
from common.replica import reads_from_replica
from common.views import csv_or_page, wants_csv
from complaints.forms import (
    NOT_TYPED,
    OPEN,
    STEP_FORMS,
    AssignForm,
    ComplaintFilterForm,
    TypeForm,
)
from complaints.models import Complaint, ComplaintEvent, Status
from complaints.selectors import (
    complaint_events,
    complaint_list,
    complaint_owner_choices,
    live_types,
    overdue_q,
    type_suggestions,
    with_next_due,
)
from complaints.services import STEPS, complaint_assign, complaint_transition, complaint_type_set

PAGE_SIZE = 50
COLUMNS = [
    "reference", "received_at", "branch", "area", "type", "severity", "status", "owner",
    "due_at", "overdue", "interaction", "text", "remedy",
]  # fmt: skip
HISTORY_COLUMNS = ["at", "who", "via", "action", "from_status", "to_status", "note"]

# Columns a heading sorts by, and the order that keeps pages stable under it.
SORTS: dict[str, tuple[str, ...]] = {
    "reference": ("reference",),
    "received": ("received_at",),
    "branch": ("branch__code",),
    "type": ("type__area__position", "type__area__code", "type__code"),
    "severity": ("severity_rank",),
    "status": ("status_rank",),
    "owner": ("owner__username",),
    "due": ("due_at",),
}
DEFAULT_SORT = "due"  # the next deadline first: the overdue ones lead
HEADINGS = [
    ("reference", gettext_lazy("Reference")),
    ("received", gettext_lazy("Received (branch time)")),
    ("branch", gettext_lazy("Branch")),
    ("type", gettext_lazy("Type")),
    ("severity", gettext_lazy("Severity")),
    ("status", gettext_lazy("Status")),
    ("owner", gettext_lazy("Owner")),
    ("due", gettext_lazy("Next due (branch time)")),
]
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
STATUS_RANK = {s: n for n, s in enumerate(Status.values)}
STATUS_WORDS = dict(Status.choices)
ACTION_WORDS = {
    "received": gettext_lazy("Received"),
    "acknowledge": gettext_lazy("Acknowledged"),
    "investigate": gettext_lazy("Investigation started"),
    "respond": gettext_lazy("Responded"),
    "close": gettext_lazy("Closed"),
    "reopen": gettext_lazy("Reopened"),
    "typed": gettext_lazy("Type set"),
    "assigned": gettext_lazy("Owner or severity set"),
    "updated": gettext_lazy("Updated by an integration"),
}
DONE = {
    "acknowledge": gettext_lazy("Complaint acknowledged."),
    "investigate": gettext_lazy("Investigation started."),
    "respond": gettext_lazy("Response recorded."),
    "close": gettext_lazy("Complaint closed."),
    "reopen": gettext_lazy("Complaint reopened."),
    "assign": gettext_lazy("Owner and severity saved."),
    "type": gettext_lazy("Type saved."),
}
STEP_BUTTONS = {
    "acknowledge": gettext_lazy("Acknowledge"),
    "investigate": gettext_lazy("Start investigating"),
    "respond": gettext_lazy("Record the response"),
    "close": gettext_lazy("Close"),
    "reopen": gettext_lazy("Reopen"),
}


def _ranked(complaints: QuerySet[Complaint]) -> QuerySet[Complaint]:
    """Severity and status in their own order (critical above high, received before
    acknowledged), not the alphabet's."""
    return complaints.annotate(
        severity_rank=Case(
            *(When(severity=s, then=Value(n)) for s, n in SEVERITY_RANK.items()),
            output_field=IntegerField(),
        ),
        status_rank=Case(
            *(When(status=s, then=Value(n)) for s, n in STATUS_RANK.items()),
            output_field=IntegerField(),
        ),
    )


def _filtered(complaints: QuerySet[Complaint], wanted: dict[str, Any]) -> QuerySet[Complaint]:
    if wanted["status"] == OPEN:
        complaints = complaints.exclude(status=Status.CLOSED)
    elif wanted["status"]:
        complaints = complaints.filter(status=wanted["status"])
    if wanted["severity"]:
        complaints = complaints.filter(severity=wanted["severity"])
    if wanted["branch"]:
        complaints = complaints.filter(branch=wanted["branch"])
    if wanted["area"]:
        complaints = complaints.filter(type__area=wanted["area"])
    if wanted["type"] == NOT_TYPED:
        complaints = complaints.filter(type__isnull=True)
    elif wanted["type"]:
        complaints = complaints.filter(type__code=wanted["type"])
    if wanted["overdue"]:
        complaints = complaints.filter(overdue_q(timezone.now()))
    return complaints


def _sorted(complaints: QuerySet[Complaint], sort: str, descending: bool) -> QuerySet[Complaint]:
    keys = [
        F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        for name in SORTS[sort]
    ]
    tie = F("received_at").desc() if sort != "received" else None
    return complaints.order_by(*keys, *([tie] if tie is not None else []), "-id")


def _sort_links(sort: str, descending: bool) -> list[dict[str, Any]]:
    """Each heading with the direction its link sorts: the other way round for the column
    sorted by, else ascending (the soonest due, the oldest received...)."""
    return [
        {
            "key": key,
            "label": label,
            "active": key == sort,
            "descending": descending,
            "next_dir": "desc" if key == sort and not descending else "asc",
        }
        for key, label in HEADINGS
    ]


def _row(c: Complaint, now: Any) -> dict[str, Any]:
    zone = c.branch.tzinfo
    due = getattr(c, "due_at", None)
    return {
        "reference": c.reference,
        "received_at": timezone.localtime(c.received_at, zone),
        "branch": c.branch.code,
        "area": c.type.area.code if c.type else "",
        "type": c.type.code if c.type else "",
        "severity": c.severity,
        "status": c.status,
        "owner": c.owner.username if c.owner else "",
        "due_at": timezone.localtime(due, zone) if due else "",
        "overdue": bool(due and due < now),
        "interaction": c.interaction_id,
        "text": c.text,
        "remedy": c.remedy,
    }


def _rows(complaints: QuerySet[Complaint]) -> Iterator[dict[str, Any]]:
    now = timezone.now()
    for complaint in complaints.iterator(chunk_size=2000):
        yield _row(complaint, now)


@login_required
@reads_from_replica
def complaint_queue_view(request: HttpRequest) -> HttpResponseBase:
    """Complaints at the caller's branches, the next deadline first; filters, sortable
    columns, and ``?format=csv`` exports exactly the filtered list in its order."""
    branches = branch_scope(request.user).branches().order_by("code")
    data = request.GET.copy()
    data.setdefault("status", OPEN)
    form = ComplaintFilterForm(data, branches=branches, types=live_types())
    sort = request.GET.get("sort") or DEFAULT_SORT
    descending = request.GET.get("dir") == "desc"
    if not form.is_valid() or sort not in SORTS:
        if sort not in SORTS:
            form.add_error(None, gettext_lazy("No such column to sort by."))
        return render(
            request,
            "complaints/queue.html",
            {"form": form, "page": None, "headers": _sort_links(DEFAULT_SORT, False)},
            status=400,
        )
    complaints = _filtered(with_next_due(complaint_list(actor=request.user)), form.cleaned_data)
    complaints = _sorted(_ranked(complaints), sort, descending)
    page = Paginator(complaints, PAGE_SIZE).get_page(request.GET.get("page"))
    return csv_or_page(
        request,
        "complaints/queue.html",
        {
            "form": form,
            "page": page,
            "now": timezone.now(),
            "headers": _sort_links(sort, descending),
            "sort": sort,
            "descending": descending,
        },
        columns=COLUMNS,
        rows=_rows(complaints),
        filename="complaints",
    )


def _complaint_or_404(request: HttpRequest, pk: int) -> Complaint:
    complaints = complaint_list(actor=request.user).select_related(
        "interaction__customer", "interaction__staff"
    )
    return get_object_or_404(with_next_due(complaints), pk=pk)


def _history_rows(events: QuerySet[ComplaintEvent], zone: Any) -> Iterator[dict[str, Any]]:
    for e in events:
        yield {
            "at": timezone.localtime(e.at, zone),
            "who": e.actor.username if e.actor else "",
            "via": e.source_label,
            "action": e.action,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "note": e.note,
        }


def _complaint_page(
    request: HttpRequest,
    complaint: Complaint,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    bound = bound or {}
    may_handle = branch_scope(request.user, for_write=True).allows(complaint.branch_id)
    manager = is_manager(request.user)
    allowed = [
        action
        for action, step in STEPS.items()
        if complaint.status in step.allowed_from and (manager or not step.managers_only)
    ]
    types = list(live_types()) if may_handle else []
    context: dict[str, Any] = {
        "complaint": complaint,
        # A step the status no longer allows (someone moved it first) has no form to show
        # its refusal on.
        "refusals": [
            error
            for action, form in bound.items()
            if action in STEP_FORMS and action not in allowed
            for error in form.non_field_errors()
        ],
        "events": [
            {
                "event": e,
                "word": ACTION_WORDS.get(e.action, e.action),
                "status": STATUS_WORDS.get(e.to_status, e.to_status),
            }
            for e in complaint_events(complaint)
        ],
        "now": timezone.now(),
        "may_handle": may_handle,
        "steps": [
            {
                "action": action,
                "button": STEP_BUTTONS[action],
                "form": bound.get(action) or STEP_FORMS[action](prefix=action),
            }
            for action in (allowed if may_handle else [])
        ],
    }
    if may_handle:
        context["assign_form"] = bound.get("assign") or AssignForm(
            prefix="assign",
            owners=complaint_owner_choices(complaint.branch),
            initial={"owner": complaint.owner, "severity": complaint.severity},
        )
        context["type_form"] = bound.get("type") or TypeForm(
            prefix="type", types=types, suggestions=type_suggestions(complaint)
        )
    return render(request, "complaints/detail.html", context, status=status)


@login_required
def complaint_detail_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A complaint, its history and what may be done next; ``?format=csv`` exports its
    history."""
    complaint = _complaint_or_404(request, pk)
    if wants_csv(request):
        rows = _history_rows(complaint_events(complaint), complaint.branch.tzinfo)
        return csv_stream(HISTORY_COLUMNS, rows, f"complaint-{complaint.reference}-history")
    return _complaint_page(request, complaint)


def _bound_form(request: HttpRequest, complaint: Complaint, action: str) -> forms.Form:
    if action == "assign":
        return AssignForm(
            request.POST, prefix="assign", owners=complaint_owner_choices(complaint.branch)
        )
    if action == "type":
        return TypeForm(
            request.POST,
            prefix="type",
            types=live_types(),
            suggestions=type_suggestions(complaint),
        )
    return STEP_FORMS[action](request.POST, prefix=action)


def _act(request: HttpRequest, complaint: Complaint, action: str, data: dict[str, Any]) -> None:
    if action == "assign":
        complaint_assign(
            actor=request.user,
            complaint=complaint,
            owner=data["owner"],
            severity=data["severity"],
        )
    elif action == "type":
        complaint_type_set(
            actor=request.user, complaint=complaint, complaint_type=data["complaint_type"]
        )
    else:
        complaint_transition(
            actor=request.user,
            complaint=complaint,
            action=action,
            note=data.get("note", ""),
            response=data.get("response", ""),
        )


@login_required
@require_POST
def complaint_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One step of the handling, the owner and severity, or the type; errors come back on
    the complaint's page next to the fields (400), success goes back to it with a note."""
    if action not in DONE:
        raise Http404("No such action.")
    complaint = _complaint_or_404(request, pk)
    form = _bound_form(request, complaint, action)
    if form.is_valid():
        try:
            _act(request, complaint, action, form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, str(DONE[action]))
            return redirect("complaint-page", pk=complaint.pk)
    return _complaint_page(request, complaint, {action: form}, status=400)
