"""Optimistic concurrency: a record's version tag (the API's ETag) and the If-Match test.

The test is made by the services on the row they hold locked, in the transaction that
writes it: compared before the lock, two writers holding the same tag could both pass.
"""

from __future__ import annotations

import hashlib
from typing import Any


class StaleVersionError(Exception):
    """The record is not at the version the caller named (If-Match): a 412 in the API."""

    def __init__(self) -> None:
        super().__init__("The record has changed since you read it (If-Match does not match).")


def version_tag(instance: Any) -> str:
    """A strong ETag: changes whenever the record's ``updated_at`` does."""
    version = f"{instance._meta.label}:{instance.pk}:{instance.updated_at.isoformat()}"
    return '"' + hashlib.sha256(version.encode()).hexdigest()[:32] + '"'


def if_match_holds(if_match: str | None, instance: Any | None) -> bool:
    """RFC 9110 If-Match: no header always holds; ``*`` holds when the record exists; a
    list of tags holds when one of them is the record's current tag."""
    if if_match is None:
        return True
    if instance is None:
        return False
    offered = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    return "*" in offered or version_tag(instance) in offered


def require_version(if_match: str | None, instance: Any | None) -> None:
    if not if_match_holds(if_match, instance):
        raise StaleVersionError()
