"""Issue 15: screenshots of the pages staff use most, in English and Indonesian, on a
desktop (1280 px) and a phone (390 px), written to var/test-artifacts/ for a person to look
at. Each one also checks what a user would notice: the page is in the language chosen, a
word of that language shows, and on the phone the page does not scroll sideways (a wide
table scrolls inside its own frame).

English comes from the browser's Accept-Language; Indonesian is chosen with the language
switcher in the top bar, as a user would (it is then saved on their profile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.usefixtures("live_demo")

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
WIDTHS = {1280: 900, 390: 844}

# Words a user sees on every staff page (the navigation bar), per language. Indonesian:
# only what main already translates (the pages themselves are being translated).
NAV_WORDS = {"en": ["Customers", "Cases", "Sign out"], "id": ["Pelanggan", "Kasus", "Keluar"]}


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A browser set to English (its Accept-Language)."""
    return {**browser_context_args, "locale": "en-GB"}


def _choose_language(page: Page, name: str) -> None:
    """Pick a language in the top bar's switcher and press its button."""
    page.get_by_label("Language").select_option(label=name)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Change language").click()


def _shoot(page: Page, name: str, path: str, language: str, heading: str | None) -> list[str]:
    """Open the page at each width, check it and save a full-page screenshot. Returns the
    screenshots written."""
    written = []
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(path, wait_until="networkidle")
        expect(page.locator("html")).to_have_attribute("lang", language)
        for word in NAV_WORDS[language]:
            expect(page.get_by_text(word, exact=True).first).to_be_visible()
        if heading is not None:
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        if width < 800:
            scroll, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert scroll <= inner, f"{path} in {language} at {width} px scrolls sideways"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"{name}-{language}-{width}.png"
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 0
        written.append(target.name)
    return written


def test_a_regional_managers_pages_in_both_languages_on_desktop_and_phone(site: Page) -> None:
    sign_in(site, "rm.east")
    pages = {
        "home": ("/", {"en": "East: week of", "id": None}),
        "comparison": ("/comparison/", {"en": "Branch comparison: East", "id": None}),
        "cases": ("/cases/", {"en": "Cases", "id": None}),
    }
    written = []
    for language in ("en", "id"):
        if language == "id":
            _choose_language(site, "Bahasa Indonesia")
            expect(site.locator("html")).to_have_attribute("lang", "id")
        for name, (path, headings) in pages.items():
            written += _shoot(site, name, path, language, headings[language])
    assert len(written) == 12


def test_an_agents_log_form_in_both_languages_on_desktop_and_phone(site: Page) -> None:
    sign_in(site, "agent.cen-02.1")
    written = _shoot(site, "log", "/log/", "en", "Log an interaction")
    _choose_language(site, "Bahasa Indonesia")
    written += _shoot(site, "log", "/log/", "id", "Catat interaksi")
    assert written == ["log-en-1280.png", "log-en-390.png", "log-id-1280.png", "log-id-390.png"]
