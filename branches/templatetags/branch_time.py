"""Times as the people at a branch read them: the branch's own clock, its zone named."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import template
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def at_branch(value: datetime | None, branch: Any) -> SafeString | str:
    """'23 Nov 2026, 11:19 WIB': ``value`` on the clock of ``branch`` (a Branch or a zone
    name), in the language's date format, with the zone's abbreviation, so two times of
    different zones on one page are never mistaken for each other."""
    if value is None:
        return ""
    zone = getattr(branch, "timezone", branch) or "UTC"
    local = value.astimezone(zoneinfo.ZoneInfo(str(zone)))
    return format_html(
        '<time datetime="{}">{} {}</time>',
        value.isoformat(),
        formats.date_format(local, "DATETIME_FORMAT"),
        local.tzname(),
    )
