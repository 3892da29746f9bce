#!/usr/bin/env python3
"""Consistency checks for docker-compose.yml that the compose JSON schema cannot express.

Fails (exit 1) when:
  * a service's depends_on names a service that is not defined, waits for one to be healthy
    that has no health check, or waits for one to complete that restarts when it has;
  * a service mounts a named volume that is not declared under the top-level volumes;
  * a ${VAR} or ${VAR:?message} interpolation (one without a default) names a variable that
    .env.example does not set;
  * an env_file does not exist (with .env.example standing in for .env);
  * a file or directory bind-mounted from the repository (./deploy/nginx.conf) does not exist;
  * an nginx configuration mounted under /etc/nginx/ sends requests to a host (an upstream's
    server, a proxy_pass) that is not a service of the file;
  * the settings read an environment variable (env("NAME"), env.bool("NAME"), ...) that
    .env.example does not document (a commented-out NAME=... line counts as documentation).

Usage: scripts/check_compose.py [COMPOSE_FILE] [--env-example PATH] [--settings PATH ...]
Paths default to the files in the repository root (the parent of scripts/).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COMPOSE = REPO_ROOT / "docker-compose.yml"
DEFAULT_ENV_EXAMPLE = REPO_ROOT / ".env.example"
DEFAULT_SETTINGS = (
    REPO_ROOT / "crm" / "settings" / "base.py",
    REPO_ROOT / "crm" / "settings" / "production.py",
)

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
ASSIGNMENT = re.compile(rf"^\s*(?:export\s+)?(?P<name>{NAME})\s*=")
COMMENTED_ASSIGNMENT = re.compile(rf"^\s*#\s*(?:export\s+)?(?P<name>{NAME})\s*=")
BRACED_BODY = re.compile(rf"(?P<name>{NAME})(?P<op>:?[-?+])?(?P<rest>.*)", re.DOTALL)
BARE_NAME = re.compile(NAME)
# Operators that give the expression a value when the variable is unset.
OPERATORS_WITH_FALLBACK = {":-", "-", ":+", "+"}
# Restart policies that start a one-shot service again after it has exited 0.
RESTARTS_AFTER_SUCCESS = {"always", "unless-stopped"}
NGINX_COMMENT = re.compile(r"#.*$", re.MULTILINE)
NGINX_UPSTREAM = re.compile(r"\bupstream\s+(?P<name>[\w.-]+)\s*\{")
# `server host:port ...;` inside an upstream block (a server block has no address after it).
NGINX_UPSTREAM_SERVER = re.compile(r"^\s*server\s+(?P<host>[\w.-]+):\d+", re.MULTILINE)
NGINX_PROXY_PASS = re.compile(r"^\s*proxy_pass\s+https?://(?P<host>[\w.-]+)", re.MULTILINE)


def load_env_example(path: Path) -> tuple[set[str], set[str]]:
    """Return (names set by the file, names set or shown commented-out)."""
    defined: set[str] = set()
    documented: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := ASSIGNMENT.match(line):
            defined.add(match["name"])
            documented.add(match["name"])
        elif match := COMMENTED_ASSIGNMENT.match(line):
            documented.add(match["name"])
    return defined, documented


def interpolations(text: str) -> Iterator[tuple[str, bool]]:
    """Yield (variable, has_fallback) for each compose interpolation in text; $$ is a literal $."""
    i = 0
    while i < len(text):
        if text[i] != "$":
            i += 1
            continue
        following = text[i + 1 : i + 2]
        if following == "$":
            i += 2
        elif following == "{":
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if match := BRACED_BODY.fullmatch(text[i + 2 : j - 1]):
                yield match["name"], match["op"] in OPERATORS_WITH_FALLBACK
                yield from interpolations(match["rest"])  # ${A:-${B}} also reads B
            i = j
        elif match := BARE_NAME.match(text, i + 1):
            yield match.group(), False
            i = match.end()
        else:
            i += 1


def strings(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """Yield (location, value) for every string value in a parsed YAML document."""
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from strings(value, f"{where}[{index}]")


def settings_env_reads(path: Path) -> Iterator[tuple[str, int]]:
    """Yield (variable, line) for env("X"), env.<cast>("X"), os.getenv("X"), os.environ.get("X")."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        func = node.func
        reads_env = (
            (isinstance(func, ast.Name) and func.id in {"env", "getenv"})
            or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "env"
                and func.attr != "read_env"
            )
            or (isinstance(func, ast.Attribute) and func.attr == "getenv")
            or (
                isinstance(func, ast.Attribute)
                and func.attr == "get"
                and isinstance(func.value, ast.Attribute)
                and func.value.attr == "environ"
            )
        )
        if reads_env:
            yield first.value, node.lineno


def named_volumes(service: dict[str, Any]) -> Iterator[str]:
    """Yield the named volumes a service mounts (bind mounts and anonymous volumes are skipped)."""
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            source = entry.get("source")
            if entry.get("type", "volume") == "volume" and isinstance(source, str) and source:
                yield source
        elif isinstance(entry, str) and ":" in entry:
            source = entry.split(":", 1)[0]
            if source and not source.startswith((".", "/", "~", "$")) and "/" not in source:
                yield source


def bind_mounts(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield (host path, container path) for each bind mount of a path relative to the file."""
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            source, target = entry.get("source"), entry.get("target")
            if entry.get("type") == "bind" and isinstance(source, str) and source.startswith("."):
                yield source, str(target or "")
        elif isinstance(entry, str) and entry.startswith(".") and ":" in entry:
            source, target, *_ = entry.split(":")
            yield source, target


def nginx_hosts(config: str) -> Iterator[str]:
    """Yield the host names an nginx configuration sends requests to (IP addresses skipped)."""
    config = NGINX_COMMENT.sub("", config)
    upstreams = {match["name"] for match in NGINX_UPSTREAM.finditer(config)}
    hosts = [match["host"] for match in NGINX_UPSTREAM_SERVER.finditer(config)]
    hosts += [
        match["host"]
        for match in NGINX_PROXY_PASS.finditer(config)
        if match["host"] not in upstreams
    ]
    for host in hosts:
        if not re.fullmatch(r"[\d.]+", host):
            yield host


def env_files(service: dict[str, Any]) -> Iterator[str]:
    """Yield the env_file paths a service requires (entries with required: false are skipped)."""
    value = service.get("env_file")
    entries = value if isinstance(value, list) else [value] if value else []
    for entry in entries:
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict) and entry.get("required", True) and "path" in entry:
            yield str(entry["path"])


def check(compose_path: Path, env_example: Path, settings: list[Path]) -> tuple[list[str], int]:
    """Return (problems, number of services)."""
    try:
        document = yaml.safe_load(compose_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        return [f"cannot load {compose_path}: {error}"], 0
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        return [f"{compose_path}: no top-level 'services' mapping"], 0
    try:
        defined, documented = load_env_example(env_example)
    except OSError as error:
        return [f"cannot read {env_example}: {error}"], 0

    problems: list[str] = []
    services: dict[str, Any] = document["services"]
    declared_volumes = set(document.get("volumes") or {})
    compose_dir = compose_path.resolve().parent

    for name, service in services.items():
        if not isinstance(service, dict):
            problems.append(f"services.{name}: expected a mapping")
            continue
        depends_on = service.get("depends_on") or []
        for dependency in depends_on:  # a list of names or a mapping keyed by name
            if dependency not in services:
                problems.append(
                    f"services.{name}.depends_on: '{dependency}' is not a defined service"
                )
                continue
            spec = depends_on[dependency] if isinstance(depends_on, dict) else None
            condition = spec.get("condition") if isinstance(spec, dict) else None
            awaited = services[dependency] if isinstance(services[dependency], dict) else {}
            healthcheck = awaited.get("healthcheck") or {}
            if condition == "service_healthy" and (not healthcheck or healthcheck.get("disable")):
                problems.append(
                    f"services.{name}.depends_on: waits for '{dependency}' to be healthy, "
                    "but it has no health check"
                )
            if (
                condition == "service_completed_successfully"
                and awaited.get("restart") in RESTARTS_AFTER_SUCCESS
            ):
                problems.append(
                    f"services.{name}.depends_on: waits for '{dependency}' to complete, but its "
                    f"restart policy '{awaited['restart']}' starts it again when it does"
                )
        for volume in named_volumes(service):
            if volume not in declared_volumes:
                problems.append(
                    f"services.{name}.volumes: named volume '{volume}' is not declared "
                    "under the top-level 'volumes'"
                )
        for source, target in bind_mounts(service):
            path = (compose_dir / source).resolve()
            if not path.exists():
                problems.append(f"services.{name}.volumes: '{source}' -> {path} does not exist")
            elif path.is_file() and target.startswith("/etc/nginx/"):
                for host in nginx_hosts(path.read_text(encoding="utf-8")):
                    if host not in services:
                        problems.append(
                            f"{display(path)}: sends requests to '{host}', which is not a "
                            f"service of {compose_path.name}"
                        )
        for env_file in env_files(service):
            path = (compose_dir / env_file).resolve()
            if path == compose_dir / ".env":
                path = env_example.resolve()
            if not path.is_file():
                problems.append(f"services.{name}.env_file: '{env_file}' -> {path} does not exist")

    reported: set[str] = set()
    for where, value in strings(document, ""):
        for variable, has_fallback in interpolations(value):
            if not has_fallback and variable not in defined and variable not in reported:
                reported.add(variable)
                problems.append(
                    f"{where}: ${{{variable}}} has no default and is not set in {env_example.name}"
                )

    for settings_file in settings:
        try:
            reads = list(settings_env_reads(settings_file))
        except (OSError, SyntaxError) as error:
            problems.append(f"cannot parse {display(settings_file)}: {error}")
            continue
        for variable, line in reads:
            if variable not in documented:
                problems.append(
                    f"{display(settings_file)}:{line}: reads {variable}, which {env_example.name} "
                    "does not document"
                )
    return problems, len(services)


def display(path: Path) -> str:
    """A path relative to the repository root when inside it, else as given."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("compose", nargs="?", type=Path, default=DEFAULT_COMPOSE)
    parser.add_argument("--env-example", type=Path, default=DEFAULT_ENV_EXAMPLE)
    parser.add_argument(
        "--settings",
        type=Path,
        action="append",
        help="settings module to scan for env reads (repeatable; default: base.py, production.py)",
    )
    args = parser.parse_args(argv)
    settings: list[Path] = args.settings or list(DEFAULT_SETTINGS)

    problems, service_count = check(args.compose, args.env_example, settings)
    name = display(args.compose)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{name}: FAILED ({len(problems)} problem(s))", file=sys.stderr)
        return 1
    print(f"{name}: OK ({service_count} services)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
