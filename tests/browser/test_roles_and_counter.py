"""In a real browser: each role's home, the walk-in queue timing a visit onto the
customer's timeline, keyboard-only logging, and a tablet-width layout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from customers.models import Customer
from interactions.models import Interaction
from tests.browser.conftest import nav, sign_in

pytestmark = pytest.mark.usefixtures("live_demo")


@pytest.mark.parametrize(
    ("username", "path", "heading"),
    [
        ("agent.eas-04.1", "/log/", "Log an interaction"),
        ("bm.eas-04", "/", "Your branches"),
        ("rm.east", "/", "East"),
        ("admin", "/", "The whole chain"),
    ],
)
def test_each_role_signs_in_and_lands_on_its_home(
    site: Page, username: str, path: str, heading: str
) -> None:
    sign_in(site, username)
    expect(site).to_have_url(re.compile(re.escape(path) + "$"))
    expect(site.get_by_role("heading", level=1)).to_contain_text(heading)
    site.get_by_role("button", name="Sign out").click()
    expect(site.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_walk_in_is_timed_and_lands_on_the_customers_timeline(site: Page) -> None:
    customer = Customer.objects.create(name="Kartika Sari", email="kartika@example.com")
    sign_in(site, "agent.eas-04.1")
    nav(site, "Walk-ins")
    site.get_by_label("Search name, e-mail or phone").fill("Kartika")
    site.get_by_role("radio", name=re.compile("Kartika Sari")).check()
    site.get_by_label("Topic").fill("Cash a cheque")
    site.get_by_role("button", name="Arrived: start the clock").click()
    expect(site.get_by_role("status")).to_contain_text("Kartika Sari is waiting")
    expect(site.locator("[data-since]").first).to_have_text(re.compile(r"0:0[1-9]"), timeout=5000)
    site.get_by_role("button", name="Greeted Kartika Sari").click()
    expect(site.get_by_role("status")).to_contain_text("greeted")
    site.wait_for_timeout(1200)
    site.get_by_role("button", name="Done with Kartika Sari").click()
    expect(site.get_by_role("status")).to_contain_text("done: waited")

    interaction = Interaction.objects.get(customer=customer)
    assert interaction.channel == "in_person"
    assert interaction.wait_seconds is not None
    assert interaction.wait_seconds >= 1
    site.goto(f"/customers/{customer.pk}/")
    timeline = site.locator("ol.timeline")
    expect(timeline).to_contain_text("Face to face at eas-04")
    expect(timeline).to_contain_text(f"Wait {interaction.wait_seconds} s")


def test_an_interaction_can_be_logged_with_the_keyboard_alone(site: Page) -> None:
    sign_in(site, "agent.eas-04.1")
    site.wait_for_load_state("load")
    expect(site.get_by_label("Search name, e-mail or phone")).to_be_focused()
    site.keyboard.press("Tab")  # past the search: the anonymous customer, then the channel
    site.keyboard.press("Tab")
    expect(site.get_by_role("radio", name="Face to face")).to_be_focused()
    site.keyboard.press("ArrowRight")  # Face to face -> Phone
    expect(site.get_by_role("radio", name="Phone")).to_be_checked()
    site.get_by_label("Wait (seconds)").focus()
    site.keyboard.type("42")
    site.keyboard.press("Tab")
    site.keyboard.type("180")
    site.get_by_label("Topic").focus()
    site.keyboard.type("Lost card")
    site.keyboard.press("Enter")  # submits the form
    expect(site.get_by_role("status")).to_contain_text("Logged: phone with an anonymous customer")
    logged = Interaction.objects.get(topic="Lost card")
    assert (logged.channel, logged.wait_seconds, logged.handle_seconds) == ("phone", 42, 180)


UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
    .filter(el => el.type !== "hidden" && el.offsetParent !== null)
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby"))
    .map(el => el.name || el.id)"""


@pytest.mark.parametrize("username", ["agent.eas-04.1", "rm.east"])
def test_every_field_has_a_label_and_pages_fit_a_768px_screen(site: Page, username: str) -> None:
    site.set_viewport_size({"width": 768, "height": 1024})
    sign_in(site, username)
    pages = ["/log/", "/walk-ins/", "/customers/?q=a", "/interactions/", "/flags/"]
    if username.startswith("rm."):
        pages += ["/", "/comparison/", "/funnel/", "/branches/eas-04/", "/cases/"]
    for path in pages:
        site.goto(path)
        assert site.evaluate(UNLABELLED) == [], path
        width = site.evaluate("document.documentElement.scrollWidth")
        assert width <= 768, f"{path} is {width} px wide"
