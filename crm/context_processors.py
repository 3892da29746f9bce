"""What the navigation bar needs to know about the signed-in user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from branches.access import branch_scope, is_chain_admin, is_manager


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)

    def links() -> dict[str, bool]:
        if user is None or not user.is_authenticated:
            return {}
        writable = branch_scope(user, for_write=True)
        return {
            "can_log": writable.everything or bool(writable.branch_ids),
            "is_manager": is_manager(user),
            "is_admin": is_chain_admin(user),
        }

    return {"nav": SimpleLazyObject(links)}
