"""In a real browser that asks for Indonesian: the comparison and a branch page speak it,
show shares with a decimal comma, and still draw their charts without a script error (the
charts' data stays machine-readable JSON)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from branches.models import User

pytestmark = pytest.mark.usefixtures("live_demo")


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """The browser's own language is Indonesian (its Accept-Language follows)."""
    return {**browser_context_args, "locale": "id-ID"}


def signed_in(context: BrowserContext, base_url: str, username: str) -> None:
    """A session for the user, handed to the browser (the sign-in form is not under test)."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])


def test_the_comparison_and_a_branch_page_in_indonesian_draw_their_charts(
    site: Page, context: BrowserContext, live_server: Any
) -> None:
    signed_in(context, live_server.url, "rm.east")
    site.goto("/comparison/?period=2026-11-09", wait_until="load")
    expect(site.locator("html")).to_have_attribute("lang", "id")
    expect(site.get_by_role("heading", level=1)).to_have_text("Perbandingan cabang: East")
    expect(site.get_by_text("Minggu ISO mulai 9 Nov 2026")).to_be_visible()
    row = site.locator("#comparison tbody tr", has_text="eas-04")
    complaints = row.locator("td").nth(3)
    expect(complaints.locator(".cell")).to_have_class(re.compile("status-alarm"))
    expect(complaints).to_contain_text("alarm (melewati 99,8 %)")
    expect(complaints.locator(".cell > span").first).to_have_text(re.compile(r"^\d+,\d %$"))
    index = site.locator("[data-chart='index-data']")
    expect(index.locator(".main-svg").first).to_be_visible()  # drawn by the local plotly.js
    expect(index.locator(".scatterlayer .trace")).to_have_count(1)
    expect(index.locator("text.ytitle")).to_have_text("Sel di dalam batas sejawat (%)")

    with site.expect_navigation(wait_until="load"):
        row.get_by_role("link", name="eas-04").click()
    expect(site.get_by_role("heading", name="Kasus terbuka")).to_be_visible()
    trend = site.locator("[data-chart='trend-complaint_rate']")
    expect(trend.locator(".main-svg").first).to_be_visible()
    expect(trend.locator(".legend")).to_contain_text("Batas 99,8 %")
    expect(trend.locator(".scatterlayer .trace")).to_have_count(6)
    cusum = site.locator("[data-chart='cusum-complaint_rate']")
    expect(cusum.locator(".main-svg").first).to_be_visible()
    expect(cusum.locator(".legend")).to_contain_text("Ambang h")
    expect(site.get_by_text("CUSUM (pergeseran): memberi sinyal pada").first).to_be_visible()
