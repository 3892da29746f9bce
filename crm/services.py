"""Writes and lookups for integrations and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from branches.access import IntegrationPrincipal
from branches.models import Branch
from common.memo import memoized
from crm.models import ApiKey, Integration

KEY_PREFIX = "crm"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # don't write on every request


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def integration_create(
    *, name: str, scopes: Iterable[str], branch_codes: Iterable[str] = ()
) -> Integration:
    integration = Integration(name=name.strip(), scopes=sorted(set(scopes)))
    integration.full_clean()
    codes = sorted(set(branch_codes))
    branches = list(Branch.objects.filter(code__in=codes))
    unknown = set(codes) - {b.code for b in branches}
    if unknown:
        raise ValidationError({"branches": f"No branch with code: {', '.join(sorted(unknown))}."})
    integration.save()
    integration.branches.set(branches)
    return integration


def _default_expiry() -> datetime | None:
    days = settings.API_KEY_LIFETIME_DAYS
    return timezone.now() + timedelta(days=days) if days > 0 else None


@transaction.atomic
def api_key_create(
    *, integration: Integration, expires_at: datetime | None = None, never_expires: bool = False
) -> tuple[ApiKey, str]:
    """A new key for ``integration``: the record, and the key itself (shown once, never
    stored). It expires at ``expires_at``, by default after API_KEY_LIFETIME_DAYS."""
    if expires_at is None and not never_expires:
        expires_at = _default_expiry()
    elif expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        integration=integration, prefix=prefix, hashed_key=_hash(key), expires_at=expires_at
    )
    return api_key, key


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, grace: timedelta | None = None) -> tuple[ApiKey, str]:
    """Replace a key: a new one for the same integration, while the old one keeps working
    for ``grace`` (API_KEY_ROTATION_GRACE_HOURS) so the integration can switch over."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.state != "active" or api_key.replaced_by_id is not None:
        raise ValidationError(
            f"This key is {api_key.state} or already rotated: create a new one.",
            code="not_rotatable",
        )
    if grace is None:
        grace = timedelta(hours=settings.API_KEY_ROTATION_GRACE_HOURS)
    new_key, key = api_key_create(integration=api_key.integration)
    ends = timezone.now() + grace
    api_key.expires_at = min(ends, api_key.expires_at) if api_key.expires_at else ends
    api_key.replaced_by = new_key
    api_key.save(update_fields=["expires_at", "replaced_by"])
    return new_key, key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_prefix(key: str) -> str | None:
    """The prefix a key is looked up by: crm_<prefix>_<secret>."""
    parts = key.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == KEY_PREFIX else None


@dataclass(frozen=True)
class _KnownKey:
    pk: int
    hashed_key: str
    expires_at: datetime | None
    principal: IntegrationPrincipal


def _usable_keys() -> dict[str, _KnownKey]:
    """Every key that may authenticate (not revoked, its integration active), by prefix:
    one query for the whole table, kept per process (common.memo) until a key or an
    integration changes."""
    keys = (
        ApiKey.objects.filter(revoked_at__isnull=True, integration__is_active=True)
        .select_related("integration")
        .prefetch_related("integration__branches")
    )
    principals: dict[int, IntegrationPrincipal] = {}
    known = {}
    for api_key in keys:
        integration = api_key.integration
        if integration.pk not in principals:
            principals[integration.pk] = integration.principal()
        known[api_key.prefix] = _KnownKey(
            api_key.pk, api_key.hashed_key, api_key.expires_at, principals[integration.pk]
        )
    return known


_last_used_written: dict[int, datetime] = {}


def api_key_authenticate(key: str) -> IntegrationPrincipal | None:
    """The integration behind a presented key, or None for an unknown, revoked, expired
    or inactive one."""
    prefix = api_key_prefix(key)
    if prefix is None:
        return None
    known = memoized("crm.api_keys", _usable_keys).get(prefix)
    if known is None or not hmac.compare_digest(known.hashed_key, _hash(key)):
        return None
    now = timezone.now()
    if known.expires_at is not None and known.expires_at <= now:
        return None
    written = _last_used_written.get(known.pk)
    if written is None or now - written > LAST_USED_RESOLUTION:
        _last_used_written[known.pk] = now
        ApiKey.objects.filter(pk=known.pk).update(last_used_at=now)
    return known.principal
