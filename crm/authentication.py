from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from common.audit import audit_integration
from crm.services import api_key_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Api-Key <key>`` for integrations."""

    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[Any, str] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Api-Key <key>'.")
        key = header[1].decode("latin-1")
        principal = api_key_authenticate(key)
        if principal is None:
            raise exceptions.AuthenticationFailed("Unknown, revoked or expired API key.")
        audit_integration(principal.name)
        return principal, key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
