"""Dates and times typed the same way in every browser: dd/mm/yyyy (and hh:mm). A native
date input follows the browser's own locale (an English browser shows 11/23/2026), so the
pages' one format per language could not hold. ISO values (links, scripts, the API's
habits) are still understood."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

DAY_FORMAT = "%d/%m/%Y"
DAY_TIME_FORMAT = "%d/%m/%Y %H:%M"


def _text_attrs(placeholder: Any, title: Any, pattern: str, size: int) -> dict[str, Any]:
    return {
        "placeholder": placeholder,
        "title": title,
        "pattern": pattern,
        "inputmode": "numeric",
        "autocomplete": "off",
        "size": size,
    }


class DayInput(forms.DateInput):
    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = _text_attrs(
            # Translators: the placeholder of a date typed as day/month/year.
            _("dd/mm/yyyy"),
            _("Day/month/year, e.g. 23/11/2026"),
            r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}",
            10,
        )
        super().__init__(attrs={**defaults, **(attrs or {})}, format=DAY_FORMAT)


class DayTimeInput(forms.DateTimeInput):
    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        defaults = _text_attrs(
            # Translators: the placeholder of a date and time typed as day/month/year hour:minute.
            _("dd/mm/yyyy hh:mm"),
            _("Day/month/year and time, e.g. 23/11/2026 14:05"),
            r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}[:.]\d{2}|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?",
            16,
        )
        super().__init__(attrs={**defaults, **(attrs or {})}, format=DAY_TIME_FORMAT)


class DayField(forms.DateField):
    """A date read as dd/mm/yyyy first (what DayInput shows), then ISO."""

    widget = DayInput
    input_formats = [DAY_FORMAT, "%Y-%m-%d"]


class DayTimeField(forms.DateTimeField):
    """A date and time read as dd/mm/yyyy hh:mm (or hh.mm, as Indonesian writes it), then ISO."""

    widget = DayTimeInput
    input_formats = [
        DAY_TIME_FORMAT, "%d/%m/%Y %H.%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
    ]  # fmt: skip
