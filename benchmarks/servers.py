"""The app as benchmarks/load.py serves it: gunicorn pools on 127.0.0.1 and, as in production
(docker-compose.yml), Debian's nginx in front of them running deploy/nginx.conf.

The committed nginx.conf is not edited: a copy gets what ties it to compose swapped for local
stand-ins (the two upstream servers, the listen line, the worker user and scratch paths), the
same transformation tests/test_proxy_routing.py makes (kept here as a copy: benchmarks do not
import the tests).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from benchmarks.bulk_sync import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class PoolSpec:
    """One gunicorn pool: docker-compose.yml's web or api service, or the old single pool."""

    name: str
    workers: int
    threads: int
    timeout: int
    graceful_timeout: int | None = None

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.threads != 1 else ""
        return f"{self.name}: {self.workers} workers{threads}, timeout {self.timeout} s"

    def command(self, port: int) -> list[str]:
        graceful = (
            []
            if self.graceful_timeout is None
            else ["--graceful-timeout", str(self.graceful_timeout)]
        )
        return [
            str(ROOT / ".venv/bin/gunicorn"),
            "crm.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--timeout",
            str(self.timeout),
            *graceful,
            "--worker-tmp-dir",
            "/dev/shm",  # noqa: S108 - as in production (docker-compose.yml)
            "--log-level",
            "warning",
        ]


@dataclass
class Stack:
    """What one run started. Clients use ``base`` only: nginx's address, or the single pool's."""

    base: str = ""
    description: str = ""
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    app_logs: list[Path] = field(default_factory=list)  # scanned for tracebacks
    pool_ports: dict[str, int] = field(default_factory=dict)
    access_log: Path | None = None
    error_log: Path | None = None

    def stop(self) -> None:
        """The proxy first (it was started last), then the pools."""
        for _, process in reversed(self.processes):
            stop_process(process)


def stop_process(process: subprocess.Popen[Any] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def spawn(stack: Stack, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    stack.processes.append((name, process))


def wait_until_up(stack: Stack, url: str, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for name, process in stack.processes:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode}; see {log}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not answer {url} within {START_TIMEOUT:.0f} s; see {log}")


def start_pools(stack: Stack, pools: list[PoolSpec], env: dict[str, str], out: Path) -> None:
    """Every pool spawned at once, then each waited for on its own /healthz."""
    for pool in pools:
        port = free_port()
        log = out / f"{pool.name}.log"
        spawn(stack, f"gunicorn {pool.name}", pool.command(port), env, log)
        stack.pool_ports[pool.name] = port
        stack.app_logs.append(log)
    for pool in pools:
        port = stack.pool_ports[pool.name]
        log = out / f"{pool.name}.log"
        wait_until_up(stack, f"http://127.0.0.1:{port}/healthz", f"gunicorn {pool.name}", log)


def start_single_pool(pool: PoolSpec, env: dict[str, str], out: Path) -> Stack:
    """The old way: one pool serves every route, clients connect to it directly."""
    stack = Stack()
    try:
        start_pools(stack, [pool], env, out)
    except BaseException:
        stack.stop()
        raise
    stack.base = f"http://127.0.0.1:{stack.pool_ports[pool.name]}"
    stack.description = f"one gunicorn pool, no proxy ({pool.describe()}) on {stack.base}"
    return stack


def start_behind_proxy(web: PoolSpec, api: PoolSpec, env: dict[str, str], out: Path) -> Stack:
    """As production: the web and api pools, nginx (deploy/nginx.conf) in front of both."""
    stack = Stack()
    try:
        start_pools(stack, [web, api], env, out)
        nginx = nginx_binary()
        scratch = out / "nginx"
        scratch.mkdir(parents=True, exist_ok=True)
        port = free_port()
        conf = scratch / "nginx.conf"
        conf.write_text(
            local_nginx_conf(
                NGINX_CONF.read_text(encoding="utf-8"),
                listen=port,
                web=stack.pool_ports[web.name],
                api=stack.pool_ports[api.name],
                scratch=scratch,
            ),
            encoding="utf-8",
        )
        stack.access_log, stack.error_log = out / "nginx-access.log", out / "nginx-error.log"
        command = [
            nginx,
            "-p",
            f"{scratch}/",
            "-c",
            str(conf),
            "-e",
            str(stack.error_log),
            "-g",
            f"daemon off; pid {scratch / 'nginx.pid'};",
        ]
        with stack.access_log.open("ab") as access, stack.error_log.open("ab") as errors:
            stack.processes.append(
                ("nginx", subprocess.Popen(command, cwd=ROOT, stdout=access, stderr=errors))
            )
        stack.base = f"http://127.0.0.1:{port}"
        wait_until_up(stack, f"{stack.base}/proxy-healthz", "nginx", stack.error_log)
    except BaseException:
        stack.stop()
        raise
    ports = stack.pool_ports
    stack.description = (
        f"two gunicorn pools behind nginx: {web.describe()} on :{ports[web.name]}, "
        f"{api.describe()} on :{ports[api.name]}; {nginx_version(nginx)} running "
        f"deploy/nginx.conf (local copy: {conf}) on {stack.base}, the only address clients use"
    )
    return stack


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise SystemExit(
            "nginx is not installed (production runs the pools behind deploy/nginx.conf): "
            "run scripts/ensure_test_tools.sh or 'sudo apt-get install nginx', "
            "or pass --single-pool."
        )
    return found


def nginx_version(binary: str) -> str:
    result = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    return result.stderr.strip().removeprefix("nginx version: ") or "nginx"


def local_nginx_conf(conf: str, *, listen: int, web: int, api: int, scratch: Path) -> str:
    """deploy/nginx.conf with the compose-only parts replaced, each of which must match
    exactly once (the benchmarks and tests/test_proxy_routing.py run it so)."""

    def swap(pattern: str, replacement: str, text: str) -> str:
        swapped, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        if count != 1:
            raise SystemExit(
                f"deploy/nginx.conf has {count} lines matching {pattern!r}, not one: "
                "update benchmarks/servers.py with its new shape"
            )
        return swapped

    # The user directive only applies, and is only resolvable, when started as root.
    conf = swap(r"^\s*user\s+[^;]+;", "user root;" if os.geteuid() == 0 else "", conf)
    conf = swap(r"^\s*listen\s+80;", f"listen 127.0.0.1:{listen};", conf)
    conf = swap(r"^\s*server\s+web:8000\b[^;]*;", f"server 127.0.0.1:{web};", conf)
    conf = swap(r"^\s*server\s+api:8000\b[^;]*;", f"server 127.0.0.1:{api};", conf)
    temp_paths = "".join(
        f"    {kind}_temp_path {scratch / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return swap(r"^http \{\n", f"http {{\n{temp_paths}", conf)


ACCESS_LINE = re.compile(
    r'^\S+ "(?P<method>\S+) (?P<path>\S+)[^"]*" (?P<status>\d{3}) \d+ '
    r"pool=(?P<pool>\S+) time=(?P<time>[\d.]+) upstream_time=(?P<upstream>\S+)"
)


def proxy_report(stack: Stack) -> tuple[list[str], int]:
    """Per pool, what nginx's access log saw (requests, 5xx, p95 at the proxy and upstream),
    and how many requests reached the wrong pool (an /api/ path on web or another on api)."""
    if stack.access_log is None or stack.error_log is None:
        return [], 0
    by_port = {f"127.0.0.1:{port}": name for name, port in stack.pool_ports.items()}
    times: dict[str, list[float]] = defaultdict(list)
    upstream: dict[str, list[float]] = defaultdict(list)
    failed: dict[str, int] = defaultdict(int)
    misrouted = 0
    for line in stack.access_log.read_text(errors="replace").splitlines():
        match = ACCESS_LINE.match(line)
        if match is None:
            continue
        pool = by_port.get(match["pool"].split(",")[0], match["pool"])
        if pool in by_port.values() and (pool == "api") != match["path"].startswith("/api/"):
            misrouted += 1
        times[pool].append(float(match["time"]) * 1000)
        with_upstream = [float(t) for t in re.findall(r"[\d.]+", match["upstream"])]
        upstream[pool].append(sum(with_upstream) * 1000)
        failed[pool] += match["status"].startswith("5")
    lines = []
    for pool in sorted(times):
        proxy_times, pool_times = sorted(times[pool]), sorted(upstream[pool])
        lines.append(
            f"  nginx -> {pool}: {len(proxy_times):,} requests, {failed[pool]} 5xx; p95 "
            f"{p95(proxy_times):.0f} ms at the proxy, {p95(pool_times):.0f} ms in the pool"
        )
    problems = [
        ln
        for ln in stack.error_log.read_text(errors="replace").splitlines()
        if re.search(r"\[(error|crit|alert|emerg)\]", ln)
    ]
    lines.append(
        f"  nginx error log {stack.error_log}: {len(problems)} error lines"
        + (f", first: {problems[0][:200]}" if problems else "")
    )
    lines.append(
        f"  routing: {misrouted} requests reached the wrong pool"
        if misrouted
        else "  routing: every /api/ request reached api, every other one web"
    )
    return lines, misrouted


def p95(ordered: list[float]) -> float:
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else math.nan
