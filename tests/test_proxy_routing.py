"""deploy/nginx.conf, the proxy of docker-compose.yml: /api/ reaches the integrations' pool and
everything else the counter's, with the host, scheme and client address the app relies on, and
bodies up to the app's own limit passed through.

The committed file runs under Debian's nginx with only what ties it to compose swapped for local
stand-ins: the two upstream servers (two small HTTP servers started here, each answering which
pool it is and echoing what it received), the listen line, the worker user and scratch paths.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory, override_settings

from benchmarks.servers import local_nginx_conf
from common.client_ip import client_address

REPO_ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = REPO_ROOT / "deploy" / "nginx.conf"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
# The address the pools see the proxy connect from, as a compose network would give it.
PROXY_CONTAINER_ADDRESS = "172.18.0.9"


def env_example(name: str) -> str:
    """The value .env.example ships for name (what a deployment starts from)."""
    match = re.search(rf"^{name}=(.*)$", ENV_EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f".env.example does not set {name}"
    return match.group(1).strip()


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail(
            "nginx is not installed: these tests run deploy/nginx.conf under Debian's nginx. "
            "Run scripts/ensure_test_tools.sh (as root it installs the nginx package; "
            "make test runs it) or 'sudo apt-get install nginx'.",
            pytrace=False,
        )
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PoolServer(ThreadingHTTPServer):
    """A stand-in for one gunicorn pool: answers every request with its name and what it got."""

    daemon_threads = True

    def __init__(self, pool: str) -> None:
        super().__init__(("127.0.0.1", 0), PoolHandler)
        self.pool = pool

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class PoolHandler(BaseHTTPRequestHandler):
    def answer(self) -> None:
        assert isinstance(self.server, PoolServer)
        remaining = int(self.headers.get("Content-Length") or 0)
        received = 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
        body = json.dumps(
            {
                "pool": self.server.pool,
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body_bytes": received,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.answer()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reports what matters."""


@dataclass(frozen=True)
class ProxyFiles:
    nginx: str
    scratch: Path
    conf: Path
    pools: tuple[PoolServer, PoolServer]

    def command(self, *extra: str) -> list[str]:
        return [
            self.nginx,
            "-p",
            f"{self.scratch}/",
            "-c",
            str(self.conf),
            "-e",
            str(self.scratch / "startup-error.log"),
            "-g",
            f"daemon off; pid {self.scratch / 'nginx.pid'};",
            *extra,
        ]

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')}"
            for log in sorted(self.scratch.glob("*.log"))
        )


@dataclass(frozen=True)
class Proxy:
    port: int

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def echo(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """What the pool that answered received."""
        status, body = self.request(method, path, **kwargs)
        assert status == 200, f"{method} {path}: {status} from the proxy: {body[:300]!r}"
        echoed: dict[str, Any] = json.loads(body)
        return echoed


@pytest.fixture(scope="module")
def proxy_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyFiles]:
    nginx = nginx_binary()
    web, api = PoolServer("web"), PoolServer("api")
    for pool in (web, api):
        threading.Thread(target=pool.serve_forever, daemon=True).start()
    scratch = tmp_path_factory.mktemp("nginx")
    conf = scratch / "nginx.conf"
    conf.write_text(
        local_nginx_conf(
            NGINX_CONF.read_text(encoding="utf-8"),
            listen=free_port(),
            web=web.port,
            api=api.port,
            scratch=scratch,
        ),
        encoding="utf-8",
    )
    yield ProxyFiles(nginx=nginx, scratch=scratch, conf=conf, pools=(web, api))
    for pool in (web, api):
        pool.shutdown()
        pool.server_close()


@pytest.fixture(scope="module")
def proxy(proxy_files: ProxyFiles) -> Iterator[Proxy]:
    match = re.search(r"listen 127\.0\.0\.1:(\d+);", proxy_files.conf.read_text())
    assert match
    port = int(match.group(1))
    scratch = proxy_files.scratch
    with (scratch / "stdout.log").open("wb") as stdout, (scratch / "stderr.log").open("wb") as err:
        process = subprocess.Popen(proxy_files.command(), stdout=stdout, stderr=err)
        try:
            deadline = time.monotonic() + 15
            while True:
                if process.poll() is not None:
                    pytest.fail(f"nginx exited ({process.returncode}):\n{proxy_files.logs()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"nginx is not listening after 15 s:\n{proxy_files.logs()}")
                    time.sleep(0.05)
            yield Proxy(port=port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_proxy_config_is_valid(proxy_files: ProxyFiles) -> None:
    result = subprocess.run(
        proxy_files.command("-t"), capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, f"{result.stderr}\n{proxy_files.logs()}"
    assert "test is successful" in result.stderr


@pytest.mark.parametrize(
    ("path", "pool"),
    [
        ("/api/v1/interactions/bulk/", "api"),
        ("/api/v1/customers/?updated_after=2026-01-05T00:00:00Z&include_deleted=true", "api"),
        ("/api/schema/", "api"),
        ("/", "web"),
        ("/log/", "web"),
        ("/s/Zq3vJ9_kT2mX8pLw4nB6rY1cH5dF0gA7sE2uI9oK3jQ/", "web"),
        ("/static/x", "web"),
        ("/admin/", "web"),
        ("/healthz", "web"),
    ],
)
def test_each_path_reaches_its_pool_unchanged(proxy: Proxy, path: str, pool: str) -> None:
    echo = proxy.echo("GET", path)
    assert echo["pool"] == pool
    assert echo["path"] == path  # no rewriting: the app routes on the same path and query


def test_a_bulk_batch_reaches_the_api_pool_with_its_headers(proxy: Proxy) -> None:
    batch = json.dumps({"items": [{"source": "pos", "external_id": "r-1"}]}).encode()
    echo = proxy.echo(
        "POST",
        "/api/v1/interactions/bulk/",
        body=batch,
        headers={
            "Content-Type": "application/json",
            "Authorization": "Api-Key abc.def",
            "Idempotency-Key": "sync-2026-01-05-001",
        },
    )
    assert (echo["pool"], echo["method"], echo["body_bytes"]) == ("api", "POST", len(batch))
    assert echo["headers"]["authorization"] == "Api-Key abc.def"
    assert echo["headers"]["idempotency-key"] == "sync-2026-01-05-001"


def test_a_body_over_the_apps_limit_is_left_for_the_app_to_refuse(proxy: Proxy) -> None:
    # The app answers a body over MAX_REQUEST_BYTES with its own 413 problem+json: nginx must
    # pass such a body on rather than answer with its HTML 413 page.
    size = int(10.5 * 1024 * 1024)
    assert size > int(env_example("MAX_REQUEST_BYTES"))
    echo = proxy.echo(
        "POST",
        "/api/v1/interactions/bulk/",
        body=b"[" + b" " * (size - 2) + b"]",
        headers={"Content-Type": "application/json"},
    )
    assert (echo["pool"], echo["body_bytes"]) == ("api", size)


def seen_by_the_app(forwarded_for: str, proxies: int) -> str | None:
    """The client address the throttle and the audit would record for these headers."""
    request = RequestFactory().get(
        "/", HTTP_X_FORWARDED_FOR=forwarded_for, REMOTE_ADDR=PROXY_CONTAINER_ADDRESS
    )
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        return client_address(request)


def test_clients_facing_the_proxy_directly(proxy: Proxy) -> None:
    headers = proxy.echo("GET", "/log/", headers={"Host": "crm.example.com"})["headers"]
    assert headers["host"] == "crm.example.com"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    # With the TRUSTED_PROXY_COUNT the stack ships (the proxy counted), the app sees the
    # client, not the proxy's container.
    assert seen_by_the_app(headers["x-forwarded-for"], int(env_example("TRUSTED_PROXY_COUNT"))) == (
        "127.0.0.1"
    )


def test_a_client_cannot_choose_its_address_or_an_odd_scheme(proxy: Proxy) -> None:
    headers = proxy.echo(
        "GET",
        "/s/token/",
        headers={"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "gopher"},
    )["headers"]
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-for"] == "198.51.100.1, 127.0.0.1"
    proxies = int(env_example("TRUSTED_PROXY_COUNT"))
    assert seen_by_the_app(headers["x-forwarded-for"], proxies) == "127.0.0.1"


def test_behind_a_tls_proxy_the_scheme_is_kept_and_the_client_is_one_hop_further(
    proxy: Proxy,
) -> None:
    # What a TLS-terminating proxy in front sends; the README says to add one to
    # TRUSTED_PROXY_COUNT for it.
    headers = proxy.echo(
        "POST",
        "/api/v1/interactions/bulk/",
        body=b"[]",
        headers={
            "Host": "crm.example.com:8443",
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
        },
    )["headers"]
    assert headers["host"] == "crm.example.com:8443"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    proxies = int(env_example("TRUSTED_PROXY_COUNT")) + 1
    assert seen_by_the_app(headers["x-forwarded-for"], proxies) == "203.0.113.7"


def test_the_proxys_health_check_is_answered_by_nginx_itself(proxy: Proxy) -> None:
    status, body = proxy.request("GET", "/proxy-healthz")
    assert (status, body) == (200, b"ok\n")
