"""Deadlines as people read them: a complaint due "within a working day" is due by the end
of that day, stored as the first instant after it (midnight), shown as its last minute."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template

register = template.Library()


@register.filter
def day_end(value: datetime | None) -> datetime | None:
    """The last minute before ``value``: 21 Nov 00:00 is shown as 20 Nov 23:59."""
    if value is None:
        return None
    return value - timedelta(minutes=1)
