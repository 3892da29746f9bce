from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from branches.models import Branch
from consistency.recompute import consistency_recompute


class Command(BaseCommand):
    help = (
        "Recompute rollups, flags, CUSUM charts and the consistency index from the "
        "interactions. Safe to run again, or after an interrupted run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="First day to recompute (YYYY-MM-DD); default: all.")
        parser.add_argument(
            "--branch", action="append", default=[], help="Branch code (repeatable)."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        since = None
        if opts["since"]:
            try:
                since = date.fromisoformat(opts["since"])
            except ValueError:
                raise CommandError(
                    f"--since: '{opts['since']}' is not a date (YYYY-MM-DD)."
                ) from None
        branch_ids = None
        if opts["branch"]:
            found = dict(Branch.objects.filter(code__in=opts["branch"]).values_list("code", "pk"))
            missing = sorted(set(opts["branch"]) - set(found))
            if missing:
                raise CommandError(f"No branch with code {', '.join(missing)}.")
            branch_ids = list(found.values())
        bars: dict[str, tqdm] = {}
        show = opts["verbosity"] > 0

        def progress(label: str, done: int, total: int) -> None:
            bar = bars.get(label)
            if bar is None:
                bar = bars[label] = tqdm(
                    total=total, desc=label, disable=not show, file=self.stderr
                )
            bar.update(done - bar.n)
            if done >= total:
                bar.close()

        result = consistency_recompute(since=since, branch_ids=branch_ids, progress=progress)
        for bar in bars.values():
            bar.close()
        if show:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Recomputed {result.branches} branches, {result.periods} weeks: "
                    f"{result.flags_open} new flags, {result.flags_cleared} cleared."
                )
            )
