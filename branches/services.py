"""Writes to the chain's structure: HQ admins only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from branches.access import is_chain_admin
from branches.models import Branch, Region, User
from common.events import emit
from common.validation import reject_unknown_fields

REGION_FIELDS = frozenset({"code", "name"})
BRANCH_FIELDS = frozenset({"region", "code", "name", "timezone", "is_active"})


def _require_admin(actor: Any) -> None:
    if not is_chain_admin(actor):
        raise PermissionDenied("Only HQ admins may change regions and branches.")


@transaction.atomic
def region_save(*, actor: Any, region: Region | None = None, data: dict[str, Any]) -> Region:
    """Create a region, or change ``region``."""
    _require_admin(actor)
    reject_unknown_fields(data, REGION_FIELDS)
    region = region or Region()
    for field, value in data.items():
        setattr(region, field, value)
    region.full_clean()
    region.save()
    return region


@transaction.atomic
def branch_save(*, actor: Any, branch: Branch | None = None, data: dict[str, Any]) -> Branch:
    """Create a branch, or change ``branch`` (closing it: ``is_active`` false)."""
    _require_admin(actor)
    reject_unknown_fields(data, BRANCH_FIELDS)
    branch = branch or Branch()
    previous_zone = branch.timezone if branch.pk else None
    for field, value in data.items():
        setattr(branch, field, value)
    branch.full_clean()
    with transaction.atomic():
        branch.save()
        if previous_zone is not None and previous_zone != branch.timezone:
            # Its local days, and so every rollup, move with the zone.
            emit([("branch.timezone_changed", branch)], actor=actor)
    return branch


def user_language_set(*, user: Any, language: str) -> None:
    """Save the staff pages' language on the user's profile ("" follows the browser)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValueError(f"'{language}' is not one of the site's languages.")
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
