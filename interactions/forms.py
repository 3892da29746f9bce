"""Forms of the counter: log a touchpoint, check a walk-in in, finish a visit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from branches.models import Branch
from common.widgets import DayTimeField
from customers.models import Channel, Customer
from interactions.models import Direction, Moment, Outcome

NEW_CUSTOMER = "new"


class MomentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.cycle.name} · {obj.position}. {obj.name}" + (
            " (critical)" if obj.is_critical else ""
        )


def _moments() -> QuerySet[Moment]:
    return Moment.objects.select_related("cycle").order_by("cycle__name", "position")


class BranchFormMixin:
    """A branch picker limited to where the user may write; hidden when there is one."""

    fields: dict[str, forms.Field]

    def limit_branches(self, branches: QuerySet[Branch]) -> None:
        field = self.fields["branch"]
        field.queryset = branches  # type: ignore[attr-defined]
        if len(branches) == 1:
            field.widget = forms.HiddenInput()
            field.initial = branches[0].pk


class InteractionLogForm(BranchFormMixin, forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices, widget=forms.RadioSelect)
    customer = forms.CharField(
        required=False, help_text=_("Leave on “no customer” for an anonymous contact.")
    )
    new_name = forms.CharField(label=_("New customer's name"), required=False, max_length=200)
    new_email = forms.EmailField(label=_("E-mail"), required=False)
    new_phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.none(), empty_label=None, label=_("Branch")
    )
    direction = forms.ChoiceField(
        label=_("Direction"), choices=Direction.choices, initial=Direction.INBOUND
    )
    occurred_at = DayTimeField(
        label=_("Started at"),
        required=False,
        help_text=_("In the branch's local time; leave empty for now."),
    )
    wait_seconds = forms.IntegerField(
        label=_("Wait (seconds)"),
        required=False,
        min_value=0,
        max_value=30 * 24 * 3600,
        help_text=_("Until the first human response (or until the customer gave up)."),
    )
    handle_seconds = forms.IntegerField(
        label=_("Handling time (seconds)"), required=False, min_value=0, max_value=30 * 24 * 3600
    )
    outcome = forms.ChoiceField(
        choices=Outcome.choices, widget=forms.RadioSelect, initial=Outcome.RESOLVED
    )
    is_complaint = forms.BooleanField(label=_("This was a complaint"), required=False)
    topic = forms.CharField(label=_("Topic"), required=False, max_length=120)
    moment = MomentChoiceField(
        queryset=Moment.objects.none(), required=False, label=_("Moment of truth")
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, branches: QuerySet[Branch], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_branches(branches)
        self.fields["moment"].queryset = _moments()  # type: ignore[attr-defined]

    def focus_channel(self) -> None:
        """The customer is known already (the link of a customer's page): start at the channel."""
        self.fields["channel"].widget.attrs["autofocus"] = True

    def clean_customer(self) -> str | Customer | None:
        value = (self.cleaned_data.get("customer") or "").strip()
        if not value:
            return None
        if value == NEW_CUSTOMER:
            return NEW_CUSTOMER
        customer = (
            Customer.objects.alive().filter(pk=int(value)).first() if value.isdigit() else None
        )
        if customer is None:
            raise forms.ValidationError(_("This customer no longer exists; search again."))
        return customer

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("customer") == NEW_CUSTOMER and not data.get("new_name", "").strip():
            self.add_error("new_name", _("Give the new customer's name."))
        branch, started = data.get("branch"), data.get("occurred_at")
        if branch is not None and started is not None:
            # The clock on the wall is the branch's: read the time typed in its zone.
            data["occurred_at"] = timezone.make_aware(timezone.make_naive(started), branch.tzinfo)
        return data

    def chosen_customer(self) -> Customer | None:
        customer = self.cleaned_data.get("customer")
        return customer if isinstance(customer, Customer) else None

    def interaction_data(self) -> dict[str, Any]:
        """What the log service takes, from the cleaned form."""
        data = self.cleaned_data
        started: datetime = data.get("occurred_at") or timezone.now()
        return {
            "branch": data["branch"],
            "channel": data["channel"],
            "direction": data["direction"],
            "occurred_at": started,
            "wait_seconds": data.get("wait_seconds"),
            "handle_seconds": data.get("handle_seconds"),
            "outcome": data["outcome"],
            "is_complaint": data.get("is_complaint", False),
            "topic": data.get("topic", "").strip(),
            "moment": data.get("moment"),
            "notes": data.get("notes", "").strip(),
        }

    def new_customer_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data.get("new_name", ""),
            "email": data.get("new_email", ""),
            "phone": data.get("new_phone", ""),
            "home_branch": data["branch"],
        }


# Service errors about the new customer or the interaction, onto this form's fields.
LOG_ERROR_FIELDS = {
    "customer.name": "new_name",
    "customer.email": "new_email",
    "customer.phone": "new_phone",
}


class CheckInForm(BranchFormMixin, forms.Form):
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.none(), empty_label=None, label=_("Branch")
    )
    label = forms.CharField(
        label=_("Who is waiting"),
        required=False,
        max_length=120,
        help_text=_("A ticket number, a name or a short description."),
    )
    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), required=False)
    topic = forms.CharField(label=_("Topic"), required=False, max_length=120)

    def __init__(self, *args: Any, branches: QuerySet[Branch], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_branches(branches)
        self.fields["customer"].queryset = Customer.objects.alive()  # type: ignore[attr-defined]


class CheckInFinishForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[c for c in Outcome.choices if c[0] != Outcome.ABANDONED],
        initial=Outcome.RESOLVED,
    )
    is_complaint = forms.BooleanField(label=_("Complaint"), required=False)
    topic = forms.CharField(label=_("Topic"), required=False, max_length=120)
    moment = MomentChoiceField(
        queryset=Moment.objects.none(), required=False, label=_("Moment of truth")
    )
    notes = forms.CharField(label=_("Notes"), required=False, max_length=5000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["moment"].queryset = _moments()  # type: ignore[attr-defined]
