"""The priority areas page (SPEC §10): for a region, or one branch, over some complete weeks,
every moment of truth and complaint type in the order to fix them, with CSV. A caller sees
only their own branches (``branches.access.branch_scope``): a branch manager's region is
their branches of it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from branches.access import branch_scope, regions_visible_to
from branches.models import Branch, Region
from common.replica import reads_from_replica
from common.views import csv_or_page
from common.widgets import DayField
from consistency.models import PeriodKind
from consistency.priorities import (
    PRIORITY_COLUMNS,
    PRIORITY_WEEKS,
    priority_areas,
    priority_rows,
    priority_section,
    priority_span,
)
from consistency.rollups import week_start
from consistency.selectors import latest_period
from consistency.views import _bad_request

MAX_WEEKS = 104


class PriorityForm(forms.Form):
    """Which branches (a region, or one branch) and which complete weeks."""

    region = forms.ModelChoiceField(
        queryset=Region.objects.none(),
        label=gettext_lazy("Region"),
        required=False,
        to_field_name="code",
        empty_label=gettext_lazy("All my branches"),
    )
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.none(),
        label=gettext_lazy("Branch"),
        required=False,
        to_field_name="code",
        empty_label=gettext_lazy("The whole region"),
    )
    weeks = forms.IntegerField(
        label=gettext_lazy("Complete weeks"),
        min_value=1,
        max_value=MAX_WEEKS,
        required=False,
        help_text=gettext_lazy("12 when empty."),
    )
    until = DayField(
        label=gettext_lazy("Up to the week of"),
        required=False,
        help_text=gettext_lazy("Any day of the last week; empty for the latest."),
    )

    def __init__(
        self, *args: Any, regions: QuerySet[Region], branches: QuerySet[Branch], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions  # type: ignore[attr-defined]
        self.fields["branch"].queryset = branches  # type: ignore[attr-defined]

    def span(self, latest: date) -> tuple[date, date]:
        """Local days [start, end): the chosen weeks up to the end of the chosen week."""
        last_week = week_start(self.cleaned_data.get("until") or latest)
        weeks = self.cleaned_data.get("weeks") or PRIORITY_WEEKS
        return priority_span(last_week + timedelta(days=7), weeks)


def _chosen_region(request: HttpRequest, form: PriorityForm) -> Region | None:
    """The region asked for; else a regional manager's own; else none (all their branches),
    as on the comparison page."""
    region: Region | None = form.cleaned_data.get("region")
    if region is None and "region" not in request.GET:
        regions = getattr(request.user, "regions", None)
        region = regions.first() if regions is not None else None
    return region


@login_required
@reads_from_replica
def priorities_view(request: HttpRequest) -> HttpResponseBase:
    """The moments of truth and complaint types of a region's (or a branch's) contacts
    ranked by what they cost in satisfaction; ``?format=csv`` exports the whole list."""
    visible = branch_scope(request.user).branches()
    form = PriorityForm(
        request.GET,
        regions=regions_visible_to(request.user),
        branches=visible.order_by("code"),
    )
    if not form.is_valid():
        return _bad_request(request, form, _("Priority areas"))
    branch = form.cleaned_data.get("branch")
    region = None if branch else _chosen_region(request, form)
    if branch is not None:
        chosen = visible.filter(pk=branch.pk)
    elif region is not None:
        chosen = visible.filter(region=region)
    else:
        chosen = visible
    branch_ids = list(chosen.values_list("pk", flat=True))
    first, end = form.span(latest_period(PeriodKind.WEEK))
    areas = priority_areas(branch_ids=branch_ids, start=first, end=end)
    chosen_code = branch.code if branch else region.code if region else "mine"
    return csv_or_page(
        request,
        "consistency/priorities.html",
        {
            "form": form,
            "branch": branch,
            "region": region,
            "branch_count": len(branch_ids),
            "priorities": priority_section(areas, first, end, top=len(areas)),
            "priorities_table": None,
        },
        columns=PRIORITY_COLUMNS,
        rows=priority_rows(areas, first, end),
        filename=f"priorities-{chosen_code}-{first}",
    )
