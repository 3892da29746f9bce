from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from branches.models import Branch
from quality.demo import SCORECARDS, demo_reviews_loaded, demo_reviews_seed


class Command(BaseCommand):
    help = (
        "Give the demo chain its quality reviews: a counter and a phone scorecard, weekly "
        "sampling rules and a quarter of sampled reviews, with one branch planted (its "
        "counter staff skip 'confirms the amount'), added to the demo's truth file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if scorecards exist."
        )
        parser.add_argument("--truth-file", type=Path, default=settings.DEMO_TRUTH_FILE)

    def handle(self, *args: Any, **opts: Any) -> None:
        if demo_reviews_loaded():
            if opts["if_empty"]:
                self.stdout.write("Demo reviews are already loaded.")
                return
            raise CommandError("Reviews exist already; use --if-empty to keep them.")
        truth_file: Path = opts["truth_file"]
        if not Branch.objects.exists() or not truth_file.exists():
            raise CommandError(f"No demo chain (or no {truth_file}): run seed_demo first.")
        started = time.perf_counter()
        show = opts["verbosity"] > 0
        with tqdm(
            total=None, desc="sampling weeks", unit="weeks", disable=not show, file=self.stderr
        ) as bar:
            result = demo_reviews_seed(truth_file=truth_file, progress=bar.update)
        if show:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Quality reviews: {len(SCORECARDS)} scorecards, {result.reviews} reviews of "
                    f"{result.assignments} sampled interactions ({result.open_assignments} still "
                    f"to review), {result.disputes} disputes, in "
                    f"{time.perf_counter() - started:.1f} s. Planted: {result.planted_branch}'s "
                    "counter staff skip 'confirms the amount'. QA reviewers: qa.lead, qa.reviewer."
                )
            )
