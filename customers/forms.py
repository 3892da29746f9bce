"""Forms of the customer pages: search, and the profile staff edit at the counter."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from branches.models import Branch
from customers.models import Customer
from customers.services import CUSTOMER_EDITABLE_FIELDS


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find a customer"),
        required=False,
        max_length=200,
        help_text=_("Name, e-mail or phone."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class TagsField(forms.Field):
    """Tags typed as a comma-separated list."""

    widget = forms.TextInput

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        return [tag.strip() for tag in str(value or "").split(",") if tag.strip()]


class CustomerForm(forms.ModelForm):
    tags = TagsField(required=False, help_text=_("Separated by commas."))

    class Meta:
        model = Customer
        # What staff may edit is what the service accepts, less the integrations' reference.
        fields = sorted(CUSTOMER_EDITABLE_FIELDS - {"source", "external_id"})
        labels = {
            "name": _("Name"),
            "email": _("E-mail"),
            "phone": _("Phone"),
            "preferred_channel": _("Preferred channel"),
            "home_branch": _("Home branch"),
            "language": _("Language"),
            "notes": _("Notes"),
            "consent_marketing": _("Agrees to marketing"),
            "consent_surveys": _("Agrees to satisfaction surveys"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["home_branch"].queryset = Branch.objects.filter(is_active=True)  # type: ignore[attr-defined]
        self.fields["notes"].widget.attrs["rows"] = 3
