"""The database restarts under a running app: every server connection is cut between two
requests, and the next request still succeeds, with no restart of the app."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from crm.services import api_key_create, integration_create
from interactions.models import Interaction
from tests.factories import BranchFactory
from tests.faults.conftest import (
    BROKER,
    WAIT_SECONDS,
    admin_connection,
    database_url,
    needs_postgres,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]


def start_app(log: Any) -> subprocess.Popen[bytes]:
    """The app as deployed: gunicorn, one sync worker, the production settings (so the
    database settings of crm.settings.base), on pytest's test database."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(Path.home()),
        "DJANGO_SETTINGS_MODULE": "crm.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        # Production refuses a per-process cache; files are shared by the worker's processes.
        "CACHE_URL": f"filecache://{tempfile.gettempdir()}/crm-restart-test-cache",
    }
    command = [
        sys.executable, "-m", "gunicorn", "crm.wsgi:application", "--bind", "127.0.0.1:0",
        "--workers", "1", "--log-level", "info",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_app_reconnects_after_the_database_dropped_its_connections() -> None:
    BranchFactory.create(code="db-1")
    integration = integration_create(
        name="restart", scopes=["interactions:read", "interactions:write"]
    )
    _, key = api_key_create(integration=integration)
    # Behind the TLS-terminating proxy production expects.
    headers = {"Authorization": f"Api-Key {key}", "X-Forwarded-Proto": "https"}

    with tempfile.TemporaryFile() as log:
        app = start_app(log)

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-3000:]

        try:

            def address() -> str | None:
                if app.poll() is not None:
                    pytest.fail(f"gunicorn exited:\n{output()}")
                found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", output())
                return found.group(1) if found else None

            base = wait_until(address, "gunicorn to listen")
            api = f"{base}/api/v1/interactions/"
            first = requests.get(api, headers=headers, timeout=WAIT_SECONDS)
            assert first.status_code == 200, first.text

            with admin_connection() as admin:  # "the database restarted"
                admin.autocommit = True
                cut = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
            connection.close()  # this test's own session was among them
            assert len(cut) >= 2  # the app's, kept open between requests, and this test's

            call = {
                "branch": "db-1",
                "channel": "phone",
                "occurred_at": "2026-11-02T09:00:00Z",
                "outcome": "resolved",
            }
            second = requests.post(api, json=call, headers=headers, timeout=WAIT_SECONDS)
            assert second.status_code == 201, f"{second.status_code}: {output()}"
            third = requests.get(api, headers=headers, timeout=WAIT_SECONDS)
            assert third.status_code == 200, third.text
            assert Interaction.objects.filter(branch__code="db-1").count() == 1
        finally:
            app.terminate()
            try:
                app.wait(timeout=WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait(timeout=WAIT_SECONDS)
