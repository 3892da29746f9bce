from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from branches.models import Branch
from complaints.classifier import TooFewLabels, classifier_train
from complaints.demo import demo_complaints_loaded, demo_complaints_seed
from complaints.models import Complaint
from feedback.demo import demo_handling_answers


class Command(BaseCommand):
    help = (
        "Give the demo chain its complaints: the starter taxonomy, a complaint with its text "
        "and handling for every complaint interaction, the customers' word on the handling, "
        "and the type classifier trained on them. One branch is planted (most of its "
        "complaints are about a wrong amount), added to the demo's truth file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if complaints exist."
        )
        parser.add_argument("--truth-file", type=Path, default=settings.DEMO_TRUTH_FILE)

    def handle(self, *args: Any, **opts: Any) -> None:
        if demo_complaints_loaded():
            if opts["if_empty"]:
                self.stdout.write("Demo complaints are already loaded.")
                return
            raise CommandError("Complaints exist already; use --if-empty to keep them.")
        truth_file: Path = opts["truth_file"]
        if not Branch.objects.exists() or not truth_file.exists():
            raise CommandError(f"No demo chain (or no {truth_file}): run seed_demo first.")
        show = opts["verbosity"] > 0
        started = time.perf_counter()
        with tqdm(desc="complaints", unit="rows", disable=not show, file=self.stderr) as bar:
            result = demo_complaints_seed(truth_file=truth_file, progress=bar.update)
        closed = Complaint.objects.filter(status="closed")
        answers = demo_handling_answers(closed, np.random.default_rng(43))
        if show:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Complaints: {result.complaints} ({result.typed} typed, {result.open} open, "
                    f"{result.overdue} overdue), {answers.answered} handling answers, in "
                    f"{time.perf_counter() - started:.1f} s. Planted: most of "
                    f"{result.planted_branch}'s complaints are about a wrong amount."
                )
            )
        try:
            with tqdm(desc="training", unit="steps", disable=not show, file=self.stderr) as bar:
                report = classifier_train(progress=bar.update)
        except TooFewLabels as refusal:
            self.stdout.write(f"Type classifier not trained: {' '.join(refusal.messages)}")
            return
        if show:
            self.stdout.write(
                f"Type classifier v{report.version}: {report.labels} labels, held out "
                f"{report.held_out}: top-1 {report.top1:.1%}, top-3 {report.top3:.1%} "
                f"(always the commonest type: {report.baseline:.1%}), trained in "
                f"{report.train_seconds:.1f} s."
            )
