"""Fuzz the whole API with schemathesis against a real server, every check on.

    .venv/bin/python scripts/fuzz_api.py [--examples 40] [--seed 1]

Recreates the PostgreSQL database ``crm_fuzz`` on 127.0.0.1 (or FUZZ_DATABASE_URL), seeds a
small demo chain, makes an API key with every scope, serves the app with gunicorn on
loopback (production-like: DEBUG off, recompute by beat, not after each write) and runs
``schemathesis run --checks all`` through its examples, coverage, fuzzing and stateful
phases. Prints schemathesis' summary and exits with its status (schema-valid input the
API's rules refuse, ST202, counts only with --accept-check). The suite runs a
repeatable subset of the same checks in-process (tests/api/test_openapi.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/crm_fuzz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=40, help="cases per operation and phase")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--port", type=int, default=8811)
    parser.add_argument(
        "--accept-check",
        action="store_true",
        help="also fail on schema-valid input refused with 400 (an unknown branch code, a "
        "survey without a score): such refusals are the API's rules, not schema errors",
    )
    args = parser.parse_args()
    url = os.environ.get("FUZZ_DATABASE_URL", DEFAULT_DB)
    name = url.rsplit("/", 1)[1]
    server_url = url.rsplit("/", 1)[0]
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "crm.settings.local",
        "DJANGO_DEBUG": "false",
        "CONSISTENCY_RECOMPUTE_AFTER_WRITE": "false",
        "API_THROTTLE_RATE": "1000000/min",
    }

    def manage(*command: str) -> str:
        done = subprocess.run(
            [str(BIN / "python"), "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    print(f"recreating {name} and seeding a small chain …", flush=True)
    recreate = (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    for statement in recreate:
        subprocess.run(["psql", "-X", "-q", f"{server_url}/postgres", "-c", statement], check=True)
    manage("migrate", "--no-input", "-v0")
    manage(
        "seed_demo",
        "--branches=6",
        "--weeks=6",
        "--interactions=3000",
        "--truth-file=/tmp/crm_fuzz_truth.json",
    )
    scopes = "customers:read,customers:write,interactions:read,interactions:write"
    scopes += ",analytics:read,webhooks:manage,admin"
    output = manage("create_api_key", "--name", "fuzzer", "--scopes", scopes)
    key = next(line.strip() for line in output.splitlines() if line.strip().startswith("crm_"))

    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "crm.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            "3",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(ROOT / "var" / "fuzz_server.log", "w"),  # noqa: SIM115 - kept open for the server
    )
    try:
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(60):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.5)
        print(f"fuzzing {base} ({args.examples} examples per operation) …", flush=True)
        run = subprocess.run(
            [
                str(BIN / "schemathesis"),
                "run",
                f"{base}/api/schema/?format=json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Api-Key {key}",
                "--max-examples",
                str(args.examples),
                "--seed",
                str(args.seed),
                "--workers",
                "2",
                "--generation-database",
                "none",
                "--no-color",
                *([] if args.accept_check else ["--exclude-checks", "positive_data_acceptance"]),
            ],
            cwd=ROOT / "var",
            check=False,
        )
    finally:
        server.terminate()
        server.wait(10)
    tracebacks = (ROOT / "var" / "fuzz_server.log").read_text().count("Traceback")
    print(f"server tracebacks: {tracebacks} (log: var/fuzz_server.log)")
    return run.returncode or (1 if tracebacks else 0)


if __name__ == "__main__":
    sys.exit(main())
