"""Due dates of complaint handling (ISO 10002): a number of working days (Monday to Friday,
on the branch's calendar) after the complaint was received, per severity. Pure: no Django
(numpy counts the working days)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy


def add_working_days(day: date, days: int) -> date:
    """The working day ``days`` working days after ``day`` (a weekend day counts from the
    Monday after it); 0 is ``day`` itself, or the next Monday if it falls on a weekend."""
    if days < 0:
        raise ValueError("days must not be negative")
    due: date = numpy.busday_offset(day, days, roll="forward").astype(date)
    return due


def due_at(received: datetime, working_days: int, zone: str) -> datetime:
    """The end of the working day ``working_days`` after ``received``, on the branch's
    clock: a complaint received on Friday evening and due within one working day is due at
    the end of Monday."""
    local = received.astimezone(ZoneInfo(zone))
    day = add_working_days(local.date(), working_days)
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(zone))
