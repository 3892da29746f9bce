"""Browser tests: Playwright drives Debian's Chromium (never a downloaded browser) against
the live test server. Every request the page makes must stay on this machine."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import BrowserContext, Page, Route

from consistency.defaults import standard_create
from consistency.models import Standard, Target
from consistency.recompute import consistency_recompute
from interactions.demo import DEMO_PASSWORD
from tests.web.conftest import DEMO_END

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself (not by the server) are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(
            f"Chromium is needed at {CHROMIUM} for the browser tests: "
            "apt-get install chromium (or set CHROMIUM_PATH)."
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def foreign_requests(context: BrowserContext) -> Iterator[list[str]]:
    """Requests the pages tried to send off this machine (refused); a test ends with none."""
    refused: list[str] = []

    def guard(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    yield refused
    assert refused == [], f"requests left localhost: {refused}"


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any], live_server: Any) -> dict[str, Any]:
    """Pages open relative to the live server, in a tablet-sized window."""
    return {
        **browser_context_args,
        "base_url": live_server.url,
        "viewport": {"width": 1024, "height": 900},
    }


@pytest.fixture
def site(page: Page, foreign_requests: list[str]) -> Iterator[Page]:
    """The page, failing the test on any JavaScript error or anything the Content
    Security Policy blocked (an inline script, a style or a source it does not allow)."""
    errors: list[str] = []
    blocked: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.set_default_timeout(15_000)
    yield page
    assert errors == [], f"JavaScript errors: {errors}"
    assert blocked == [], f"blocked by the Content Security Policy: {blocked}"


@pytest.fixture
def live_demo(transactional_db: None, tmp_path: Path) -> None:
    """The small demo chain, committed so the live server sees it. Tables are emptied
    between such tests, the standard of the data migration too: it is put back first."""
    if not Standard.objects.exists():
        standard_create(Standard, Target)
    call_command(
        "seed_demo", branches=8, weeks=8, interactions=12000, end=DEMO_END,
        truth_file=tmp_path / "truth.json", verbosity=0,
    )  # fmt: skip
    consistency_recompute()


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def nav(page: Page, link: str) -> None:
    """Follow a link of the main navigation bar, and wait until the new page (its deferred
    scripts too) has loaded: typing into it earlier would go unheard by htmx."""
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name=link, exact=True
        ).click()
