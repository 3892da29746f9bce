"""Settings, health check and the Celery wiring."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from crm.celery import app
from crm.tasks import ping

ROOT = Path(__file__).resolve().parent.parent


def production_check(**env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "crm.settings.production",
        "DATABASE_URL": "sqlite:////tmp/crm-deploy-check.sqlite3",
        "DJANGO_ALLOWED_HOSTS": "crm.example.com",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "CACHE_URL": "redis://127.0.0.1:6379/1",
    }
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={k: v for k, v in base.items() if v},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_pass_the_deploy_check() -> None:
    result = production_check()
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "short"}, "50+ characters"),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS"),
        ({"CACHE_URL": ""}, "CACHE_URL"),
        ({"CACHE_URL": "locmemcache://"}, "shared by all workers"),
    ],
)
def test_production_refuses_unsafe_configuration(env: dict[str, str], message: str) -> None:
    result = production_check(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_deploy_check_refuses_a_per_process_cache() -> None:
    """Settings other than production's (which refuse it at start-up) still fail the check."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "caches"],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "crm.settings.local",
            "DATABASE_URL": "sqlite:////tmp/crm-deploy-check.sqlite3",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "crm.E001" in result.stderr


def test_health_check_reports_the_database(db: None) -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_api_schema_and_offline_docs_are_served(db: None) -> None:
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory.create())
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/").content.decode()
    assert "drf_spectacular_sidecar" in docs  # Swagger UI from local static files, no CDN
    assert "cdn" not in docs.lower()


@pytest.mark.celery
def test_tasks_round_trip_through_the_configured_broker() -> None:
    """With CELERY_BROKER_URL set (CI), a real worker consumes the task from the broker;
    without one (the embedded demo), tasks run in-process."""
    if not settings.CELERY_BROKER_URL:
        assert app.conf.task_always_eager
        assert ping.delay().get(timeout=5) == "pong"
        return
    from celery.contrib.testing.worker import start_worker

    assert not app.conf.task_always_eager
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = ping.delay()
        assert result.get(timeout=20) == "pong"
        assert result.status == "SUCCESS"


DEMO_PROBE = """
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
backend = settings.EMAIL_BACKEND
setup_test_environment()
response = Client().get("/no-such-page/", HTTP_HOST="127.0.0.1")
page = response.content.decode()
print(response.status_code, "URLconf" in page, "Not found" in page)
print(backend)
"""


def test_the_demo_serves_the_friendly_not_found_page_and_files_its_e_mails() -> None:
    """make run's settings: a 404 is the page users meet, not Django's list of every URL
    pattern, and e-mails go to var/mail/ instead of burying the server's start-up line."""
    result = subprocess.run(
        [sys.executable, "-c", DEMO_PROBE],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "crm.settings.local",
            "DATABASE_URL": "sqlite:////tmp/crm-demo-probe.sqlite3",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    status_line, backend = result.stdout.split("\n")[:2]
    assert status_line == "404 False True"
    assert backend == "django.core.mail.backends.filebased.EmailBackend"


def test_make_run_points_the_demo_links_at_its_own_port() -> None:
    """The survey and case links the demo prints use the PORT make run serves on."""
    result = subprocess.run(
        [shutil.which("make") or "make", "-n", "run", "PORT=8123"],
        cwd=ROOT,
        # As a newcomer's shell would: not inside another make, no URL of its own.
        env={
            k: v
            for k, v in os.environ.items()
            if k not in {"SURVEY_BASE_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert "runserver 127.0.0.1:8123" in result.stdout
    assert "http://127.0.0.1:8123/" in result.stdout
    assert "8000" not in result.stdout


def test_the_image_copies_every_app_the_settings_install() -> None:
    """The production image holds every project app INSTALLED_APPS names (it once lacked
    feedback/, so collectstatic and start-up would have failed in the container)."""
    from django.conf import settings

    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.MULTILINE))
    ours = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()
    }
    assert ours
    assert ours - copied == set()
    assert "common" in copied
