"""Where webhooks may go: public http(s) addresses only, checked when a subscription is
made and again on every connection (DNS can change between the two).

An integration names the URL, so without these checks the CRM would POST on its behalf to
whatever the server can reach: a cloud metadata service, the database host, an admin
panel on the private network. The connection itself is made to the address that passed
the check (not resolved a second time), and redirects are never followed.

``WEBHOOK_ALLOW_PRIVATE_TARGETS`` lifts the address check for an on-premises chain whose
receivers live on its own network (and for the demo and the tests, which receive on
loopback); the scheme and credentials checks stay.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils.translation import gettext_noop
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection as urllib3_connection

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")
DEFAULT_PORTS = {"http": 80, "https": 443}


class TargetRefusedError(NewConnectionError):
    """The host resolved only to addresses webhooks may not reach."""


def private_targets_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False))


def address_is_public(address: IpAddress) -> bool:
    """Whether ``address`` is a globally routed unicast address. Addresses that carry an
    IPv4 address inside an IPv6 one (mapped, 6to4, Teredo, NAT64) are judged by it."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if address.teredo:
            embedded = address.teredo[1]
        if address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not address_is_public(embedded):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[IpAddress]:
    """Every address ``host`` resolves to (raises socket.gaierror when it does not)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def webhook_url_shape_problem(url: str) -> str | None:
    """What is wrong with ``url`` itself (scheme, credentials, host), or None. In English
    (for the API); the messages are marked so the admin's form can show them translated."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return gettext_noop("Enter a valid URL.")
    if parts.scheme not in {"http", "https"}:
        return gettext_noop("Use an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        return gettext_noop(
            "Do not put credentials in the URL: verify deliveries by their signature."
        )
    if not parts.hostname:
        return gettext_noop("The URL has no host.")
    return None


def webhook_url_problem(url: str) -> str | None:
    """Why webhooks may not be sent to ``url``, or None when they may: its shape, then
    (unless private targets are allowed) every address its host resolves to."""
    problem = webhook_url_shape_problem(url)
    if problem or private_targets_allowed():
        return problem
    parts = urlsplit(url)
    try:
        addresses = _resolve(parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme])
    except (OSError, UnicodeError):
        return gettext_noop("The host name does not resolve.")
    if not addresses or not all(address_is_public(a) for a in addresses):
        return gettext_noop(
            "The URL points at a loopback, private, link-local, multicast or reserved "
            "address; webhooks go only to public addresses."
        )
    return None


class _PublicOnly:
    """Connection mixin: resolve, refuse non-public addresses, connect to one that passed."""

    _dns_host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        if private_targets_allowed():
            return super()._new_conn()  # type: ignore[misc]
        try:
            addresses = _resolve(self._dns_host, self.port)
        except (OSError, UnicodeError) as exc:
            raise NewConnectionError(self, "The host name did not resolve.") from exc  # type: ignore[arg-type]
        allowed = [a for a in addresses if address_is_public(a)]
        if not allowed or len(allowed) != len(addresses):
            raise TargetRefusedError(self, "The target address is not public.")  # type: ignore[arg-type]
        last_error: OSError | None = None
        for address in allowed:
            try:
                return urllib3_connection.create_connection(
                    (str(address), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                last_error = exc
        raise NewConnectionError(self, f"Could not connect: {last_error}")  # type: ignore[arg-type]


class _PublicHTTPConnection(_PublicOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicOnly, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PublicHTTPPool,
            "https": _PublicHTTPSPool,
        }


def webhook_session() -> requests.Session:
    """A session that reaches public addresses only and ignores proxy variables from the
    environment (a proxy would make the connection on the CRM's behalf, unchecked)."""
    session = requests.Session()
    session.trust_env = False
    adapter = _PublicOnlyAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def refused_by_guard(exc: BaseException) -> bool:
    """Whether a failed request was stopped by the address check (anywhere in its causes)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, TargetRefusedError):
            return True
        reason = getattr(seen, "reason", None)
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = reason if isinstance(reason, BaseException) else inner or seen.__cause__
    return False
