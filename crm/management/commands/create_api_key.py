from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.timezone import now

from crm.models import Integration, Scope
from crm.services import api_key_create, integration_create


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = (
        "Create an API key for an integration (created if new) and print it once. "
        f"Scopes: {', '.join(Scope.values)}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The integration's name.")
        parser.add_argument(
            "--scopes", type=_csv, help="Comma-separated scopes (new integrations)."
        )
        parser.add_argument(
            "--branches",
            type=_csv,
            default=[],
            help="Comma-separated branch codes it is limited to.",
        )
        parser.add_argument(
            "--expires-in-days",
            type=int,
            help="Days until the key stops working (default: API_KEY_LIFETIME_DAYS; 0: never).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        integration = Integration.objects.filter(name=options["name"].strip()).first()
        if integration is None:
            if not options["scopes"]:
                raise CommandError("A new integration needs --scopes.")
            unknown = sorted(set(options["scopes"]) - set(Scope.values))
            if unknown:
                raise CommandError(
                    f"Unknown scope(s): {', '.join(unknown)}. Use: {', '.join(Scope.values)}."
                )
            try:
                integration = integration_create(
                    name=options["name"], scopes=options["scopes"], branch_codes=options["branches"]
                )
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
        elif options["scopes"] or options["branches"]:
            raise CommandError(
                f"Integration '{integration.name}' exists; change its scopes and branches in the "
                "admin, or leave the options out to add a key."
            )
        days = options["expires_in_days"]
        if days is not None and days < 0:
            raise CommandError("--expires-in-days must be 0 (never) or more.")
        api_key, key = api_key_create(
            integration=integration,
            expires_at=now() + timedelta(days=days) if days else None,
            never_expires=days == 0,
        )
        self.stdout.write(
            f"Integration: {integration.name} (scopes: {', '.join(integration.scopes)})"
        )
        self.stdout.write(
            f"Expires: {api_key.expires_at:%Y-%m-%d %H:%M} UTC"
            if api_key.expires_at
            else "Expires: never"
        )
        self.stdout.write("API key (shown once, store it now):")
        self.stdout.write(key)
