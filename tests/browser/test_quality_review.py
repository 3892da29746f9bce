"""A QA reviewer's morning, by keyboard alone: from the home page's queue link to the
first assignment's review page, every checklist item answered with Space and Tab, saved
with Enter; the queue is one shorter and the review shows its score."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import call_command
from playwright.sync_api import Page, expect

from quality.models import Review
from tests.browser.conftest import sign_in


def to_review(page: Page) -> int:
    """How many interactions the home page says are in the signed-in reviewer's queue."""
    link = page.get_by_role("link", name=re.compile(r"interactions? to review"))
    return int(re.match(r"\d+", link.inner_text())[0])  # type: ignore[index]


def test_a_review_is_scored_and_saved_by_keyboard(
    site: Page, live_demo: None, tmp_path: Path
) -> None:
    call_command("seed_reviews", truth_file=tmp_path / "truth.json", verbosity=0)
    before = Review.objects.count()
    sign_in(site, "qa.lead")
    waiting = to_review(site)
    assert waiting > 0
    site.get_by_role("link", name=re.compile(r"interactions? to review")).click()
    expect(site.get_by_role("heading", level=1)).to_have_text("Review queue")
    site.get_by_role("link", name=re.compile(r"^Review the interaction of")).first.click()
    expect(site.get_by_role("button", name="Save review")).to_be_visible()

    expect(site.locator("input[type=radio]").first).to_be_focused()
    # The first answer has the focus; each item: Space ticks its first answer, Tab moves on.
    answered = 0
    while site.evaluate("document.activeElement && document.activeElement.type") == "radio":
        site.keyboard.press("Space")
        site.keyboard.press("Tab")
        answered += 1
    assert answered >= 6
    site.keyboard.type("Answered by keyboard.")  # the comment box comes next
    site.keyboard.press("Tab")
    site.keyboard.press("Enter")

    expect(site).to_have_url(re.compile(r"/quality/reviews/\d+/$"))
    expect(site.get_by_text("Answered by keyboard.")).to_be_visible()
    assert Review.objects.count() == before + 1
    site.get_by_role("link", name="Branch CRM").click()
    assert to_review(site) == waiting - 1
