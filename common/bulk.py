"""Create or update many rows of one model, each matched by id or by (source, external_id),
with one result per item.

Every API write (POST, PUT by external id, PATCH, bulk) and the CSV import go through
here, so they validate and report alike. Items are checked with the model's own
field validators and ``clean`` (related objects arrive resolved: no per-item
queries), then new rows are inserted and changed rows updated in bulk statements.
On PostgreSQL, transaction-scoped advisory locks on the external references
serialise concurrent batches that share a record, so two overlapping batches can
never both insert it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from common.audit import history_model, history_rows, history_stamp
from common.models import external_ref_filter
from common.versions import StaleVersionError, if_match_holds

M = TypeVar("M", bound=models.Model)
Status = Literal["created", "updated", "unchanged", "error"]


@dataclass(frozen=True)
class Refusal:
    """Why an existing row may not be changed by this caller. ``hidden``: the caller may
    not even see it, so the answer is the one for a row that does not exist."""

    message: str
    hidden: bool = False


Vet = Callable[[Sequence[Any]], dict[int, Refusal]]
NO_SUCH_RECORD = "No such record."


@dataclass
class ItemResult:
    index: int
    status: Status
    id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    instance: Any = None
    forbidden: bool = False  # refused for reach, not for content: a 403 for a single write
    missing: bool = False  # names a row that does not exist: a 404 for a single write
    stale: bool = False  # the row is not at the version If-Match named: a 412


def item_error(index: int, errors: dict[str, list[str]], **flags: bool) -> ItemResult:
    return ItemResult(index, "error", errors=errors, **flags)


def validation_messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def _lock_key(model: type[models.Model], source: str, external_id: str) -> int:
    digest = hashlib.blake2b(
        f"{model._meta.label}:{source}:{external_id}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_external_refs(model: type[models.Model], refs: Sequence[tuple[str, str]]) -> None:
    """Hold transaction-scoped locks on these references (PostgreSQL; a no-op elsewhere,
    where the database serialises writers itself). Keys are taken in sorted order so two
    batches never wait on each other in a cycle."""
    if not refs or connection.vendor != "postgresql":
        return
    keys = sorted({_lock_key(model, s, e) for s, e in refs})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k "
            "ORDER BY 1) AS keys",
            [keys],
        )


RefIndex = Callable[[Sequence[tuple[str, str]]], dict[tuple[str, str], int] | None]


def _existing_rows(
    model: type[M],
    ids: set[int],
    refs: Sequence[tuple[str, str]],
    *,
    to_change: bool = True,
    ref_index: RefIndex | None = None,
) -> tuple[dict[int, M], dict[tuple[str, str], M]]:
    # Rows are locked in id order, so two batches naming the same rows cannot deadlock. The
    # related rows come along (model validation reads them) but only these rows are locked,
    # and with FOR NO KEY UPDATE (ids never change), which leaves the key-share locks that
    # inserts referencing these rows take free: FOR UPDATE would deadlock with those.
    # Rows only checked for (a create that finds its reference taken is refused) need
    # neither: they are read under the references' advisory locks already.
    relations = [f.name for f in model._meta.concrete_fields if f.is_relation]
    manager = model._default_manager.order_by("pk")
    if to_change:
        manager = manager.select_for_update(of=("self",), no_key=True).select_related(*relations)
    by_ref: dict[tuple[str, str], M] = {}
    indexed = ref_index(refs) if ref_index is not None and refs else None
    if indexed is not None:  # the references' ids from an index of their own: one query
        wanted = ids | set(indexed.values())
        rows = {row.pk: row for row in manager.filter(pk__in=wanted)} if wanted else {}
        by_ref = {ref: rows[pk] for ref, pk in indexed.items() if pk in rows}
        return {pk: row for pk, row in rows.items() if pk in ids}, by_ref
    by_id = {row.pk: row for row in manager.filter(pk__in=ids)} if ids else {}
    by_source: dict[str, list[str]] = {}
    for source, external_id in refs:
        by_source.setdefault(source, []).append(external_id)
    for source, external_ids in by_source.items():
        for row in external_ref_filter(manager, source, external_ids):
            by_ref[(row.source, row.external_id)] = row
    return by_id, by_ref


# Values psycopg writes as they are; other fields go through Django's own conversion.
_PLAIN_FIELD_TYPES = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DateTimeField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SlugField",
    "SmallIntegerField",
    "TextField",
}


COPY_FROM_ROWS = 20  # fewer rows than this are inserted with INSERT … RETURNING


def _values(fields: Sequence[models.Field], instances: Sequence[Any]) -> Iterator[list[Any]]:
    """Each instance's values of ``fields``, as the database stores them."""
    plain = [f.get_internal_type() in _PLAIN_FIELD_TYPES for f in fields]
    for instance in instances:
        yield [
            getattr(instance, f.attname)
            if is_plain
            else f.get_db_prep_save(getattr(instance, f.attname), connection)
            for f, is_plain in zip(fields, plain, strict=True)
        ]


def _write(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], returning: str = ""
) -> list[Any]:
    """PostgreSQL: insert ``rows`` (values of ``columns``), with COPY when there are many;
    a few go in one INSERT, which gives back the ``returning`` column of each, in order."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if len(rows) >= COPY_FROM_ROWS and not returning:
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return []
        one = "(" + ", ".join(["%s"] * len(columns)) + ")"
        cursor.execute(
            f"INSERT INTO {quote(table)} ({names}) VALUES "  # noqa: S608 - names from models
            + ", ".join([one] * len(rows))
            + (f" RETURNING {quote(returning)}" if returning else ""),
            [value for row in rows for value in row],
        )
        return [row[0] for row in cursor.fetchall()] if returning else []


def insert_history(model: type[M], created: Sequence[M], updated: Sequence[M]) -> None:
    """The history rows of rows written in bulk (no signals fire for those), stamped from
    the audit context. On PostgreSQL they are streamed with COPY straight from the written
    rows' values, without a history instance per row (the history table numbers them)."""
    historical = history_model(model)
    if historical is None or not (created or updated):
        return
    if connection.vendor != "postgresql":
        instances = history_rows(model, created, updated)
        historical._default_manager.bulk_create(instances, batch_size=500)
        return
    tracked: list[models.Field] = list(historical.tracked_fields)  # the model's own fields
    stamp = history_stamp()
    rows = [
        [*values, *stamp.values(), kind]
        for kind, written in (("+", created), ("~", updated))
        for values in _values(tracked, written)
    ]
    columns = [*(f.column for f in tracked), *stamp, "history_type"]
    _write(historical._meta.db_table, columns, rows)


def insert_rows(model: type[M], instances: Sequence[M]) -> None:
    """Insert new, already validated instances and set their ids. On PostgreSQL a batch's
    ids are drawn from the table's sequence up front and the rows sent with COPY, several
    times faster than a multi-row INSERT; a few rows (a single create) go in one INSERT …
    RETURNING, one round trip instead of three. Elsewhere ``bulk_create``."""
    if not instances:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(instances, batch_size=500)
        return
    opts = model._meta
    if len(instances) < COPY_FROM_ROWS:
        fields = [f for f in opts.concrete_fields if f is not opts.pk]
        values = list(_values(fields, instances))
        ids = _write(opts.db_table, [f.column for f in fields], values, returning=opts.pk.column)
        for instance, pk in zip(instances, ids, strict=True):
            instance.pk = pk
    else:  # COPY gives no ids back: they are drawn first
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [opts.db_table, opts.pk.column, len(instances)],
            )
            for instance, (pk,) in zip(instances, cursor.fetchall(), strict=True):
                instance.pk = pk
        fields = list(opts.concrete_fields)
        _write(opts.db_table, [f.column for f in fields], list(_values(fields, instances)))
    for instance in instances:
        instance._state.adding = False
        instance._state.db = connection.alias


def update_rows(model: type[M], instances: Sequence[M], fields: Sequence[str]) -> None:
    """Write ``fields`` of already validated instances. On PostgreSQL one UPDATE joins the
    table to the new values passed as arrays (Django's ``bulk_update`` builds a CASE per
    field and row, which costs seconds for a batch); elsewhere ``bulk_update``."""
    if not instances:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(instances, fields, batch_size=500)
        return
    opts = model._meta
    quote = connection.ops.quote_name
    by_name = {f.name: f for f in opts.concrete_fields}
    columns = [opts.pk, *(by_name[name] for name in fields)]
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
    names = ", ".join(quote(f.column) for f in columns)
    assignments = ", ".join(f"{quote(f.column)} = u.{quote(f.column)}" for f in columns[1:])
    pk = quote(opts.pk.column)
    values = [
        [f.get_db_prep_save(getattr(instance, f.attname), connection) for instance in instances]
        for f in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(  # identifiers from the model, quoted; values passed as parameters
            f"UPDATE {quote(opts.db_table)} AS t SET {assignments} "  # noqa: S608
            f"FROM unnest({arrays}) AS u({names}) WHERE t.{pk} = u.{pk}",
            values,
        )


def bulk_upsert(
    *,
    model: type[M],
    items: Sequence[dict[str, Any] | None],
    failed: dict[int, ItemResult],
    editable: Sequence[str],
    vet: Vet | None = None,
    create_only: bool = False,
    if_match: str | None = None,
    create_defaults: dict[str, Any] | None = None,
    may_create: Callable[[M], str | None] | None = None,
    ref_index: RefIndex | None = None,
) -> list[ItemResult]:
    """Create or update ``items``: field values, plus ``id`` to name an existing row.

    ``failed`` holds the results the caller already decided (unresolvable references,
    access), and those items are None. ``vet`` is given the existing rows the items
    name, locked, and returns the refusals by row id. Omitted fields keep their value. With
    ``create_only`` an item whose external reference exists is an error. ``if_match``
    (a single write's If-Match header) is compared with each row while it is locked.
    ``create_defaults`` are values a new row gets unless its item sets them, and
    ``may_create`` vets it (an error message, or None). ``ref_index`` finds the ids that
    external references name, when the model keeps them apart (None: look in the table).
    Must run inside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("bulk_upsert must run inside a transaction (it takes row locks).")
    results = dict(failed)
    first_seen: dict[Any, int] = {}
    for i, values in enumerate(items):
        if values is None or i in results:
            continue
        key = values.get("id") or (
            (values.get("source", ""), values["external_id"]) if values.get("external_id") else None
        )
        if key is None:
            continue
        if key in first_seen:
            where = "id" if "id" in values else "external_id"
            results[i] = item_error(i, {where: [f"Repeats item {first_seen[key]} of this batch."]})
        else:
            first_seen[key] = i
    refs = [k for k in first_seen if isinstance(k, tuple)]
    lock_external_refs(model, refs)
    by_id, by_ref = _existing_rows(
        model,
        {k for k in first_seen if isinstance(k, int)},
        refs,
        to_change=not create_only,
        ref_index=ref_index,
    )
    refusals = vet([*by_id.values(), *by_ref.values()]) if vet else {}

    foreign_keys = [f for f in model._meta.concrete_fields if f.is_relation]
    fk_names = {f.name for f in foreign_keys}
    required_fks = [f for f in foreign_keys if not f.null]
    # Like a ModelForm, validate only the fields an item sets: the others keep a value that
    # was valid already, or (on create) a default, unless the field is required.
    plain_fields = {f.name for f in model._meta.concrete_fields} - fk_names
    defaulted = {f.name for f in model._meta.concrete_fields if f.has_default() or f.blank}
    # Compare foreign keys by id: reading the related object would cost a query per row.
    attnames = {f.name: f.attname for f in model._meta.concrete_fields}
    compared = [attnames[name] for name in editable]
    now = timezone.now()
    to_create: list[tuple[int, M]] = []
    to_update: list[tuple[int, M]] = []
    for i, values in enumerate(items):
        if values is None or i in results:
            continue
        values = dict(values)
        named_by = "id" if "id" in values else "external_id"
        if "id" in values:
            instance = by_id.get(values.pop("id"))
            if instance is None:
                results[i] = item_error(i, {"id": [NO_SUCH_RECORD]}, missing=True)
                continue
        else:
            ref = (values.get("source", ""), values.get("external_id", ""))
            instance = by_ref.get(ref) if ref[1] else None
        refusal = refusals.get(instance.pk) if instance is not None else None
        if refusal is not None and refusal.hidden:
            results[i] = item_error(i, {named_by: [NO_SUCH_RECORD]}, missing=True)
            continue
        if not if_match_holds(if_match, instance):
            results[i] = item_error(i, {"non_field_errors": [str(StaleVersionError())]}, stale=True)
            continue
        if instance is not None and create_only:
            results[i] = item_error(
                i,
                {"external_id": ["A record with this source and external_id already exists."]},
            )
            continue
        if instance is not None:
            if instance.deleted_at is not None:  # type: ignore[attr-defined]
                results[i] = item_error(
                    i, {"non_field_errors": ["This record was deleted."]}, missing=True
                )
                continue
            if refusal is not None:
                results[i] = item_error(i, {"non_field_errors": [refusal.message]}, forbidden=True)
                continue
            moved = [
                name
                for name in ("source", "external_id")
                if name in values and values[name] != getattr(instance, name)
            ]
            if moved:
                fixed = "A record's source and external_id cannot be changed."
                results[i] = item_error(i, {name: [fixed] for name in moved})
                continue
            before = {name: getattr(instance, name) for name in compared}
        else:
            instance = model()
            before = None
            values = {**(create_defaults or {}), **values}
        for name, value in values.items():
            setattr(instance, name, value)
        if before is None and may_create and (refused := may_create(instance)):
            results[i] = item_error(i, {"non_field_errors": [refused]}, forbidden=True)
            continue
        try:
            missing = [f.name for f in required_fks if getattr(instance, f.attname) is None]
            if missing:
                raise ValidationError(dict.fromkeys(missing, "This field is required."))
            unset = plain_fields - values.keys()
            skip = unset if before is not None else unset & defaulted
            instance.clean_fields(exclude=fk_names | skip)
            instance.clean()
        except ValidationError as exc:
            results[i] = ItemResult(i, "error", instance.pk, validation_messages(exc))
            continue
        if before is None:
            instance.created_at = instance.updated_at = now  # type: ignore[attr-defined]
            to_create.append((i, instance))
        elif any(before[name] != getattr(instance, name) for name in compared):
            instance.updated_at = now  # type: ignore[attr-defined]
            to_update.append((i, instance))
        else:
            results[i] = ItemResult(i, "unchanged", instance.pk, instance=instance)

    insert_rows(model, [inst for _, inst in to_create])
    update_rows(model, [inst for _, inst in to_update], [*editable, "updated_at"])
    insert_history(model, [inst for _, inst in to_create], [inst for _, inst in to_update])
    for i, inst in to_create:
        results[i] = ItemResult(i, "created", inst.pk, instance=inst)
    for i, inst in to_update:
        results[i] = ItemResult(i, "updated", inst.pk, instance=inst)
    return [results[i] for i in range(len(items))]
