"""Putting a service's ValidationError onto the form the user typed into."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def apply_errors(
    form: forms.BaseForm, error: ValidationError, field_map: dict[str, str] | None = None
) -> None:
    """Show each message next to the field it is about (``field_map`` renames model fields
    to form fields); messages about fields the form does not have go above the form."""
    field_map = field_map or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        target = field_map.get(name, name)
        if target == NON_FIELD_ERRORS or target not in form.fields:
            form.add_error(
                None,
                messages
                if target == NON_FIELD_ERRORS
                else [f"{name.replace('_', ' ').capitalize()}: {m}" for m in messages],
            )
        else:
            form.add_error(target, messages)
