from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework import serializers
from tqdm import tqdm

from branches.access import IntegrationPrincipal
from common.audit import Origin, audit_context
from common.bulk import ItemResult
from customers.api import CustomerSerializer
from customers.services import customers_upsert
from interactions.api import InteractionSerializer
from interactions.services import interactions_upsert

BATCH = 1000
KINDS: dict[str, tuple[type[serializers.Serializer], Callable[..., list[ItemResult]]]] = {
    "customers": (CustomerSerializer, customers_upsert),
    "interactions": (InteractionSerializer, interactions_upsert),
}
# The import acts like an integration that reaches every branch.
IMPORTER = IntegrationPrincipal(
    integration_id=0,
    name="csv import",
    scopes=frozenset({"customers:write", "interactions:write"}),
    branch_ids=None,
)


def _item(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as API input: empty cells are left out, lists are ';'-separated."""
    item: dict[str, Any] = {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
    if "tags" in item:
        item["tags"] = [t.strip() for t in item["tags"].split(";") if t.strip()]
    source, external_id = item.pop("customer_source", None), item.pop("customer_external_id", None)
    if source or external_id:
        item["customer_ref"] = {"source": source or "", "external_id": external_id or ""}
    return item


class Command(BaseCommand):
    help = (
        "Import customers or interactions from a CSV file whose columns are the API's field "
        "names (customer_source/customer_external_id name an interaction's customer). Rows "
        "with source+external_id are created or updated, so re-importing creates nothing new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Validate and report only.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        serializer_class, upsert = KINDS[options["kind"]]
        counts = {"created": 0, "updated": 0, "unchanged": 0, "error": 0}
        with path.open(newline="", encoding="utf-8-sig") as handle:
            total = max(sum(1 for _ in handle) - 1, 0)
            handle.seek(0)
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                raise CommandError(f"{path} is empty: the first line must name the columns.")
            with (
                tqdm(
                    total=total, unit="rows", disable=options["verbosity"] == 0, file=sys.stderr
                ) as bar,
                transaction.atomic(),
                audit_context(Origin.IMPORT),
            ):
                for batch in _batches(reader):
                    for line, result in self._import(batch, serializer_class, upsert):
                        counts[result.status] += 1
                        if result.status == "error":
                            problems = "; ".join(
                                f"{field}: {' '.join(map(str, msgs))}"
                                for field, msgs in result.errors.items()
                            )
                            bar.write(f"line {line}: {problems}", file=self.stderr, end="")
                    bar.update(len(batch))
                if options["dry_run"]:
                    transaction.set_rollback(True)
        verb = "Would import" if options["dry_run"] else "Imported"
        summary = ", ".join(f"{n} {state}" for state, n in counts.items())
        self.stdout.write(f"{verb} {options['kind']} from {path}: {summary}.")
        if counts["error"]:
            raise CommandError(
                f"{counts['error']} row(s) had errors (listed above); the rest were kept."
            )

    def _import(
        self,
        batch: list[tuple[int, dict[str, str]]],
        serializer_class: type[serializers.Serializer],
        upsert: Callable[..., list[ItemResult]],
    ) -> Iterator[tuple[int, ItemResult]]:
        valid: list[tuple[int, dict[str, Any]]] = []
        for line, row in batch:
            item = serializer_class(data=_item(row), context={"lenient_types": True})
            if item.is_valid():
                valid.append((line, dict(item.validated_data)))
            else:
                yield line, ItemResult(0, "error", errors=dict(item.errors))
        results = upsert(actor=IMPORTER, items=[data for _, data in valid])
        yield from zip((line for line, _ in valid), results, strict=True)


def _batches(reader: csv.DictReader[str]) -> Iterator[list[tuple[int, dict[str, str]]]]:
    batch: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        batch.append((reader.line_num, row))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
