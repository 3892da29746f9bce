"""A day typed the same way in every browser: dd/mm/yyyy. A native date input follows the
browser's own locale (an English browser shows 11/23/2026), so the pages' one format per
language could not hold; ISO dates (links, scripts) are still understood."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

DAY_FORMAT = "%d/%m/%Y"


class DayInput(forms.DateInput):
    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = {
            # Translators: the placeholder of a date typed as day/month/year.
            "placeholder": _("dd/mm/yyyy"),
            "inputmode": "numeric",
            "autocomplete": "off",
            "size": 10,
            "pattern": r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}",
            "title": _("Day/month/year, e.g. 23/11/2026"),
        }
        super().__init__(attrs={**defaults, **(attrs or {})}, format=DAY_FORMAT)


class DayField(forms.DateField):
    """A date field reading dd/mm/yyyy first (what DayInput shows), then ISO."""

    widget = DayInput
    input_formats = [DAY_FORMAT, "%Y-%m-%d"]
