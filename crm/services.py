"""Writes and lookups for integrations and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import timedelta

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


@transaction.atomic
def api_key_create(*, integration: Integration) -> tuple[ApiKey, str]:
    """A new key for ``integration``: the record, and the key itself (shown once, never stored)."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(integration=integration, prefix=prefix, hashed_key=_hash(key))
    return api_key, key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(key: str) -> IntegrationPrincipal | None:
    """The integration behind a presented key, or None for an unknown, revoked or
    inactive one. Compares hashes in constant time."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    api_key = (
        ApiKey.objects.select_related("integration")
        .filter(prefix=parts[1], revoked_at__isnull=True, integration__is_active=True)
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, _hash(key)):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key.integration.principal()
