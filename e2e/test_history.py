"""The history page's "Load more": pages by keyset while notifications arrive, with and without JavaScript, and
by keyboard alone."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from testing.browser import wait_live
from testing.processes import DemoServer

SEEDED = 45  # the demo's PAGE_SIZE is 20: pages of 20, 20 and 5
EXPECTED = [f"history item {i:02}" for i in reversed(range(SEEDED))]
MESSAGE = re.compile(r"history item \d\d|arrival \d")


def seed(server: DemoServer, username: str) -> None:
    """``SEEDED`` notifications, "history item 00" the oldest, from one command."""
    server.command(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; from notifications import notify;"
        f"u = get_user_model().objects.get(username={username!r});"
        f"[notify(u, f'history item {{i:02}}') for i in range({SEEDED})]",
    )


def history(page: Page) -> Any:
    return page.locator("#notification-history > li")


def shown(page: Page) -> list[str]:
    """The message ("history item NN", "arrival N") of each item the history's list shows, in order."""
    return [MESSAGE.findall(text)[0] for text in history(page).all_inner_texts()]


def log_in_without_js(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#current-user")).to_have_text(username)


def test_load_more_pages_back_without_repeat_or_gap_while_notifications_arrive(
    server: DemoServer, user_page: Any
) -> None:
    [(alice, pw)] = server.create_users("alice")
    seed(server, alice)
    page = user_page(alice, pw)
    page.goto(server.base_url + "/notifications/")
    wait_live(page)
    expect(history(page)).to_have_count(20)
    more = page.get_by_role("link", name="Load more")
    for round_, count in enumerate((40, SEEDED)):
        # A notification arrives (the live bar shows it) before the next page is read.
        server.notify(alice, f"arrival {round_}")
        expect(page.locator("#notification-list")).to_contain_text(f"arrival {round_}")
        more.click()
        expect(history(page)).to_have_count(count)
    assert shown(page) == EXPECTED  # neither an arrival nor a repeat, and nothing skipped
    ids = history(page).evaluate_all("items => items.map(item => item.id)")
    assert len(set(ids)) == SEEDED
    expect(more).to_have_count(0)
    expect(page.locator("#notification-history-next")).to_have_text("No older notifications.")
    assert page.url == server.base_url + "/notifications/"  # appended in place, no navigation
    # The tabs counted the arrivals when the page was loaded; a new page load counts them.
    page.reload()
    expect(page.locator("[data-tab=all]")).to_have_attribute("data-count", str(SEEDED + 2))
    assert shown(page)[:3] == ["arrival 1", "arrival 0", "history item 44"]


def test_without_javascript_load_more_is_a_link_to_the_next_page(server: DemoServer, new_context: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    seed(server, alice)
    page = new_context(java_script_enabled=False).new_page()
    log_in_without_js(page, server.base_url, alice, pw)
    page.goto(server.base_url + "/notifications/")
    seen = []
    for round_, count in enumerate((20, 20, 5)):
        expect(history(page)).to_have_count(count)
        seen += shown(page)
        server.notify(alice, f"arrival {round_}")
        if round_ < 2:
            page.get_by_role("link", name="Load more").click()
            expect(page).to_have_url(re.compile(r"/notifications/\?show=all&before="))
    assert seen == EXPECTED
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)
    expect(page.locator("#notification-history-next")).to_have_text("No older notifications.")
    page.get_by_role("link", name="Back to the newest").click()
    assert shown(page)[:4] == ["arrival 2", "arrival 1", "arrival 0", "history item 44"]
    expect(page.locator("[data-tab=all]")).to_have_attribute("aria-current", "page")


def test_load_more_by_keyboard_keeps_the_focus_on_it(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    seed(server, alice)
    page = user_page(alice, pw)
    page.goto(server.base_url + "/notifications/")
    wait_live(page)
    expect(history(page)).to_have_count(20)
    more = page.locator("#notification-history-next")
    for _ in range(300):  # Tab, Tab, ... through the bar, the tabs and every item's controls
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "notification-history-next":
            break
    expect(more).to_be_focused()
    page.keyboard.press("Enter")
    expect(history(page)).to_have_count(40)
    expect(more).to_be_focused()  # the next page's "Load more", where the old one was
    page.keyboard.press("Enter")
    expect(history(page)).to_have_count(SEEDED)
    expect(more).to_have_text("No older notifications.")
    expect(more).to_be_focused()  # the end says so, and the focus is not lost to the page
    assert shown(page) == EXPECTED
