"""The inbox, end to end, two tabs each (real daphne, Redis, Chromium): opening the panel clears the badge,
mark unread, snooze until later and watch it come back live, by mouse and by keyboard."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from testing.browser import open_bar, wait_live
from testing.processes import DemoServer

SNOOZE_BACK_TIMEOUT = 15_000


def two_tabs(server: DemoServer, user_page: Any, username: str, password: str) -> tuple[Page, Page]:
    first = user_page(username, password)
    second = first.context.new_page()
    second.goto(server.base_url + "/")
    wait_live(second)
    return first, second


def badge(page: Page) -> Any:
    return page.locator("#notification-count")


def newest(page: Page) -> Any:
    return page.locator("#notification-list > li").first


@pytest.mark.console_errors("[object Event]")
def test_opening_the_panel_clears_the_badge_in_every_tab_and_read_stays_per_item(
    server: DemoServer, user_page: Any
) -> None:
    [(alice, password)] = server.create_users("alice")
    server.notify(alice, "Build 41 finished")
    server.notify(alice, "Build 42 finished")
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    for tab in (tab1, tab2):
        expect(badge(tab)).to_have_text("2")
    open_bar(tab1)
    for tab in (tab1, tab2):
        expect(badge(tab)).to_have_text("0")
        expect(tab).to_have_title(re.compile(r"^(?!\(\d+\))"))  # no "(N)" in the title
    expect(tab1.locator('#notification-list > li[data-read="false"]')).to_have_count(2)  # seen, not read
    server.notify(alice, "Build 43 finished")
    for tab in (tab1, tab2):
        expect(badge(tab)).to_have_text("1")


@pytest.mark.console_errors("[object Event]")
def test_mark_unread_shows_in_every_tab(server: DemoServer, user_page: Any) -> None:
    [(alice, password)] = server.create_users("alice")
    server.notify(alice, "Review requested")
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    open_bar(tab1)
    newest(tab1).get_by_role("button", name=re.compile("^Mark read")).click()
    for tab in (tab1, tab2):
        expect(newest(tab)).to_have_attribute("data-read", "true")
    newest(tab1).get_by_role("button", name=re.compile("^Mark unread")).click()
    for tab in (tab1, tab2):
        expect(newest(tab)).to_have_attribute("data-read", "false")
        expect(badge(tab)).to_have_text("1")  # unread again, and new again to the badge


def shorten_snooze(server: DemoServer, username: str, seconds: int) -> None:
    """The test's clock: the snooze ends in ``seconds`` instead of an hour (the API takes any time)."""
    code = (
        "import datetime; from django.contrib.auth import get_user_model; from django.utils import timezone;"
        "from notifications import snooze; from notifications.models import Notification;"
        f"user = get_user_model().objects.get(username={username!r});"
        "n = Notification.objects.filter(recipient=user).snoozed().get();"
        f"snooze(user, n.pk, timezone.now() + datetime.timedelta(seconds={seconds}))"
    )
    server.command("shell", "-c", code)


@pytest.mark.console_errors("[object Event]")
def test_a_snoozed_notification_comes_back_live_in_every_tab(server: DemoServer, user_page: Any) -> None:
    [(alice, password)] = server.create_users("alice")
    server.notify(alice, "Renew the certificate")
    server.notify(alice, "Lunch is served")
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    open_bar(tab1)
    item = tab1.locator("#notification-list > li", has_text="Renew the certificate")
    item.get_by_title("Snooze").click()
    item.get_by_role("button", name="In an hour").click()
    for tab in (tab1, tab2):
        expect(tab.locator("#notification-list > li", has_text="Renew the certificate")).to_have_count(0)
    shorten_snooze(server, alice, 3)
    for tab in (tab1, tab2):  # back, on top, as new: nobody reloaded anything
        expect(newest(tab)).to_contain_text("Renew the certificate", timeout=SNOOZE_BACK_TIMEOUT)
        expect(newest(tab)).to_have_attribute("data-read", "false")
    expect(badge(tab2)).to_have_text("1")


@pytest.mark.console_errors("[object Event]")
def test_the_inbox_by_keyboard_alone(server: DemoServer, user_page: Any) -> None:
    [(alice, password)] = server.create_users("alice")
    server.notify(alice, "Deploy finished")
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    tab1.locator("#notification-bar button[popovertarget]").focus()
    tab1.keyboard.press("Enter")  # the bell opens the panel: seen
    for tab in (tab1, tab2):
        expect(badge(tab)).to_have_text("0")
    snooze = newest(tab1).get_by_title("Snooze")
    snooze.focus()
    tab1.keyboard.press("Enter")
    tab1.keyboard.press("Tab")
    expect(newest(tab1).get_by_role("button", name="In an hour")).to_be_focused()
    tab1.keyboard.press("Enter")
    for tab in (tab1, tab2):
        expect(tab.locator("#notification-list > li", has_text="Deploy finished")).to_have_count(0)
