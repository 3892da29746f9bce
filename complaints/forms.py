"""The complaint pages' forms: the queue's filters, the steps of the handling, the owner and
severity, and the type (a suggestion of the classifier or any current type)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from branches.models import Branch, User
from complaints.models import Area, ComplaintType, Severity, Status

ANY = pgettext_lazy("filter", "Any")
OPEN = "open"  # the queue's default: every status still to handle
NOT_TYPED = "none"


class ComplaintFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(OPEN, _("Open (not closed)")), *Status.choices, ("", ANY)],
        required=False,
    )
    severity = forms.ChoiceField(
        label=_("Severity"), choices=[("", ANY), *Severity.choices], required=False
    )
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.none(),
        label=_("Branch"),
        required=False,
        to_field_name="code",
        empty_label=ANY,
    )
    area = forms.ModelChoiceField(
        queryset=Area.objects.all(),
        label=_("Area"),
        required=False,
        to_field_name="code",
        empty_label=ANY,
    )
    type = forms.ChoiceField(label=_("Type"), choices=[("", ANY)], required=False)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(
        self,
        *args: Any,
        branches: QuerySet[Branch],
        types: Iterable[ComplaintType],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches  # type: ignore[attr-defined]
        self.fields["type"].choices = [  # type: ignore[attr-defined]
            ("", ANY),
            (NOT_TYPED, _("Not typed")),
            *type_groups(types),
        ]


def type_groups(types: Iterable[ComplaintType]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Types by area, as grouped choices of their codes (the types come ordered by area)."""
    return [
        (str(area), [(t.code, str(t)) for t in members])
        for area, members in groupby(types, key=lambda t: t.area)
    ]


class StepForm(forms.Form):
    """Acknowledge, investigate or close: a note may say more."""

    note = forms.CharField(
        label=_("Note"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RespondForm(StepForm):
    response = forms.CharField(
        label=_("Response given to the customer"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write the response the customer was given.")},
    )
    field_order = ["response", "note"]


class ReopenForm(StepForm):
    note = forms.CharField(
        label=_("Why it is reopened"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why it is reopened.")},
    )


STEP_FORMS: dict[str, type[StepForm]] = {
    "acknowledge": StepForm,
    "investigate": StepForm,
    "respond": RespondForm,
    "close": StepForm,
    "reopen": ReopenForm,
}


class OwnerField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name()
        return f"{name} ({obj.username})" if name else obj.username


class AssignForm(forms.Form):
    owner = OwnerField(
        queryset=User.objects.none(),
        label=_("Owner"),
        required=False,
        to_field_name="username",
        empty_label=_("Nobody yet"),
    )
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)

    def __init__(self, *args: Any, owners: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]


class TypeForm(forms.Form):
    """One of the suggestions (a radio each, with its probability) or any current type."""

    suggested = forms.ChoiceField(
        label=_("Suggested from the text"),
        required=False,
        widget=forms.RadioSelect(attrs={"class": "choices"}),
    )
    type = forms.ChoiceField(label=_("Another type"), required=False)

    def __init__(
        self,
        *args: Any,
        types: Iterable[ComplaintType],
        suggestions: Iterable[Any] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.types = {t.code: t for t in types}
        self.fields["type"].choices = [  # type: ignore[attr-defined]
            ("", _("— choose —")),
            *type_groups(self.types.values()),
        ]
        offered = list(suggestions)
        self.fields["suggested"].choices = [  # type: ignore[attr-defined]
            (
                s.type.code,
                _("%(type)s (%(area)s), %(probability)s %%")
                % {
                    "type": s.type,
                    "area": s.type.area,
                    "probability": number_format(100 * s.probability, 0),
                },
            )
            for s in offered
        ]
        self.types.update({s.type.code: s.type for s in offered})
        if not offered:
            del self.fields["suggested"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        suggested, other = data.get("suggested"), data.get("type")
        if suggested and other and suggested != other:
            raise forms.ValidationError(
                {"type": [_("Pick a suggestion or another type, not both.")]}
            )
        code = other or suggested
        if not code:
            raise forms.ValidationError({"type": [_("Choose a type.")]})
        data["complaint_type"] = self.types[code]
        return data
