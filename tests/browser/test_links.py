"""In a real browser, every role follows every link its pages offer, two clicks deep from
home: none is broken or forbidden, every export answers CSV, and the pager, the sort
headings and a filtered export do what their words say when clicked."""

from __future__ import annotations

import csv
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from playwright.sync_api import APIResponse, Page, Response, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.usefixtures("live_demo")
logger = logging.getLogger(__name__)

CAP = 300  # distinct URLs a role may reach two clicks deep; reaching it fails the test
SAMPLE = 6  # pages of one kind (a flag, a customer) fetched per role; the rest are counted
LINKS = """() => [...document.querySelectorAll("a[href]")].map(a => ({
    raw: a.getAttribute("href"), url: a.href, text: a.textContent.trim()}))"""
EXPORT_TEXT = re.compile(r"\b(csv|export)\b", re.IGNORECASE)
SIGN_IN_PATHS = ("/login/", "/admin/login/")


@dataclass(frozen=True)
class Link:
    url: str  # absolute, without its fragment
    text: str
    found_on: str

    @property
    def is_export(self) -> bool:
        return "format=csv" in self.url or bool(EXPORT_TEXT.search(self.text))

    def __str__(self) -> str:
        return f"{self.url} ('{self.text[:40]}' on {self.found_on})"


def url_key(url: str) -> str:
    """A URL by path and sorted query: the same link written two ways is one visit."""
    parts = urlsplit(url)
    return parts.path + "?" + urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def url_kind(url: str) -> str:
    """The key with record ids folded: every flag's page is one kind of page."""
    return re.sub(r"/\d+(?=/|\?)", "/<id>", url_key(url))


@dataclass
class Crawl:
    origin: str
    seen: dict[str, Link] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    sampled_out: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def links_on(self, page: Page) -> list[Link]:
        """The page's links worth following: same origin, not a fragment, not signing out."""
        found = []
        for a in page.evaluate(LINKS):
            raw, url = a["raw"], a["url"].split("#")[0]
            if "??" in raw:
                self.problems.append(f"{page.url}: href {raw!r} has '??'")
            if raw.startswith(("#", "mailto:", "tel:", "javascript:")):
                continue
            if not url.startswith(self.origin + "/") or "logout" in urlsplit(url).path:
                continue
            found.append(Link(url, a["text"], page.url))
        return found

    def admit(self, links: list[Link]) -> list[Link]:
        """The links not met before, at most SAMPLE of each kind."""
        new = []
        for link in links:
            key = url_key(link.url)
            if key in self.seen:
                continue
            kind = url_kind(link.url)
            if self.kinds[kind] >= SAMPLE:
                self.sampled_out += 1
                continue
            self.kinds[kind] += 1
            self.seen[key] = link
            new.append(link)
        assert len(self.seen) < CAP, f"the crawl reached its cap of {CAP} URLs at {link}"
        return new

    def check(self, link: Link, response: APIResponse | Response) -> None:
        self.statuses[response.status] += 1
        if response.status >= 400:
            self.problems.append(f"{link}: {response.status}")
            return
        if urlsplit(response.url).path in SIGN_IN_PATHS:
            self.problems.append(f"{link}: sent back to sign in")
        content_type = response.headers.get("content-type", "")
        if link.is_export and not content_type.startswith("text/csv"):
            self.problems.append(f"{link}: an export answered {content_type!r}")
        elif link.is_export and response.body()[:200].lstrip().startswith(b"<"):
            self.problems.append(f"{link}: an export answered HTML")


def crawl(site: Page, origin: str) -> Crawl:
    """Home; every link on it rendered in the browser (so a JavaScript error or a blocked
    script fails the test); every link on those fetched with the signed-in cookies."""
    result = Crawl(origin)
    site.goto("/")
    result.admit([Link(site.url.split("#")[0], "home", "sign-in")])
    second: list[Link] = []
    for link in result.admit(result.links_on(site)):
        if link.is_export:  # a download: nothing for the browser to render
            result.check(link, site.request.get(link.url))
            continue
        response = site.goto(link.url, wait_until="load")
        assert response is not None, str(link)
        result.check(link, response)
        if response.ok and response.headers.get("content-type", "").startswith("text/html"):
            second += result.admit(result.links_on(site))
    for link in second:
        result.check(link, site.request.get(link.url))
    return result


@pytest.mark.parametrize("username", ["agent.eas-04.1", "bm.eas-04", "rm.east", "admin"])
def test_every_link_two_clicks_from_home_works(site: Page, live_server: Any, username: str) -> None:
    started = time.monotonic()
    sign_in(site, username)
    site.wait_for_load_state("load")
    result = crawl(site, live_server.url)
    exports = [link for link in result.seen.values() if link.is_export]
    summary = (
        f"{username}: {len(result.seen)} URLs ({len(exports)} exports, {result.sampled_out} "
        f"more of a kind already seen left out), statuses {dict(result.statuses)}, "
        f"{time.monotonic() - started:.1f} s"
    )
    logger.info(summary)
    assert result.problems == [], summary
    assert sum(result.statuses.values()) == len(result.seen) - 1  # all but home, checked
    assert len(exports) >= 3, "the tables two clicks from home offer their exports"
    kinds = {urlsplit(link.url).path for link in result.seen.values()}
    assert {"/interactions/", "/customers/", "/cases/"} <= kinds
    if username == "admin":
        assert "/admin/" in kinds
        assert sum(path.startswith("/admin/") for path in kinds) > 10  # its models too
    else:
        assert not any(path.startswith("/admin/") for path in kinds)


def flag_links(site: Page) -> list[str]:
    return site.locator("#flags tbody tr td:nth-child(3) a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )


def test_the_pager_leads_to_the_next_page_of_flags_and_back(site: Page) -> None:
    sign_in(site, "admin")
    site.goto("/flags/")
    expect(site.locator("#flags caption")).to_have_text(re.compile(r"^\d{2,} flags$"))
    pager = site.get_by_role("navigation", name="Pages")
    expect(pager).to_contain_text("Page 1 of")
    first = flag_links(site)
    assert len(first) == 50

    with site.expect_navigation(wait_until="load"):
        pager.get_by_role("link", name="Older →").click()
    expect(pager).to_contain_text("Page 2 of")
    second = flag_links(site)
    assert second
    assert not set(first) & set(second), "page 2 repeats flags of page 1"

    with site.expect_navigation(wait_until="load"):
        pager.get_by_role("link", name="← Newer").click()
    expect(pager).to_contain_text("Page 1 of")
    assert flag_links(site) == first


COLUMN_VALUES = """([table, column]) => [...document.querySelectorAll(`#${table} tbody tr`)]
    .map(row => row.children[column].querySelector(".cell > span").textContent)"""


def column_values(site: Page, column: int) -> list[float | None]:
    texts = site.evaluate(COLUMN_VALUES, ["comparison", column])
    return [float(t.replace("%", "")) if t.strip() != "\u2013" else None for t in texts]


def test_clicking_a_comparison_heading_sorts_the_rows_by_it(site: Page) -> None:
    sign_in(site, "admin")
    site.goto("/comparison/")
    headings = site.locator("#comparison thead th")
    column = [t.strip() for t in headings.all_inner_texts()].index("First-contact resolution")
    unsorted = column_values(site, column)
    assert len({v for v in unsorted if v is not None}) > 2, "too few values to see a sort"
    heading = headings.nth(column)
    expect(heading).not_to_have_attribute("aria-sort", re.compile("."))

    for direction, reverse, arrow in [("ascending", False, "▲"), ("descending", True, "▼")]:
        with site.expect_navigation(wait_until="load"):
            heading.get_by_role("link").click()
        expect(heading).to_have_attribute("aria-sort", direction)
        expect(heading).to_contain_text(arrow)
        values = column_values(site, column)
        present = [v for v in values if v is not None]
        assert present == sorted(present, reverse=reverse)
        assert values[len(present) :] == [None] * (len(values) - len(present))  # no data last
        assert sorted(present) == sorted(v for v in unsorted if v is not None)


def test_the_export_of_a_filtered_table_keeps_the_filter(site: Page, tmp_path: Path) -> None:
    sign_in(site, "admin")
    site.goto("/flags/")
    caption = site.locator("#flags caption")
    everything = int(caption.inner_text().split()[0])
    filters = site.get_by_role("form", name="Filter flags")
    filters.get_by_label("Branch").select_option("eas-04")
    filters.get_by_label("Level").select_option("alarm")
    with site.expect_navigation(wait_until="load"):
        filters.get_by_role("button", name="Filter").click()
    shown = int(caption.inner_text().split()[0])
    assert 0 < shown < everything

    with site.expect_download() as download:
        site.get_by_role("link", name=re.compile("^Export CSV")).click()
    saved = tmp_path / "flags.csv"
    download.value.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == shown
    assert {(row["branch"], row["severity"]) for row in rows} == {("eas-04", "alarm")}
