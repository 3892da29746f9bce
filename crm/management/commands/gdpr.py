from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from branches.models import User
from common.audit import Origin, audit_context
from crm.privacy import customer_erase, customer_export
from crm.staff_privacy import staff_erase, staff_export
from customers.models import Customer


class Command(BaseCommand):
    help = (
        "GDPR requests for one customer (or, with --staff, one member of staff): 'export' "
        "writes everything held on them as JSON; 'erase' anonymises their personal data "
        "and keeps the statistics. A customer's are recorded in their history under the HQ "
        "admin named by --by."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("customer_id", type=int, metavar="id")
        parser.add_argument(
            "--staff", action="store_true", help="The id is a member of staff's (a user)."
        )
        parser.add_argument("--by", required=True, help="User name of the HQ admin acting.")
        parser.add_argument("--output", type=Path, help="export: write here instead of stdout.")
        parser.add_argument(
            "--yes", action="store_true", help="erase: do it (erasure cannot be undone)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = User.objects.filter(username=options["by"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user '{options['by']}'.")
        if options["staff"]:
            self._staff(actor, options)
            return
        customer = Customer.objects.filter(pk=options["customer_id"]).first()
        if customer is None:
            raise CommandError(f"No customer with id {options['customer_id']}.")
        try:
            with audit_context(Origin.COMMAND, user=actor):
                if options["action"] == "export":
                    self._export(actor, customer, options["output"])
                else:
                    if not options["yes"]:
                        raise CommandError(
                            f"Erasing {customer} cannot be undone: add --yes to go ahead."
                        )
                    customer_erase(actor=actor, customer=customer)
                    self.stdout.write(f"Erased customer #{customer.pk}.")
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc

    def _staff(self, actor: User, options: dict[str, Any]) -> None:
        person = User.objects.filter(pk=options["customer_id"]).first()
        if person is None:
            raise CommandError(f"No member of staff with id {options['customer_id']}.")
        try:
            if options["action"] == "export":
                self._write(staff_export(actor=actor, user=person), options["output"])
                return
            if not options["yes"]:
                raise CommandError(f"Erasing {person} cannot be undone: add --yes to go ahead.")
            staff_erase(actor=actor, user=person)
            self.stdout.write(f"Erased member of staff #{person.pk}.")
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc

    def _export(self, actor: User, customer: Customer, output: Path | None) -> None:
        self._write(customer_export(actor=actor, customer=customer), output)

    def _write(self, data: dict[str, Any], output: Path | None) -> None:
        text = json.dumps(data, cls=DjangoJSONEncoder, indent=2)
        if output is None:
            self.stdout.write(text)
            return
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from exc
        self.stderr.write(f"Wrote {output}.")
