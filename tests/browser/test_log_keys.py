"""Issue 15: logging a phone call for a customer already on file, counting every key.

Every key press from the moment the log form has loaded is counted, each typed character
of the search too. The query is four digits of the caller's number, as read off the
phone's display."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from customers.models import Customer
from customers.selectors import customer_search
from interactions.models import Interaction
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.usefixtures("live_demo")

KEY_BUDGET = 12


def _caller(actor: object) -> tuple[Customer, str]:
    """A demo customer whom the last four digits of their number find first."""
    for customer in Customer.objects.exclude(phone="").order_by("pk")[:200]:
        query = customer.phone[-4:]
        if list(customer_search(actor=actor, query=query, limit=1)) == [customer]:
            return customer, query
    raise AssertionError("no demo customer is found first by four digits of their phone")


class Keys:
    """The keyboard, counting presses."""

    def __init__(self, page: Page) -> None:
        self.page, self.count = page, 0

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.count += 1

    def type(self, text: str) -> None:
        for char in text:
            self.press(char)


def test_a_phone_call_with_a_known_customer_is_logged_in_a_handful_of_keys(site: Page) -> None:
    agent = get_user_model().objects.get(username="agent.eas-04.1")
    customer, query = _caller(agent)
    sign_in(site, "agent.eas-04.1")
    site.wait_for_load_state("load")
    expect(site.get_by_role("heading", name="Log an interaction")).to_be_visible()
    keys = Keys(site)

    keys.type(query)  # focus starts in the customer search
    expect(site.get_by_role("radio", name=customer.name).first).to_be_visible()
    keys.press("Enter")  # picks the first match and moves on to the channel
    expect(site.get_by_role("radio", name=customer.name).first).to_be_checked()
    keys.press("p")  # Phone
    expect(site.get_by_role("radio", name="Phone")).to_be_checked()
    keys.press("Enter")  # saves
    expect(site.get_by_role("status").first).to_contain_text(f"Logged: phone with {customer.name}")

    logged = Interaction.objects.filter(customer=customer, staff=agent).latest("created_at")
    assert logged.channel == "phone"
    assert keys.count <= KEY_BUDGET, f"{keys.count} keys"


def test_the_customer_page_opens_the_log_form_with_the_customer_picked(site: Page) -> None:
    customer = Customer.objects.exclude(phone="").order_by("pk").first()
    assert customer is not None
    sign_in(site, "agent.eas-04.1")
    site.goto(f"/customers/{customer.pk}/")
    site.get_by_role("link", name="Log an interaction for this customer").click()
    site.wait_for_load_state("load")
    expect(site.get_by_role("radio", name="Face to face")).to_be_focused()
    keys = Keys(site)
    keys.press("c")  # Chat
    keys.press("Enter")
    expect(site.get_by_role("status").first).to_contain_text(f"Logged: chat with {customer.name}")
    assert Interaction.objects.filter(customer=customer, channel="chat").exists()
    assert keys.count == 2


def test_slash_reaches_the_search_from_a_radio_and_new_customer_fields_wait(site: Page) -> None:
    sign_in(site, "agent.eas-04.1")
    site.wait_for_load_state("load")
    name = site.get_by_label("New customer's name")
    expect(name).to_be_hidden()
    site.get_by_role("radio", name="Chat").focus()
    site.keyboard.press("/")
    expect(site.get_by_label("Search name, e-mail or phone")).to_be_focused()
    site.get_by_role("radio", name="New customer").check()
    expect(name).to_be_visible()


def test_typing_on_after_a_pick_keeps_the_customer_picked(site: Page) -> None:
    agent = get_user_model().objects.get(username="agent.eas-04.1")
    customer, query = _caller(agent)
    sign_in(site, "agent.eas-04.1")
    site.wait_for_load_state("load")
    search = site.get_by_label("Search name, e-mail or phone")
    search.press_sequentially(query)
    expect(site.get_by_role("radio", name=customer.name).first).to_be_visible()
    search.press("Enter")
    search.press_sequentially("zz")  # nobody matches any more
    expect(site.get_by_text("No customer matches")).to_be_visible()
    expect(site.get_by_role("radio", name=customer.name)).to_be_checked()
    search.press("Backspace")
    search.press("Backspace")  # the customer is among the matches again, offered once
    expect(site.locator("#customer-matches [data-query]")).to_have_attribute("data-query", query)
    expect(site.get_by_text("No customer matches")).to_be_hidden()
    expect(site.locator(f"input[name='customer'][value='{customer.pk}']")).to_have_count(1)
