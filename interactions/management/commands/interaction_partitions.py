from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from interactions.partitions import (
    KEEP_MONTHS,
    MONTHS_AHEAD,
    PartitionError,
    is_partitioned,
    partition_detach,
    partitions,
    partitions_ensure,
)


class Command(BaseCommand):
    help = (
        "The interactions table's monthly partitions (PostgreSQL): list them, make the "
        "coming months' ahead of time, or detach an old month to archive it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="Each partition with its month and estimated rows.")
        ensure = actions.add_parser(
            "ensure", help="Create the coming months' partitions (beat does this daily)."
        )
        ensure.add_argument(
            "--ahead", type=int, default=MONTHS_AHEAD, help="Months after the current one."
        )
        detach = actions.add_parser(
            "detach", help="Take one old month out of the table, kept as a table to archive."
        )
        detach.add_argument("month", help="The month, YYYY-MM.")
        detach.add_argument(
            "--keep-months",
            type=int,
            default=KEEP_MONTHS,
            help="Refuse months younger than this many months.",
        )
        detach.add_argument("--yes", action="store_true", help="Do it (otherwise only say what).")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not is_partitioned():
            raise CommandError(
                "The interactions table is not partitioned: partitions exist on PostgreSQL only."
            )
        action = opts["action"]
        if action == "list":
            for partition in partitions():
                month = f"{partition.month:%Y-%m}" if partition.month else "default"
                self.stdout.write(f"{month:<8} {partition.name:<40} ~{partition.rows:,} rows")
        elif action == "ensure":
            if opts["ahead"] < 0:
                raise CommandError("--ahead must be 0 or more.")
            created = partitions_ensure(ahead=opts["ahead"])
            for name in created:
                self.stdout.write(f"created {name}")
            self.stdout.write(self.style.SUCCESS(f"{len(created)} partition(s) created."))
        else:
            self._detach(opts)

    def _detach(self, opts: dict[str, Any]) -> None:
        try:
            month = datetime.strptime(opts["month"], "%Y-%m").replace(tzinfo=UTC).date()
        except ValueError:
            raise CommandError(f"'{opts['month']}' is not a month (YYYY-MM).") from None
        if not opts["yes"]:
            self.stdout.write(
                f"Would detach {month:%Y-%m}: its interactions leave the application and "
                "stay in a table of their own. Run again with --yes to do it."
            )
            return
        try:
            name = partition_detach(month=month, keep_months=opts["keep_months"])
        except PartitionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Detached {name}. Archive it (pg_dump -t {name}) and drop it when done."
            )
        )
