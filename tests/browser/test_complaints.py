"""In a real browser: a branch manager follows the home page's overdue complaints to the
queue, opens the complaint, acknowledges it, gives it its type and reads the history."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from branches.models import Role
from complaints.models import Complaint
from complaints.services import complaint_record
from consistency.defaults import standard_create
from consistency.models import Standard, Target
from interactions.demo import DEMO_PASSWORD
from tests.browser.conftest import nav, sign_in
from tests.complaints.test_pages import taxonomy
from tests.factories import BranchFactory, CustomerFactory, InteractionFactory, UserFactory


@dataclass
class Counter:
    overdue: Complaint
    fresh: Complaint


@pytest.fixture
def counter(transactional_db: None) -> Counter:
    """A branch in Jakarta with its manager, the starter of a taxonomy and two complaints:
    one received long ago (overdue), one an hour ago. Committed: the live server sees it."""
    if not Standard.objects.exists():  # emptied by the tests on committed data before
        standard_create(Standard, Target)
    taxonomy()
    branch = BranchFactory.create(code="jkt-01", name="Jakarta Sudirman", timezone="Asia/Jakarta")
    manager = UserFactory.create(username="bm.jkt-01", role=Role.BRANCH_MANAGER, branches=[branch])
    manager.set_password(DEMO_PASSWORD)
    manager.save()

    def complaint(when: datetime, text: str) -> Complaint:
        call = InteractionFactory.create(
            branch=branch, occurred_at=when, is_complaint=True, customer=CustomerFactory.create()
        )
        return complaint_record(actor=manager, interaction=call, text=text, severity="high")

    return Counter(
        overdue=complaint(datetime(2026, 11, 2, 3, tzinfo=UTC), "Uang kurang 50 ribu"),
        fresh=complaint(timezone.now() - timedelta(hours=1), "Antre lama bgt"),
    )


def test_a_manager_acknowledges_a_complaint_types_it_and_sees_its_history(
    site: Page, counter: Counter
) -> None:
    sign_in(site, "bm.jkt-01")
    site.get_by_role("link", name=re.compile(r"^1 overdue complaint$")).click()
    expect(site.get_by_role("heading", level=1)).to_have_text("Complaints")
    rows = site.locator("#complaints tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("overdue")
    expect(rows.first).to_contain_text("WIB")  # received on the branch's clock
    rows.first.get_by_role("link", name=counter.overdue.reference).click()
    expect(site.get_by_role("heading", level=1)).to_contain_text(counter.overdue.reference)
    expect(site.locator("#complaint-text")).to_have_text("Uang kurang 50 ribu")

    site.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(site.locator("#complaint-status")).to_have_text("Acknowledged")
    expect(site.get_by_text("Complaint acknowledged.")).to_be_visible()

    site.get_by_label("Another type").select_option(label="Wrong amount")
    site.get_by_role("button", name="Save type").click()
    expect(site.get_by_text("Type saved.")).to_be_visible()
    expect(site.locator("#complaint-facts")).to_contain_text("Wrong amount (Cash)")
    history = site.locator("#complaint-history tbody tr")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("Received")
    expect(history.nth(1)).to_contain_text("Acknowledged")
    expect(history.nth(2)).to_contain_text("Type set")
    expect(history.nth(2)).to_contain_text("bm.jkt-01")

    # The queue shows both open ones, the new type on the first.
    nav(site, "Complaints")
    expect(rows).to_have_count(2)
    expect(
        site.locator("#complaints tbody tr", has_text=counter.overdue.reference)
    ).to_contain_text("Wrong amount")
    expect(site.locator("#complaints tbody tr", has_text=counter.fresh.reference)).to_contain_text(
        "not typed"
    )
