from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.audit import Origin, audit_context
from crm.models import ApiKey
from crm.services import api_key_rotate


class Command(BaseCommand):
    help = (
        "Rotate an API key: print a new key for the same integration; the old one keeps "
        "working for the grace period, then expires."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="The key's prefix: crm_<prefix>_… (see the admin).")
        parser.add_argument(
            "--grace-hours",
            type=int,
            help="How long the old key keeps working (default: API_KEY_ROTATION_GRACE_HOURS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        api_key = (
            ApiKey.objects.select_related("integration").filter(prefix=options["prefix"]).first()
        )
        if api_key is None:
            raise CommandError(f"No API key with prefix '{options['prefix']}'.")
        hours = options["grace_hours"]
        if hours is not None and hours < 0:
            raise CommandError("--grace-hours must be 0 or more.")
        try:
            with audit_context(Origin.COMMAND):
                new_key, key = api_key_rotate(
                    api_key=api_key, grace=None if hours is None else timedelta(hours=hours)
                )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        api_key.refresh_from_db()
        self.stdout.write(f"Integration: {api_key.integration.name}")
        ends = f"{api_key.expires_at:%Y-%m-%d %H:%M} UTC"
        self.stdout.write(f"Old key crm_{api_key.prefix}_… stops working at {ends}.")
        expiry = f"{new_key.expires_at:%Y-%m-%d %H:%M} UTC" if new_key.expires_at else "never"
        self.stdout.write(f"New key (expires: {expiry}; shown once, store it now):")
        self.stdout.write(key)
