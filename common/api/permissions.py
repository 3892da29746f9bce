from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from branches.access import IntegrationPrincipal, is_chain_admin, is_staff_member


class ScopePermission(BasePermission):
    """API keys need the scope a view names for reading or writing (``required_scopes``);
    staff signed in with a session are governed by their role through branches.access.
    A view without a scope for an action refuses API keys for it."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if isinstance(user, IntegrationPrincipal):
            action = "read" if request.method in SAFE_METHODS else "write"
            scope = getattr(view, "required_scopes", {}).get(action)
            if scope is None or not user.has_scope(scope):
                raise PermissionDenied(
                    f"This API key lacks the scope for this request ({scope or 'staff only'})."
                )
            return True
        return is_staff_member(user)


class ChainAdminWrites(BasePermission):
    """Reading is for everyone the other permissions admit; writing for HQ admins only."""

    message = "Only HQ admins may change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or is_chain_admin(request.user)
