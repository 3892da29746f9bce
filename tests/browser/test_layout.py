"""At a laptop's 1280 x 900: the comparison fits without sideways scrolling, and the
charts show every axis label whole."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.browser.conftest import nav, sign_in

pytestmark = pytest.mark.usefixtures("live_demo")
LAPTOP: ViewportSize = {"width": 1280, "height": 900}


def test_the_comparison_fits_a_laptop_screen(site: Page) -> None:
    site.set_viewport_size(LAPTOP)
    sign_in(site, "rm.east")
    nav(site, "Comparison")
    table = site.locator("#comparison")
    expect(table).to_be_visible()
    width = table.evaluate("t => ({table: t.scrollWidth, room: t.parentElement.clientWidth})")
    assert width["table"] <= width["room"], "the comparison scrolls sideways"
    nps = site.get_by_role("columnheader", name=re.compile("NPS"))
    expect(nps.locator("abbr")).to_have_attribute("title", "Net promoter score")
    box = nps.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= LAPTOP["width"]
    assert box["y"] + box["height"] <= LAPTOP["height"]


LAST_TICK_OVERFLOW = """plot => {
    const svg = plot.querySelector(".main-svg").getBoundingClientRect();
    const ticks = [...plot.querySelectorAll(".xtick text")];
    const last = ticks[ticks.length - 1].getBoundingClientRect();
    const first = ticks[0].getBoundingClientRect();
    return {ticks: ticks.length, right: last.right - svg.right, left: svg.left - first.left};
}"""


@pytest.mark.parametrize("width", [1280, 760])
@pytest.mark.parametrize(
    ("path", "chart"),
    [
        ("/branches/eas-04/", "trend-complaint_rate"),
        ("/branches/eas-04/", "cusum-complaint_rate"),
        ("/comparison/", "index-data"),
    ],
)
def test_the_charts_show_their_last_axis_label_whole(
    site: Page, width: int, path: str, chart: str
) -> None:
    site.set_viewport_size({"width": width, "height": 900})
    sign_in(site, "rm.east")
    site.goto(path)
    plot = site.locator(f"[data-chart='{chart}']")
    plot.scroll_into_view_if_needed()
    expect(plot.locator(".xtick text").first).to_be_visible()
    overflow = plot.evaluate(LAST_TICK_OVERFLOW)
    assert overflow["ticks"] >= 2
    assert overflow["right"] <= 0, "the last x label is cut off at the right"
    assert overflow["left"] <= 0, "the first x label is cut off at the left"
