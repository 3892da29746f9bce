"""Pickers, filters and lifecycle forms of the consistency pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from branches.models import Branch, Region, Role, User
from common.widgets import DayField
from consistency.models import (
    ALL_CHANNELS,
    CHANNEL_SCOPES,
    CaseStatus,
    FlagStatus,
    Metric,
    PeriodKind,
    Severity,
    TestKind,
)
from consistency.rollups import month_start, week_start

OPEN = "open"  # the queue's default: open, acknowledged or action planned


class PeriodForm(forms.Form):
    """Which period and channel a page shows; a region too where the page compares."""

    kind = forms.ChoiceField(
        label=_("Period"),
        choices=[c for c in PeriodKind.choices if c[0] != PeriodKind.DAY],
        required=False,
    )
    period = DayField(
        label=_("Starting"),
        required=False,
        help_text=_("Any day of the week or month; empty for the latest."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=CHANNEL_SCOPES, required=False)
    region = forms.ModelChoiceField(
        queryset=Region.objects.none(),
        label=_("Region"),
        required=False,
        to_field_name="code",
        empty_label=_("All my branches"),
    )

    def __init__(self, *args: Any, regions: QuerySet[Region] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if regions is None:
            del self.fields["region"]
        else:
            self.fields["region"].queryset = regions  # type: ignore[attr-defined]

    def period_start(self, latest: date) -> date:
        """The chosen period's first day (a Monday or the 1st), else ``latest``."""
        day = self.cleaned_data.get("period")
        if day is None:
            return latest
        return week_start(day) if self.chosen_kind == PeriodKind.WEEK else month_start(day)

    @property
    def chosen_kind(self) -> str:
        return self.cleaned_data.get("kind") or PeriodKind.WEEK

    @property
    def chosen_channel(self) -> str:
        return self.cleaned_data.get("channel") or ALL_CHANNELS


class FunnelForm(PeriodForm):
    metric = forms.ChoiceField(label=_("Metric"), choices=Metric.choices, required=False)

    field_order = ["metric", "kind", "period", "channel", "region"]

    @property
    def chosen_metric(self) -> str:
        return self.cleaned_data.get("metric") or Metric.RESPONSE


ANY = pgettext_lazy("filter", "Any")


class FlagFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(OPEN, _("Open (not resolved)")), *FlagStatus.choices, ("", ANY)],
        required=False,
    )
    severity = forms.ChoiceField(
        label=_("Level"), choices=[("", ANY), *Severity.choices], required=False
    )
    test = forms.ChoiceField(
        label=_("Test"), choices=[("", ANY), *TestKind.choices], required=False
    )
    metric = forms.ChoiceField(
        label=_("Metric"), choices=[("", ANY), *Metric.choices], required=False
    )
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.none(),
        label=_("Branch"),
        required=False,
        to_field_name="code",
        empty_label=ANY,
    )

    def __init__(self, *args: Any, branches: QuerySet[Branch], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches  # type: ignore[attr-defined]


OPEN_CASES = "open"  # the case queue's default: every status still to work
NO_PLAN, OVERDUE = "no_plan", "overdue"


class CaseFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(OPEN_CASES, _("Open (any step)")), *CaseStatus.choices, ("", ANY)],
        required=False,
    )
    severity = forms.ChoiceField(
        label=_("Level"), choices=[("", ANY), *Severity.choices], required=False
    )
    metric = forms.ChoiceField(
        label=_("Metric"), choices=[("", ANY), *Metric.choices], required=False
    )
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.none(),
        label=_("Branch"),
        required=False,
        to_field_name="code",
        empty_label=ANY,
    )
    peer_group = forms.ChoiceField(label=_("Peer group"), choices=[("", ANY)], required=False)
    work = forms.ChoiceField(
        label=pgettext_lazy("case filter", "Work"),
        choices=[("", ANY), (NO_PLAN, _("No plan yet")), (OVERDUE, _("Plan overdue"))],
        required=False,
    )

    def __init__(self, *args: Any, branches: QuerySet[Branch], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches  # type: ignore[attr-defined]
        groups = sorted({g for g in branches.values_list("peer_group", flat=True) if g})
        self.fields["peer_group"].choices = [("", ANY), *((g, g) for g in groups)]  # type: ignore[attr-defined]


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class PlanForm(NoteForm):
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Owner"), empty_label=None, to_field_name="username"
    )
    due_date = DayField(label=_("Due date"))
    plan = forms.CharField(
        label=_("What will be done"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, branch: Branch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Managers who can see the branch: its own, its region's, HQ.
        self.fields["owner"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(is_active=True)
            .filter(
                Q(role=Role.BRANCH_MANAGER, branches=branch)
                | Q(role=Role.REGIONAL_MANAGER, regions=branch.region)
                | Q(role=Role.ADMIN)
            )
            .distinct()
            .order_by("username")
        )
