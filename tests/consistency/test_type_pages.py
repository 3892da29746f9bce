"""Complaints by type on the pages: the region view reached from the comparison page, the
branch page's section, and their CSVs, followed as a user clicks them."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from branches.models import Role
from consistency.recompute import consistency_recompute
from tests.consistency.test_complaint_types import MONDAY, planted_chain
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def rows_of(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def link(page: str, text: str, base: str = "") -> str:
    """The href of the link whose text is ``text``, a query alone resolved against
    ``base`` (the page's path), as a browser does."""
    match = re.search(rf'href="([^"]+)"[^>]*>{re.escape(text)}</a>', page)
    assert match, f"no link {text!r}"
    href = unescape(match[1])
    return base + href if href.startswith("?") else href


def test_the_region_view_is_a_click_from_the_comparison_and_exports_what_it_shows(
    client: Client,
) -> None:
    branches = planted_chain(weeks=1)
    consistency_recompute()
    client.force_login(UserFactory.create(role=Role.ADMIN))
    comparison = client.get(reverse("comparison"), {"period": MONDAY.isoformat()}).content.decode()
    region_url = link(comparison, "Complaints by type")
    page = client.get(region_url)
    assert page.status_code == 200
    text = page.content.decode()
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)<br>", text)
    assert rows[0] == "Wrong amount"  # the type diverging somewhere comes first
    assert f">{branches[0].code}</a>" in text
    table = rows_of(client.get(link(text, "Export CSV", region_url.split("?")[0])))
    assert len(table) == 12 * 3
    planted = next(r for r in table if r["branch"] == branches[0].code and r["flag"])
    assert (planted["type"], planted["complaints"], planted["flag"]) == (
        "Wrong amount",
        "6",
        "alarm",
    )

    with translation.override("id"):
        client.cookies.load({"django_language": "id"})
        indonesian = client.get(link(comparison, "Complaints by type"), HTTP_ACCEPT_LANGUAGE="id")
    assert "Jumlah uang salah" in indonesian.content.decode()


def test_the_branch_page_shows_its_types_with_the_moment_and_a_csv(client: Client) -> None:
    branches = planted_chain(weeks=1)
    consistency_recompute()
    client.force_login(UserFactory.create(role=Role.ADMIN))
    url = reverse("branch-page", args=[branches[0].code])
    with CaptureQueriesContext(connection) as first:
        page = client.get(url, {"period": MONDAY.isoformat()}).content.decode()
    section = page[page.index('id="complaint-types"') :]
    assert "Wrong amount" in section
    assert "alarm: beyond 99.8 %" in section
    href = re.search(
        r'<a href="([^"]+)">Export CSV</a></caption>\s*<thead><tr><th scope="col">Type', section
    )
    assert href
    table = rows_of(client.get(url + unescape(href[1])))
    assert [(r["type"], r["complaints"], r["flag"]) for r in table] == [
        ("Wrong amount", "6", "alarm"),  # flagged first; then the chain's other types, here 0
        ("Queue too long", "0", ""),
        ("Unfriendly staff", "0", ""),
    ]
    other = reverse("branch-page", args=[branches[1].code])
    with CaptureQueriesContext(connection) as second:
        client.get(other, {"period": MONDAY.isoformat()})
    assert len(second) == len(first)  # three types instead of one: no query more
