"""ETag on single-object responses; If-Match is checked by the services under the row lock
(``common.versions``), the view only reads the header."""

from __future__ import annotations

from rest_framework.request import Request

from common.versions import version_tag

etag_of = version_tag


def if_match(request: Request) -> str | None:
    """The If-Match header as sent, or None."""
    return request.headers.get("If-Match")
