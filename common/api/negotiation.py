from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request


class StrictContentNegotiation(DefaultContentNegotiation):
    """``?format=`` with no value is a mistake, not a request for the default."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        if request.query_params.get(self.settings.URL_FORMAT_OVERRIDE, None) == "":
            raise ValidationError({"format": ["Use format=json or format=csv, or leave it out."]})
        return super().select_renderer(request, renderers, format_suffix)
