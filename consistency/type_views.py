"""Complaints by type on the pages (SPEC §10): a region's types against the chain, and a
branch's section of its own, each with its CSV."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _

from branches.access import branch_scope, regions_visible_to
from common.replica import reads_from_replica
from common.views import csv_or_page
from consistency.forms import PeriodForm
from consistency.selectors import latest_period
from consistency.type_selectors import TYPE_COLUMNS, type_line_row, type_lines, type_names
from consistency.views import _bad_request, _default_region


@login_required
@reads_from_replica
def complaint_types_view(request: HttpRequest) -> HttpResponseBase:
    """A region's complaint types in one period: each type's count and rate in the region
    against the chain's, and the branches where it diverges."""
    regions = regions_visible_to(request.user)
    form = PeriodForm(request.GET, regions=regions)
    del form.fields["channel"]  # complaint types are counted over every channel
    if not form.is_valid():
        return _bad_request(request, form, _("Complaints by type"))
    kind = form.chosen_kind
    region = _default_region(request, form)
    period_start = form.period_start(latest_period(kind))
    branches = branch_scope(request.user).branches()
    if region is not None:
        branches = branches.filter(region=region)
    codes = dict(branches.values_list("pk", "code"))
    lines = type_lines(branch_ids=list(codes), kind=kind, period_start=period_start)
    names = type_names()
    rows = [type_line_row(line, codes, names, {}) for line in lines]
    types: dict[str, dict[str, Any]] = {}
    for row in rows:
        summary = types.setdefault(
            row["code"],
            {**row, "complaints": 0, "contacts": 0, "flagged": []},
        )
        summary["complaints"] += row["complaints"]
        summary["contacts"] += row["contacts"]
        if row["flag"]:
            summary["flagged"].append(row)
    for summary in types.values():
        contacts = summary["contacts"]
        summary["rate"] = summary["complaints"] / contacts if contacts else None
    ordered = sorted(types.values(), key=lambda t: (-len(t["flagged"]), -t["complaints"]))
    return csv_or_page(
        request,
        "consistency/complaint_types.html",
        {
            "form": form,
            "region": region,
            "kind": kind,
            "period_start": period_start,
            "types": ordered,
        },
        columns=TYPE_COLUMNS,
        rows=rows,
        filename=f"complaint-types-{period_start}",
    )
