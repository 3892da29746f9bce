"""The branch directory: every branch's row, read once per process and kept until a
branch changes (common.memo). API writes name branches by code and check that they are
active on every request; a chain has hundreds of branches, not millions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from branches.models import Branch
from common.memo import memoized


@dataclass(frozen=True)
class Directory:
    rows: dict[int, tuple[object, ...]]  # id -> the concrete fields' values, in field order
    ids_by_code: dict[str, int]
    active_ids: frozenset[int]
    timezones: dict[int, str]


_FIELDS = [f.attname for f in Branch._meta.concrete_fields]


def _load() -> Directory:
    rows = {row[0]: row for row in Branch.objects.order_by().values_list(*_FIELDS)}
    index = {name: i for i, name in enumerate(_FIELDS)}
    return Directory(
        rows=rows,
        ids_by_code={str(row[index["code"]]): pk for pk, row in rows.items()},
        active_ids=frozenset(pk for pk, row in rows.items() if row[index["is_active"]]),
        timezones={pk: str(row[index["timezone"]]) for pk, row in rows.items()},
    )


def branch_directory() -> Directory:
    return memoized("branches.directory", _load)


def branches_by_code(codes: Iterable[str]) -> dict[str, Branch]:
    """Branch instances for these codes (unknown codes left out), each a fresh object."""
    directory = branch_directory()
    found = {}
    for code in codes:
        pk = directory.ids_by_code.get(code)
        if pk is not None:
            found[code] = Branch.from_db("default", _FIELDS, directory.rows[pk])
    return found
