"""Forms of the quality pages: a scorecard's checklist (one radio group per item), a
dispute, its settlement, and a new scorecard version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from common.forms import apply_errors
from common.widgets import DayField
from quality.models import DisputeStatus, Item, Scale, Section

NOT_APPLICABLE = "na"
SETTLE_CHOICES = [
    (DisputeStatus.ACCEPTED, _("Accept: score it with the answers below")),
    (DisputeStatus.PARTLY_ACCEPTED, _("Partly accept: score it with the answers below")),
    (DisputeStatus.REJECTED, _("Reject: the review stands as it is")),
]


def answer_field_name(code: str) -> str:
    return f"answer-{code}"


def _choices(item: Item) -> list[tuple[str, Any]]:
    if item.scale == Scale.YES_NO:
        choices: list[tuple[str, Any]] = [("1", _("Yes")), ("0", _("No"))]
    else:
        choices = [(str(n), str(n)) for n in range(1, 6)]
    if item.allow_na:
        choices.append((NOT_APPLICABLE, _("N/A")))
    return choices


@dataclass
class ChecklistRow:
    item: Item
    field: forms.BoundField
    autofocus: bool = False


@dataclass
class ChecklistSection:
    section: Section
    rows: list[ChecklistRow] = field(default_factory=list)


class AnswersForm(forms.Form):
    """A radio group per checklist item: yes/no (1/0) or 1 to 5, and N/A where the item
    allows it. Every item needs an answer, N/A included, so a question skipped by mistake
    is caught instead of silently counting as not applicable."""

    answers_required = True

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        items: Sequence[Item],
        answers: Mapping[str, int | None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.items = list(items)
        for item in self.items:
            self.fields[answer_field_name(item.code)] = forms.ChoiceField(
                label=item.text,
                choices=_choices(item),
                widget=forms.RadioSelect,
                required=self.answers_required,
                error_messages={"required": _("Choose an answer.")},
            )
            if answers is not None and item.code in answers:
                value = answers[item.code]
                self.initial[answer_field_name(item.code)] = (
                    NOT_APPLICABLE if value is None else str(value)
                )

    def sections(self, *, autofocus: bool = False) -> list[ChecklistSection]:
        """The items under their sections, with the radio group to focus first: the first
        one with an error, else the first one."""
        grouped: list[ChecklistSection] = []
        for item in self.items:
            if not grouped or grouped[-1].section.pk != item.section_id:
                grouped.append(ChecklistSection(item.section))
            grouped[-1].rows.append(ChecklistRow(item, self[answer_field_name(item.code)]))
        rows = [row for group in grouped for row in group.rows]
        if autofocus and rows:
            focus = next((row for row in rows if row.field.errors), rows[0])
            focus.autofocus = True
        return grouped

    def values(self) -> dict[str, int | None]:
        """Item code -> answer, as the services take them (None: not applicable)."""
        values: dict[str, int | None] = {}
        for item in self.items:
            raw = self.cleaned_data.get(answer_field_name(item.code)) or ""
            if raw == NOT_APPLICABLE:
                values[item.code] = None
            elif raw:
                values[item.code] = int(raw)
        return values

    def apply_service_errors(self, error: ValidationError) -> None:
        """A service's errors next to what they are about: ``answers`` messages name their
        item ("code: message"), the rest go to their field or above the form."""
        if not hasattr(error, "error_dict"):
            apply_errors(self, error)
            return
        rest: dict[str, list[str]] = {}
        for name, messages in error.message_dict.items():
            if name != "answers":
                rest[name] = messages
                continue
            for message in messages:
                code, _sep, text = message.partition(": ")
                target = answer_field_name(code)
                if text and target in self.fields:
                    self.add_error(target, text)
                else:
                    self.add_error(None, message)
        if rest:
            apply_errors(self, ValidationError(rest))


class ReviewForm(AnswersForm):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the agent did well and what to work on; the agent reads it."),
    )


class DisputeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why you disagree"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Name the items you would have scored otherwise, and why."),
    )


class SettleForm(AnswersForm):
    """A manager's decision on an open dispute; accepting (wholly or partly) rescored with the
    answers given, which start as the review's own."""

    answers_required = False
    dispute = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(
        label=_("Decision"), choices=SETTLE_CHOICES, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("What was decided and why"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("status") in (DisputeStatus.ACCEPTED, DisputeStatus.PARTLY_ACCEPTED):
            for item in self.items:
                name = answer_field_name(item.code)
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, _("Choose an answer."))
        return cleaned


class NewVersionForm(forms.Form):
    scorecard = forms.SlugField(widget=forms.HiddenInput)
    effective_from = DayField(
        label=_("New version from"),
        help_text=_("A day after the newest version starts; it copies the newest version."),
    )
