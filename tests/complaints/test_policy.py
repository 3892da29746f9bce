"""Due dates count working days on the branch's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from complaints.policy import add_working_days, due_at


@pytest.mark.parametrize(
    ("day", "days", "expected"),
    [
        (date(2026, 11, 2), 0, date(2026, 11, 2)),  # a Monday: that day
        (date(2026, 11, 2), 1, date(2026, 11, 3)),
        (date(2026, 11, 6), 1, date(2026, 11, 9)),  # Friday + 1: Monday
        (date(2026, 11, 6), 5, date(2026, 11, 13)),  # a working week
        (date(2026, 11, 7), 0, date(2026, 11, 9)),  # Saturday: from Monday
        (date(2026, 11, 8), 1, date(2026, 11, 10)),  # Sunday + 1: Tuesday
    ],
)
def test_working_days_skip_the_weekend(day: date, days: int, expected: date) -> None:
    assert add_working_days(day, days) == expected


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(date(2026, 11, 2), -1)


def test_due_is_the_end_of_the_branchs_working_day() -> None:
    # Friday 20:00 in Jakarta is Friday 13:00 UTC; one working day: the end of Monday there.
    received = datetime(2026, 11, 6, 13, tzinfo=UTC)
    due = due_at(received, 1, "Asia/Jakarta")
    assert due.astimezone(UTC) == datetime(2026, 11, 9, 17, tzinfo=UTC)  # Tue 00:00 WIB
    # Saturday 02:00 in Jakarta is still Friday in UTC: the branch's calendar decides.
    late = datetime(2026, 11, 6, 19, tzinfo=UTC)
    assert due_at(late, 0, "Asia/Jakarta").astimezone(UTC) == datetime(2026, 11, 9, 17, tzinfo=UTC)
