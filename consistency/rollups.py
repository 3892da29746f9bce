"""Rollups: interactions counted per branch, local day and channel by one aggregate pass
over the table for every time zone at once (a row's local day is computed from its
branch's zone), written with INSERT … SELECT (no row passes through Python); weeks,
months and the all-channels rows are then summed from the day rows, also in the database.

Rebuilding a range deletes its rows and inserts them afresh inside one transaction, so
running it twice, or again after a killed run, leaves exactly the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    DateField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)

from consistency.models import (
    ALL_CHANNELS,
    COUNT_COLUMNS,
    LOW_CSAT,
    PeriodKind,
    Rollup,
    Target,
)
from feedback.models import HANDLING_SATISFIED, FeedbackResponse
from interactions.models import Interaction, Moment
from quality.models import Review, ReviewKind


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class DayRange:
    """Local days [first, last) of some branches (each in its own time zone)."""

    branch_ids: tuple[int, ...] | None = None  # None: every branch
    first: date | None = None  # None: from the beginning
    last: date | None = None  # None: to the end


class LocalDate(Func):
    """The calendar date of a timestamp on the clock of a time zone held in another column
    (a row's branch's zone), so that one query serves branches in every zone."""

    output_field = DateField()
    arity = 2

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST((%(expressions)s) AS date)",
            arg_joiner=" AT TIME ZONE ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django's own SQLite function behind TruncDate, given the zone per row.
        zone = connection.timezone_name.replace("'", "")
        return self.as_sql(
            compiler,
            connection,
            template=f"django_datetime_cast_date(%(expressions)s, '{zone}')",
            **extra,
        )


def response_thresholds(span: DayRange) -> tuple[Case, bool]:
    """Each channel's response threshold, by the standard version in force on the day, and
    whether that depends on the day. Usually it does not: every version has kept the
    channel's threshold and the span holds no day before the first version. The threshold
    is then the channel's alone, and no row's local day is worked out more than once."""
    targets = list(
        Target.objects.filter(metric="response_within_standard", threshold_seconds__isnull=False)
        .exclude(channel=ALL_CHANNELS)
        .select_related("standard")
        .order_by("-standard__effective_from")
    )
    if not targets:
        return Case(default=Value(None), output_field=IntegerField()), False
    by_channel: dict[str, set[int | None]] = {}
    for target in targets:
        by_channel.setdefault(target.channel, set()).add(target.threshold_seconds)
    first_version = min(t.standard.effective_from for t in targets)
    if all(len(values) == 1 for values in by_channel.values()) and not _days_before(
        span, first_version
    ):
        whens = [When(channel=c, then=Value(next(iter(v)))) for c, v in by_channel.items()]
        return Case(*whens, default=Value(None), output_field=IntegerField()), False
    whens = [
        When(
            Q(local_day__gte=t.standard.effective_from, channel=t.channel),
            then=Value(t.threshold_seconds),
        )
        for t in targets
    ]
    return Case(*whens, default=Value(None), output_field=IntegerField()), True


def _days_before(span: DayRange, day: date) -> bool:
    """Whether the span may hold a live interaction on a local day before ``day``."""
    if span.first is not None and span.first >= day:
        return False
    # A day's margin covers every time zone; partitions prune the older months.
    bound = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    rows = Interaction.objects.filter(deleted_at__isnull=True, occurred_at__lt=bound)
    if span.branch_ids is not None:
        rows = rows.filter(branch_id__in=span.branch_ids)
    return rows.exists()


def _critical(moment_ids: list[int]) -> Any:
    """Whether a row's moment of truth is critical, from the (few) critical moments' ids:
    no join with the moments for every row."""
    if not moment_ids:
        return Value(False, output_field=BooleanField())
    return ExpressionWrapper(Q(moment_id__in=moment_ids), output_field=BooleanField())


def _day_rows(span: DayRange) -> tuple[QuerySet[Any], bool]:
    """The span's live interactions, one row each with its local day and its channel's
    response threshold: what the counts below are made of; and whether the threshold
    reads the local day."""
    rows = within_span(Interaction.objects.filter(deleted_at__isnull=True), span)
    threshold, by_day = response_thresholds(span)
    critical_moments = list(Moment.objects.filter(is_critical=True).values_list("pk", flat=True))
    queryset = (
        rows.annotate(threshold=threshold, critical=_critical(critical_moments))
        .values(
            "branch_id",
            "channel",
            "local_day",
            "outcome",
            "wait_seconds",
            "threshold",
            "is_complaint",
            "csat",
            "nps",
            "critical",
        )
        .order_by()
    )
    return queryset, by_day


_ABANDONED = "outcome = 'abandoned'"
# Each count's condition over a row of ``_day_rows`` (NULL compares as false).
CONDITIONS: dict[str, str | None] = {
    "contacts": None,
    "not_abandoned": f"NOT {_ABANDONED}",
    "abandonable": "channel <> 'email'",
    "abandoned": f"{_ABANDONED} AND channel <> 'email'",
    "resolved": "outcome = 'resolved'",
    "complaints": "is_complaint",
    "response_n": f"(NOT {_ABANDONED} AND wait_seconds IS NOT NULL)"
    f" OR ({_ABANDONED} AND wait_seconds > threshold)",
    "response_ok": f"NOT {_ABANDONED} AND wait_seconds <= threshold",
    "csat_n": "csat IS NOT NULL",
    "csat_ok": "csat >= 4",
    "nps_n": "nps IS NOT NULL",
    "promoters": "nps >= 9",
    "detractors": "nps <= 6",
    "critical_failures": f"critical AND (is_complaint OR csat <= {LOW_CSAT})",
}


def _day_counts(span: DayRange) -> tuple[str, list[Any]]:
    """SQL (and parameters) counting the span's interactions per branch, channel and local
    day, each count an integer, with the day's week and month."""
    rows, by_day = _day_rows(span)
    sql, params = rows.query.sql_with_params()
    if by_day and connection.vendor == "postgresql":
        # A fence: each row's local day and threshold are computed once, not once for
        # every count that reads them.
        sql += " OFFSET 0"
    # SUM of an integer is a bigint; of a bigint (a COUNT), a much slower numeric.
    counts = ", ".join(
        f"CAST(COUNT(*){f' FILTER (WHERE {where})' if where else ''} AS integer) AS {column}"
        if column in CONDITIONS
        else f"CAST(0 AS integer) AS {column}"
        for column, where in ((c, CONDITIONS.get(c)) for c in COUNT_COLUMNS)
    )
    periods = f"{period_sql(PeriodKind.WEEK)} AS week, {period_sql(PeriodKind.MONTH)} AS month"
    return (
        f"SELECT branch_id, channel, local_day, {periods}, {counts} "  # noqa: S608
        f"FROM ({sql}) day_rows GROUP BY branch_id, channel, local_day",
        list(params),
    )


def within_span(rows: QuerySet[Any], span: DayRange, at: str = "occurred_at") -> QuerySet[Any]:
    """``rows`` (with ``branch_id`` and a time ``at``) of the span's branches and local
    days, each with its ``local_day``."""
    if span.branch_ids is not None:
        rows = rows.filter(branch_id__in=span.branch_ids)
    # A day either side in UTC covers every time zone's midnight (UTC-12 to UTC+14).
    if span.first is not None:
        start = datetime.combine(span.first - timedelta(days=1), time(), tzinfo=UTC)
        rows = rows.filter(**{f"{at}__gte": start})
    if span.last is not None:
        end = datetime.combine(span.last + timedelta(days=1), time(), tzinfo=UTC)
        rows = rows.filter(**{f"{at}__lt": end})
    rows = rows.annotate(local_day=LocalDate(at, "branch__timezone"))
    if span.first is not None:
        rows = rows.filter(local_day__gte=span.first)
    if span.last is not None:
        rows = rows.filter(local_day__lt=span.last)
    return rows


# Each QA count's condition over a review (regular, live: calibration reviews stay out).
QA_CONDITIONS = {
    "qa_reviews": None,
    "qa_passed": "passed",
    "qa_critical_fails": "critical_fail",
    "qa_disputed": "disputed",
}
# Each handling count's condition over a customer's answer on a complaint's handling.
HANDLING_CONDITIONS = {"handling_n": None, "handling_ok": f"handling >= {HANDLING_SATISFIED}"}


def _side_counts(rows: QuerySet[Any], conditions: dict[str, str | None]) -> tuple[str, list[Any]]:
    """SQL (and parameters) counting ``rows`` (with ``branch_id``, ``channel`` and
    ``local_day``) per branch, channel and local day, shaped like ``_day_counts``: the
    counts of ``conditions``, every other count 0."""
    sql, params = rows.order_by().query.sql_with_params()
    counts = ", ".join(
        f"CAST(COUNT(*){f' FILTER (WHERE {conditions[c]})' if conditions[c] else ''} AS integer)"
        if c in conditions
        else "0"
        for c in COUNT_COLUMNS
    )
    periods = f"{period_sql(PeriodKind.WEEK)}, {period_sql(PeriodKind.MONTH)}"
    return (
        f"SELECT branch_id, channel, local_day, {periods}, {counts} "  # noqa: S608
        f"FROM ({sql}) side_rows GROUP BY branch_id, channel, local_day",
        list(params),
    )


def _review_counts(span: DayRange) -> tuple[str, list[Any]]:
    """The span's quality reviews, on the local day of the interaction reviewed."""
    rows = within_span(
        Review.objects.filter(kind=ReviewKind.REGULAR, deleted_at__isnull=True), span
    ).values("branch_id", "channel", "local_day", "passed", "critical_fail", "disputed")
    return _side_counts(rows, QA_CONDITIONS)


def _handling_counts(span: DayRange) -> tuple[str, list[Any]]:
    """The span's answers on the handling of complaints, on the local day they were given,
    in the channel of the contact complained about."""
    rows = within_span(
        FeedbackResponse.objects.filter(handling__isnull=False), span, at="received_at"
    ).values("branch_id", "local_day", "handling", channel=F("interaction__channel"))
    return _side_counts(rows, HANDLING_CONDITIONS)


STAGE = "consistency_rollup_stage"
FRESH = "consistency_rollup_fresh"
# Enough memory to hash-aggregate a chain's year of branch-days without spilling to
# disk, and no JIT (compiling the aggregate's expressions costs more than it saves);
# both for the recompute's transaction only.
STAGE_SETTINGS = {"work_mem": "256MB", "jit": "off"}
# For the counting pass alone: the planner cannot know how many (branch, channel, local
# day) groups there are (the day is an expression over a join), guesses one per row and
# sorts ten million rows; hashing the groups is the plan (about a fifth faster at 10 M).
COUNTING_SETTINGS = {"enable_sort": "off"}
# The staged column holding each period kind's start.
PERIOD_COLUMN: dict[str, str] = {
    PeriodKind.DAY: "local_day",
    PeriodKind.WEEK: "week",
    PeriodKind.MONTH: "month",
}


def _stage(span: DayRange) -> None:
    """Count the span's interactions per branch, local day and channel into a temporary
    table, with each day's week and month: one pass over interactions, read by every
    write below; then the span's quality reviews and answers on complaint handling, in rows
    of their own (the writes sum a cell's rows)."""
    sql, params = _day_counts(span)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name, value in STAGE_SETTINGS.items():
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        postgres = connection.vendor == "postgresql"
        for name, value in COUNTING_SETTINGS.items() if postgres else ():
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} AS {sql}", params)
        for name in COUNTING_SETTINGS if postgres else ():
            cursor.execute("SELECT set_config(%s, 'on', true)", [name])
        for counts, count_params in (_review_counts(span), _handling_counts(span)):
            cursor.execute(f"INSERT INTO {STAGE} {counts}", count_params)


def period_sql(kind: str) -> str:
    """The SQL for a local day's week or month start, on this database."""
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('{kind}', local_day) AS date)"
    if kind == PeriodKind.WEEK:
        return (
            "date(local_day, '-' || ((CAST(strftime('%%w', local_day) AS integer) + 6) %% 7)"
            " || ' days')"
        )
    return "date(local_day, 'start of month')"


def _write_from_stage(
    kind: str, branch_ids: tuple[int, ...] | None, first: date | None, last: date | None
) -> None:
    """Make the ``kind`` rollups of ``branch_ids`` for the periods starting in [first, last)
    equal to the staged counts summed per period, per channel and for all channels.

    Only what differs is written: rows whose counts changed or that no longer exist are
    deleted, missing rows inserted, unchanged rows left alone. A rebuild over unchanged
    data writes (almost) nothing; the result is the same as deleting and inserting all."""
    quote = connection.ops.quote_name
    table = quote(Rollup._meta.db_table)
    counts = [quote(c) for c in COUNT_COLUMNS]
    sums = ", ".join(f"SUM({c}) AS {c}" for c in counts)
    period = PERIOD_COLUMN[kind]
    within, bounds = sql_bounds(period, first, last)
    mine, mine_params = sql_bounds("r.period_start", first, last)
    scope, scope_params = f"r.kind = %s AND {mine}", [kind, *mine_params]
    if branch_ids is not None:
        scope += f" AND r.branch_id IN ({', '.join(['%s'] * len(branch_ids))})"
        scope_params += branch_ids
    same_cell = "f.branch_id = r.branch_id AND f.period = r.period_start AND f.channel = r.channel"
    same_counts = " AND ".join(f"f.{c} = r.{c}" for c in counts)
    columns = ", ".join(quote(c) for c in ["kind", "branch_id", "period_start", "channel"])
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FRESH}")
        if kind == PeriodKind.DAY:
            # Days are kept for all channels only (the CUSUM's input); a day per channel
            # is too small a sample to judge, and would triple what a recompute writes.
            cursor.execute(
                f"CREATE TEMPORARY TABLE {FRESH} AS SELECT branch_id, {period} AS period, "  # noqa: S608
                f"%s AS channel, {sums} FROM {STAGE} WHERE {within} GROUP BY branch_id, {period}",
                [ALL_CHANNELS, *bounds],
            )
        else:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {FRESH} AS SELECT branch_id, {period} AS period, "  # noqa: S608
                f"channel, {sums} FROM {STAGE} WHERE {within} "
                f"GROUP BY branch_id, {period}, channel",
                bounds,
            )
            cursor.execute(
                f"INSERT INTO {FRESH} SELECT branch_id, period, %s, {sums} FROM {FRESH} "  # noqa: S608
                "GROUP BY branch_id, period",
                [ALL_CHANNELS],
            )
        cursor.execute(f"SELECT 1 FROM {table} r WHERE {scope} LIMIT 1", scope_params)  # noqa: S608
        if cursor.fetchone() is None:  # a first build: nothing to compare with
            unwritten = ""
        else:
            cursor.execute(
                f"DELETE FROM {table} AS r WHERE {scope} AND NOT EXISTS "  # noqa: S608
                f"(SELECT 1 FROM {FRESH} f WHERE {same_cell} AND {same_counts})",
                scope_params,
            )
            unwritten = f"WHERE NOT EXISTS (SELECT 1 FROM {table} r WHERE {scope} AND {same_cell})"  # noqa: S608
        cursor.execute(
            f"INSERT INTO {table} ({columns}, {', '.join(counts)}) "  # noqa: S608
            f"SELECT %s, f.branch_id, f.period, f.channel, {', '.join(f'f.{c}' for c in counts)} "
            f"FROM {FRESH} f {unwritten}",
            [kind, *(scope_params if unwritten else [])],
        )
        cursor.execute(f"DROP TABLE {FRESH}")


def sql_bounds(column: str, first: date | None, last: date | None) -> tuple[str, list[Any]]:
    """SQL for ``first <= column < last`` (either end open) and its parameters."""
    postgres = connection.vendor == "postgresql"
    clauses, params = ["1 = 1"], []
    for operator, bound in ((">=", first), ("<", last)):
        if bound is not None:
            clauses.append(f"{column} {operator} %s")
            params.append(bound if postgres else bound.isoformat())
    return " AND ".join(clauses), params


def rebuild_ranges(span: DayRange) -> tuple[DayRange, list[tuple[str, date | None, date | None]]]:
    """What rebuilding ``span`` covers: whole ISO weeks and whole months, so every period
    written is complete. Returns the days to count and each period kind's [start, end)."""
    weeks_from = week_start(span.first) if span.first else None
    weeks_to = week_start(span.last + timedelta(days=6)) if span.last else None
    months_from = month_start(span.first) if span.first else None
    months_to = next_month(span.last - timedelta(days=1)) if span.last else None
    first = min(weeks_from, months_from) if weeks_from and months_from else None
    last = max(weeks_to, months_to) if weeks_to and months_to else None
    return DayRange(span.branch_ids, first, last), [
        (PeriodKind.DAY, first, last),
        (PeriodKind.WEEK, weeks_from, weeks_to),
        (PeriodKind.MONTH, months_from, months_to),
    ]


def rollups_rebuild(span: DayRange) -> None:
    """Rebuild every rollup whose period touches ``span``: whole ISO weeks and whole
    months, so every period written is complete."""
    days, periods = rebuild_ranges(span)
    with transaction.atomic():
        _stage(days)
        for kind, start, end in periods:
            _write_from_stage(kind, span.branch_ids, start, end)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {STAGE}")
