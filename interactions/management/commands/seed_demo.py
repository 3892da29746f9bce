from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from interactions.demo import (
    DEMO_PASSWORD,
    REGIONS,
    DemoOptions,
    demo_is_loaded,
    demo_logins,
    demo_reset,
    demo_seed,
)


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise CommandError(f"'{value}' is not a whole number.") from None
        if not low <= number <= high:
            raise CommandError(f"{number} is out of range: use {low}..{high}.")
        return number

    return parse


def _monday(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"'{value}' is not a date (YYYY-MM-DD).") from None
    if day.weekday() != 0:
        raise CommandError(f"--end {value} must be a Monday (weeks are ISO weeks).")
    return day


class Command(BaseCommand):
    help = (
        "Load a deterministic demo chain (regions, branches of very different sizes, staff of "
        "every role, customers, interactions on every channel) with planted divergent branches, "
        "and write the planted truth to a JSON file. Also the benchmark data generator."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=_bounded(0, 2**32 - 1), default=42)
        parser.add_argument("--branches", type=_bounded(5, 1000), default=24)
        parser.add_argument("--weeks", type=_bounded(6, 260), default=12)
        parser.add_argument("--interactions", type=_bounded(0, 50_000_000), default=40_000)
        parser.add_argument(
            "--regions",
            type=_bounded(1, len(REGIONS)),
            default=len(REGIONS),
            help="How many regions the branches are spread over (1 puts them all in one).",
        )
        parser.add_argument(
            "--end",
            type=_monday,
            default=None,
            help="Monday after the last week (default: this week's).",
        )
        parser.add_argument("--truth-file", type=Path, default=settings.DEMO_TRUTH_FILE)
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--if-empty", action="store_true", help="Do nothing (but list logins) if data exists."
        )
        mode.add_argument("--reset", action="store_true", help="Delete existing data first.")

    def handle(self, *args: Any, **opts: Any) -> None:
        if demo_is_loaded():
            if opts["if_empty"]:
                self.stdout.write("Demo data is already loaded.")
                self._print_logins(demo_logins())
                return
            if not opts["reset"]:
                raise CommandError(
                    "The database already holds branches. Use --reset to replace them with the "
                    "demo chain, or --if-empty to keep them."
                )
            demo_reset()
        options = DemoOptions(
            seed=opts["seed"],
            branches=opts["branches"],
            weeks=opts["weeks"],
            interactions=opts["interactions"],
            regions=opts["regions"],
            end=opts["end"],
        )
        show = opts["verbosity"] > 0
        bars: list[tqdm] = []

        def progress_factory(label: str, total: int) -> Callable[[int], None]:
            bar = tqdm(total=total, desc=label, unit="rows", disable=not show, file=self.stderr)
            bars.append(bar)

            def advance(rows: int) -> None:
                bar.update(rows)
                if bar.n >= total:
                    bar.close()

            return advance

        started = time.perf_counter()
        try:
            result = demo_seed(
                options=options, truth_file=opts["truth_file"], progress_factory=progress_factory
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for bar in bars:
                bar.close()
        elapsed = time.perf_counter() - started
        if not show:
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo chain loaded in {elapsed:.1f} s: {result.regions} regions, "
                f"{result.branches} branches, {result.staff} staff, {result.customers} customers, "
                f"{result.interactions} interactions "
                f"({result.interactions / max(elapsed, 1e-9):,.0f} interactions/s)."
            )
        )
        self.stdout.write(f"Planted truth written to {opts['truth_file']}")
        self._print_logins(result.logins)

    def _print_logins(self, logins: list[tuple[str, str, str]]) -> None:
        if not logins:
            return
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, reach in logins:
            self.stdout.write(f"  {username:<22} {role:<18} {reach}")
        self.stdout.write("  Every branch has bm.<code> and agent.<code>.<n>; see README.md.")
