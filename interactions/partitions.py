"""Monthly partitions of the interactions table (PostgreSQL; SQLite keeps one plain table).

The table is partitioned by range of ``occurred_at``, one partition per calendar month in
UTC, plus a default partition that catches a row whose month has no partition yet, so
that no write ever fails for want of one. ``partitions_ensure`` (the daily beat task and
``manage.py interaction_partitions ensure``) keeps the coming months' partitions ready and
moves rows that landed in the default partition into partitions of their own;
``partition_detach`` takes an old month out of the table, kept as a table of its own to
archive (``pg_dump -t``) and drop.

What PostgreSQL needs of a partitioned table, and how the rest is kept:

- its primary key and unique indexes must include ``occurred_at``: the primary key is
  (id, occurred_at); ids still come from one identity sequence, so they stay unique;
- a unique (source, external_id) across partitions is kept by ``InteractionRef``, a plain
  table with that unique key, filled by a trigger on the partitioned table (a duplicate
  reference fails the insert as before), beside a per-partition index for lookups;
- other tables cannot hold a foreign key to it (the target would have to be unique
  without ``occurred_at``): such fields set ``db_constraint=False``, a system check
  (``interactions.E001``) refuses new ones that do not, and the relation is kept by
  the application (interactions are only ever soft-deleted).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection as default_connection
from django.db import transaction
from django.utils import timezone

TABLE = "interactions_interaction"
DEFAULT_PARTITION = f"{TABLE}_default"
REF_TABLE = "interactions_interactionref"
LOOKUP_INDEX = "interaction_external_ref_idx"
# Months made ready ahead of the current one, and the youngest month that may be detached.
MONTHS_AHEAD = 3
KEEP_MONTHS = 24
_LOCK_KEY = 0x1A7E_0A57  # serialises partition maintenance (beat and the command)


class PartitionError(Exception):
    """A partition operation that was refused; the message says why."""


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the default partition
    rows: int  # the planner's estimate (exact after ANALYZE)


def month_of(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month:%Y_%m}"


def _bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = add_months(month, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=UTC)


def _bounds_sql(month: date) -> str:
    """A month's partition bounds, written out: DDL takes no bound parameters."""
    start, end = _bounds(month)
    return f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"


def is_partitioned(connection: Any = default_connection) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partitions(connection: Any = default_connection) -> list[Partition]:
    """The table's partitions, oldest month first, the default partition last."""
    if not is_partitioned(connection):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname, child.reltuples::bigint,
                   pg_get_expr(child.relpartbound, child.oid) = 'DEFAULT'
            FROM pg_inherits
            JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE pg_inherits.inhparent = %s::regclass
            """,
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, estimate, is_default in rows:
        month = None if is_default else _month_from_name(name)
        found.append(Partition(name, month, max(int(estimate), 0)))
    return sorted(found, key=lambda p: (p.month is None, p.month or date.min))


def _month_from_name(name: str) -> date | None:
    try:
        year, month = name.removeprefix(f"{TABLE}_p").split("_")
        return date(int(year), int(month), 1)
    except ValueError:
        return None  # a partition someone attached by hand under another name


@contextmanager
def _maintenance(connection: Any) -> Iterator[Any]:
    """One transaction holding the maintenance lock: the beat task and the command never
    create or move the same month at once."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        yield cursor


def _create(cursor: Any, month: date) -> None:
    """Create one month's partition. Built apart and then attached, which blocks neither
    reads nor writes of the table for long; rows of that month waiting in the default
    partition move into it first (their references are re-registered, since deleting
    them from the default partition unregisters them)."""
    name = partition_name(month)
    start, end = _bounds(month)
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "  # noqa: S608 - our own names
        "WHERE occurred_at >= %s AND occurred_at < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        [start, end],
    )
    cursor.execute(
        f"INSERT INTO {REF_TABLE} (source, external_id, interaction_id) "  # noqa: S608
        f"SELECT source, external_id, id FROM {name} WHERE external_id <> ''"
    )
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} {_bounds_sql(month)}")


def partitions_ensure(
    *,
    ahead: int = MONTHS_AHEAD,
    since: date | datetime | None = None,
    now: datetime | None = None,
    connection: Any = None,
) -> list[str]:
    """Make the partitions of the current month and ``ahead`` months after it, of every
    month from ``since`` on (before loading history), and of every month with rows waiting
    in the default partition (moved into it, a transaction a month). Returns the names
    created; safe to run again (a no-op when all exist) and a no-op on SQLite."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        return []
    current = month_of(now or timezone.now())
    wanted = {add_months(current, n) for n in range(ahead + 1)}
    month = month_of(since) if since is not None else current
    while month < current:
        wanted.add(month)
        month = add_months(month, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date "  # noqa: S608
            f"FROM {DEFAULT_PARTITION}"
        )
        wanted |= {row[0] for row in cursor.fetchall()}
    created = []
    for month in sorted(wanted):
        with _maintenance(connection) as cursor:
            if month in {p.month for p in partitions(connection)}:
                continue  # made meanwhile by another run
            _create(cursor, month)
        created.append(partition_name(month))
    return created


def partition_detach(
    *,
    month: date,
    now: datetime | None = None,
    keep_months: int = KEEP_MONTHS,
    connection: Any = None,
) -> str:
    """Take one month out of the table: its rows leave every page, feed and recompute,
    and stay in a table of its own (same name) to archive and drop. Refused for the last
    ``keep_months`` months. The month's rollups, flags and cases are kept."""
    connection = connection or default_connection
    if not is_partitioned(connection):
        raise PartitionError("The interactions table is not partitioned (PostgreSQL only).")
    month = month_of(month)
    youngest = add_months(month_of(now or timezone.now()), -keep_months)
    if month > youngest:
        raise PartitionError(
            f"{month:%Y-%m} is within the last {keep_months} months: only months up to "
            f"{youngest:%Y-%m} may be detached."
        )
    name = partition_name(month)
    if month not in {p.month for p in partitions(connection)}:
        raise PartitionError(f"There is no partition for {month:%Y-%m}.")
    with _maintenance(connection) as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
        # Its references no longer name a live row: free them for reuse.
        cursor.execute(
            f"DELETE FROM {REF_TABLE} r USING {name} d "  # noqa: S608
            "WHERE d.external_id <> '' AND r.source = d.source AND r.external_id = d.external_id"
        )
    return name


# --- turning the plain table into a partitioned one (the migration) ----------------------

# Written out: the names are TABLE and REF_TABLE above.
_REF_TRIGGER_SQL = """
CREATE FUNCTION interactions_ref_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.external_id <> '' THEN
        DELETE FROM interactions_interactionref
        WHERE source = OLD.source AND external_id = OLD.external_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.external_id <> '' THEN
        INSERT INTO interactions_interactionref (source, external_id, interaction_id)
        VALUES (NEW.source, NEW.external_id, NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER interactions_ref_insert AFTER INSERT ON interactions_interaction
    FOR EACH ROW WHEN (NEW.external_id <> '') EXECUTE FUNCTION interactions_ref_sync();
CREATE TRIGGER interactions_ref_update
    AFTER UPDATE OF source, external_id ON interactions_interaction
    FOR EACH ROW WHEN (OLD.source IS DISTINCT FROM NEW.source
                       OR OLD.external_id IS DISTINCT FROM NEW.external_id)
    EXECUTE FUNCTION interactions_ref_sync();
CREATE TRIGGER interactions_ref_delete AFTER DELETE ON interactions_interaction
    FOR EACH ROW WHEN (OLD.external_id <> '') EXECUTE FUNCTION interactions_ref_sync();
"""

# The unique index the partitioned table cannot have, and the ones it keeps in another form.
_REPLACED_INDEXES = {f"{TABLE}_pkey", "interaction_unique_external_ref"}


def table_partition(schema_editor: Any, *, ahead: int = MONTHS_AHEAD) -> None:
    """Rebuild the plain interactions table as a partitioned one with the same columns,
    checks, indexes (same names) and foreign keys, its rows copied into monthly partitions.
    Foreign keys of other tables that point at it are dropped (their fields say
    db_constraint=False). Runs inside the migration's transaction."""
    run = schema_editor.execute
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = %s",
            [TABLE],
        )
        indexes = [d for name, d in cursor.fetchall() if name not in _REPLACED_INDEXES]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [TABLE],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE confrelid = %s::regclass AND contype = 'f'",
            [TABLE],
        )
        pointing_here = cursor.fetchall()
        cursor.execute(
            f"SELECT min(occurred_at), max(id) FROM {TABLE}"  # noqa: S608
        )
        earliest, last_id = cursor.fetchone()
    for table, name in pointing_here:
        run(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    old = f"{TABLE}_unpartitioned"
    run(f"ALTER TABLE {TABLE} RENAME TO {old}")
    run(f"ALTER TABLE {old} ALTER COLUMN id DROP IDENTITY IF EXISTS")
    run(
        f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        "PARTITION BY RANGE (occurred_at)"
    )
    run(f"ALTER TABLE {TABLE} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    run(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
    current = month_of(timezone.now())
    month = month_of(earliest) if earliest is not None else current
    while month <= add_months(current, ahead):
        run(f"CREATE TABLE {partition_name(month)} PARTITION OF {TABLE} {_bounds_sql(month)}")
        month = add_months(month, 1)
    run(f"INSERT INTO {TABLE} SELECT * FROM {old}")  # noqa: S608
    run(f"DROP TABLE {old}")
    if last_id is not None:
        run(f"SELECT setval(pg_get_serial_sequence('{TABLE}', 'id'), %s)", [last_id])
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, occurred_at)")
    for definition in indexes:
        run(definition)
    run(f"CREATE INDEX {LOOKUP_INDEX} ON {TABLE} (source, external_id) WHERE external_id <> ''")
    for name, definition in foreign_keys:
        run(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
    run(
        f"INSERT INTO {REF_TABLE} (source, external_id, interaction_id) "  # noqa: S608
        f"SELECT source, external_id, id FROM {TABLE} WHERE external_id <> ''"
    )
    run(_REF_TRIGGER_SQL)
    run(f"ANALYZE {TABLE}")
