from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# The earliest year a recorded time may have: anything before is a typing mistake.
EARLIEST_YEAR = 1900


def reject_unknown_fields(data: Mapping[str, Any], allowed: Collection[str]) -> None:
    """Refuse writes naming fields a service does not accept, instead of ignoring them."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown or read-only field."))


@deconstructible
class ChoiceListValidator:
    """A JSON list whose items all come from ``choices`` (e.g. API scopes)."""

    def __init__(self, choices: Collection[str]) -> None:
        self.choices = sorted(choices)

    def __call__(self, value: object) -> None:
        if not isinstance(value, list) or not all(v in self.choices for v in value):
            raise ValidationError(f"Use a list of: {', '.join(self.choices)}.")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChoiceListValidator) and other.choices == self.choices

    def __hash__(self) -> int:
        return hash(tuple(self.choices))
