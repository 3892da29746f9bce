"""The survey the customer fills in, and the follow-up forms staff use."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.models import FollowUpStatus


class SurveyForm(forms.Form):
    nps = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend or colleague?"),
        help_text=_("0 = not at all likely, 10 = extremely likely"),
        choices=[(n, str(n)) for n in range(11)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    csat = forms.TypedChoiceField(
        label=_("How satisfied are you with the service you received?"),
        choices=[
            (1, _("1: very dissatisfied")),
            (2, _("2: dissatisfied")),
            (3, _("3: neither")),
            (4, _("4: satisfied")),
            (5, _("5: very satisfied")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class HandlingSurveyForm(forms.Form):
    """The survey of a closed complaint: how well it was handled, and what to do better."""

    handling = forms.TypedChoiceField(
        label=_("How well did we handle your complaint?"),
        choices=[
            (1, _("1: very badly")),
            (2, _("2: badly")),
            (3, _("3: neither well nor badly")),
            (4, _("4: well")),
            (5, _("5: very well")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
    )
    handling_comment = forms.CharField(
        label=_("What could we do better? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class FollowUpFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Open or claimed"), *FollowUpStatus.choices, ("all", "Any")],
        required=False,
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)


class ResponseRatesForm(forms.Form):
    weeks = forms.IntegerField(min_value=1, max_value=52, required=False)


class FollowUpNoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )
