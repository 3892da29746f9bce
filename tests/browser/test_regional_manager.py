"""In a real browser: a regional manager finds the planted branch in the comparison and
the funnel plot, and works its case to resolved; an agent cannot reach other branches."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from consistency.models import Case, Flag
from tests.browser.conftest import nav, sign_in

pytestmark = pytest.mark.usefixtures("live_demo")


def test_a_regional_manager_finds_the_divergent_branch_and_resolves_its_case(site: Page) -> None:
    sign_in(site, "rm.east")
    nav(site, "Comparison")
    # Sort by complaint rate, worst first: the planted branch tops the table, in alarm.
    for _ in ("ascending", "descending"):
        with site.expect_navigation(wait_until="load"):
            site.get_by_role("link", name=re.compile("^Complaint rate")).click()
    expect(site.locator("th[aria-sort='descending']")).to_contain_text("Complaint rate")
    first_row = site.locator("#comparison tbody tr").first
    expect(first_row.get_by_role("rowheader")).to_contain_text("eas-04")
    complaint_cell = first_row.locator("td").nth(3)
    expect(complaint_cell.locator(".cell")).to_have_class(re.compile("status-alarm"))
    expect(complaint_cell).to_contain_text("alarm (beyond 99.8 %)")

    site.goto("/funnel/?metric=complaint_rate")
    plot = site.locator("[data-chart='funnel-data']")
    expect(plot.locator(".main-svg").first).to_be_visible()  # drawn by the local plotly.js
    expect(plot.locator("text", has_text="eas-04")).to_have_count(1)
    expect(site.locator("table tbody tr").first).to_contain_text("eas-04")

    nav(site, "Cases")
    queue = site.locator("#cases tbody tr")
    expect(queue).to_have_count(1)  # one divergence, one piece of work
    expect(queue.first).to_contain_text("eas-04")
    queue.first.get_by_role("link", name="Complaint rate").click()
    expect(site.get_by_role("heading", level=1)).to_contain_text("Complaint rate at eas-04")
    expect(site.locator("#case-summary")).to_contain_text("against a standard of 2.0 %")
    expect(site.locator("[data-chart='case-trend-all'] .main-svg").first).to_be_visible()
    expect(site.locator("#case-flags tbody tr").first).to_be_visible()

    site.get_by_role("button", name="Acknowledge").click()
    expect(site.locator("#case-status")).to_have_text("Acknowledged")
    site.get_by_label("Owner").select_option("bm.eas-04")
    due = timezone.localdate() + timedelta(days=10)
    site.get_by_label("Due date").fill(due.isoformat())
    site.get_by_label("What will be done").fill("Coach the counter staff on the cash moment")
    site.get_by_role("button", name="Save plan").click()
    expect(site.locator("#case-status")).to_have_text("Action planned")
    site.get_by_role("button", name="The plan is in place: monitor").click()
    expect(site.locator("#case-status")).to_have_text("Monitoring")
    site.get_by_label("What was done").fill("Coaching done; complaints back to normal")
    site.get_by_role("button", name="Close").click()
    expect(site.locator("#case-status")).to_have_text("Resolved")
    history = site.locator("#case-history")
    expect(history).to_contain_text("rm.east · web UI · 127.0.0.1 · acknowledge")
    expect(history).to_contain_text("Coaching done")
    case = Case.objects.get(pk=int(site.url.rstrip("/").split("/")[-1]))
    assert case.status == "resolved"
    assert case.owner is not None
    assert case.owner.username == "bm.eas-04"


def test_an_agent_cannot_open_another_branchs_pages_or_exports(site: Page) -> None:
    sign_in(site, "agent.cen-02.1")
    other = Flag.objects.filter(branch__code="eas-04").first()
    other_case = Case.objects.filter(branch__code="eas-04").first()
    assert other is not None
    assert other_case is not None
    for path in [
        "/branches/eas-04/",
        "/branches/eas-04/?format=csv",
        "/interactions/?branch=eas-04",
        "/interactions/?branch=eas-04&format=csv",
        f"/flags/{other.pk}/",
        f"/cases/{other_case.pk}/",
    ]:
        response = site.request.get(path)
        assert response.status == 404, path
        assert "eas-04" not in response.text(), path
    site.goto("/comparison/")
    expect(site.locator("#comparison tbody")).to_contain_text("cen-02")
    expect(site.locator("#comparison tbody")).not_to_contain_text("eas-04")
