"""Writes and lookups for integrations and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from branches.access import IntegrationPrincipal
from branches.models import Branch
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


def api_key_authenticate(key: str) -> IntegrationPrincipal | None:
    """The integration behind a presented key, or None for an unknown, revoked, expired
    or inactive one."""
    prefix = api_key_prefix(key)
    if prefix is None:
        return None
    api_key = (
        ApiKey.objects.select_related("integration")
        .filter(prefix=prefix, revoked_at__isnull=True, integration__is_active=True)
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, _hash(key)):
        return None
    now = timezone.now()
    if api_key.expires_at is not None and api_key.expires_at <= now:
        return None
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key.integration.principal()
