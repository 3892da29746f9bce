from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedback.demo import demo_surveys_loaded, demo_surveys_seed


class Command(BaseCommand):
    help = (
        "Give the demo chain survey invitations, answers and follow-ups, and print a few "
        "survey links that work now (also written to var/demo_surveys.txt)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if invitations exist."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if demo_surveys_loaded():
            if opts["if_empty"]:
                self.stdout.write("Demo surveys are already loaded (links: var/demo_surveys.txt).")
                return
            raise CommandError("Survey invitations exist already; use --if-empty to keep them.")
        result = demo_surveys_seed()
        if not result.invitations:
            raise CommandError("No demo interactions to survey: run seed_demo first.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Surveys: {result.invitations} invitations, {result.responses} answers, "
                f"{result.follow_ups} follow-ups."
            )
        )
        self.stdout.write("Survey links to try (each works once):")
        for label, url in result.links:
            self.stdout.write(f"  {label}: {url}")
