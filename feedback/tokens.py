"""Survey link tokens: 256 random bits in the link, only their SHA-256 in the database."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def token_new() -> tuple[str, str]:
    """A fresh token and the hash to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sampled(rule_id: int, interaction_id: int, rate: float) -> bool:
    """Whether an interaction falls in a rule's sample: decided by a hash of both ids, so
    the same interaction always gets the same answer (a retried plan, a rebuilt demo)."""
    if rate >= 1:
        return True
    digest = hashlib.sha256(f"{rule_id}:{interaction_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate
