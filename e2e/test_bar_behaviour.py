"""Issue 11, as a user meets it: the panel closes like a popover, arrivals show while it is closed, the list
stays short, times stay true, the page says when it lost its server and comes back quickly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from testing.browser import log_in, open_bar, send_from_demo_form
from testing.processes import DemoServer


def items(page: Page) -> Any:
    return page.locator("#notification-list > li")


def notify_many(server: DemoServer, username: str, count: int) -> None:
    """``count`` notifications from one process (one manage.py start, not ``count``)."""
    code = (
        "from django.contrib.auth import get_user_model; from notifications import notify; "
        f"u = get_user_model().objects.get(username={username!r}); "
        f"[notify(u, f'burst {{i:03d}}') for i in range({count})]"
    )
    server.manage("shell", "-c", code)


def test_escape_and_a_click_outside_close_the_panel_and_focus_returns_to_the_bell(
    server: DemoServer, user_page: Any
) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    bell, panel = page.locator("#notification-bar .nb__toggle"), page.locator("#notification-panel")
    bell.focus()
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bell).to_be_focused()

    open_bar(page)
    page.mouse.click(5, 700)  # somewhere on the page, outside the panel
    expect(panel).to_be_hidden()


def test_an_arrival_while_the_panel_is_closed_shows_a_toast_that_leaves_and_the_title_counts(
    server: DemoServer, user_page: Any
) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    assert not re.match(r"^\(\d+\)", page.title())
    layout = page.locator("main").bounding_box()
    server.notify(alice, "Build 42 finished", "--level", "success")
    toast = page.locator("#notification-toast .nb-toast")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("Build 42 finished")
    expect(page.locator("#notification-toast")).to_have_attribute("aria-live", "polite")
    assert page.locator("main").bounding_box() == layout, "the toast moved the page"
    expect(page).to_have_title(re.compile(r"^\(1\) Notification bar demo$"))
    expect(toast).to_be_hidden(timeout=10_000)  # by itself, within 10 s

    server.notify(alice, "Second")
    expect(page).to_have_title(re.compile(r"^\(2\) "))
    page.reload()
    expect(page).to_have_title(re.compile(r"^\(2\) "))  # a fresh page's first state frame sets it too
    open_bar(page)
    page.get_by_role("button", name="Mark all read").click()
    expect(page).to_have_title("Notification bar demo")


def test_the_live_list_stays_at_bar_size_after_a_burst(server: DemoServer, user_page: Any) -> None:
    """Before: 160 items after 150 arrivals, while a reload shows 10."""
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    notify_many(server, alice, 25)
    expect(page.locator("#notification-count")).to_have_text("25")
    expect(items(page).first).to_contain_text("burst 024")
    expect(items(page)).to_have_count(10)
    expect(items(page).last).to_contain_text("burst 015")
    open_bar(page)
    items(page).first.get_by_role("button", name=re.compile("^Dismiss")).click()
    expect(items(page).first).to_contain_text("burst 023")
    expect(items(page).last).to_contain_text("burst 014")  # the next one moves up into the bar
    expect(items(page)).to_have_count(10)


def test_focus_goes_on_to_the_next_item_after_a_keyboard_action(server: DemoServer, user_page: Any) -> None:
    """Before: Mark read and Dismiss replaced the whole list, and the focus fell to <body>."""
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    notify_many(server, alice, 4)
    expect(items(page)).to_have_count(4)  # burst 003, 002, 001, 000
    open_bar(page)
    read = re.compile("^Mark read")
    items(page).nth(0).get_by_role("button", name=read).focus()
    page.keyboard.press("Enter")
    expect(items(page).nth(0)).to_have_attribute("data-read", "true")
    expect(items(page).nth(1).get_by_role("button", name=read)).to_be_focused()
    page.keyboard.press("Enter")
    expect(items(page).nth(1)).to_have_attribute("data-read", "true")
    expect(items(page).nth(2).get_by_role("button", name=read)).to_be_focused()

    dismiss = re.compile("^Dismiss")
    items(page).nth(2).get_by_role("button", name=dismiss).focus()
    page.keyboard.press("Enter")
    expect(items(page)).to_have_count(3)
    expect(items(page).nth(2)).to_contain_text("burst 000")
    expect(items(page).nth(2).get_by_role("button", name=dismiss)).to_be_focused()
    page.keyboard.press("Enter")  # the last one: the focus goes back up the list
    expect(items(page)).to_have_count(2)
    expect(items(page).nth(1).get_by_role("button", name=dismiss)).to_be_focused()
    for left in (1, 0):  # dismissing the bar's last item leaves the focus on the way to the history
        expect(items(page).nth(left).get_by_role("button", name=dismiss)).to_be_focused()  # the answer is in
        page.keyboard.press("Enter")
        expect(items(page)).to_have_count(left)
    expect(page.get_by_role("link", name="All notifications")).to_be_focused()
    expect(page.locator("#notification-panel")).to_be_visible()


def test_after_mark_all_read_by_keyboard_the_focus_is_on_the_first_items_dismiss(
    server: DemoServer, user_page: Any
) -> None:
    """Before: "Mark all read" left with the unread count and the focus fell to <body>."""
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    other_tab = page.context.new_page()
    other_tab.goto(server.base_url + "/")
    notify_many(server, alice, 2)
    expect(items(page)).to_have_count(2)
    open_bar(page)
    page.get_by_role("button", name="Mark all read").focus()
    page.keyboard.press("Enter")
    expect(items(page).nth(1)).to_have_attribute("data-read", "true")
    expect(items(page).nth(0).get_by_role("button", name=re.compile("^Dismiss"))).to_be_focused()
    expect(items(other_tab).nth(1)).to_have_attribute("data-read", "true")
    assert other_tab.evaluate("document.activeElement.tagName") == "BODY"  # the other tab's focus stays put


def test_times_never_read_zero_minutes_ago(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    server.notify(alice, "Just arrived")
    meta = items(page).first.locator(".nb-item__meta")
    open_bar(page)
    expect(meta).to_contain_text("just now")
    expect(meta.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    expect(meta.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    page.reload()
    open_bar(page)
    assert "ago" not in items(page).first.inner_text()


def test_long_text_is_clamped_in_the_bar_and_whole_in_the_history(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    server.notify(alice, "word " * 200)
    page = user_page(alice, pw)
    open_bar(page)
    message = items(page).first.locator(".nb-item__message")
    height = message.evaluate("e => e.getBoundingClientRect().height")
    font = message.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert height <= 3 * 1.5 * font, (height, font)  # three lines
    page.goto(server.base_url + "/notifications/")
    whole = page.locator("#notification-history > li").first.locator(".nb-item__message")
    assert whole.evaluate("e => e.getBoundingClientRect().height") > 3 * height


def test_an_empty_bar_says_so_in_words_and_offers_no_mark_all_read(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    open_bar(page)
    expect(page.locator(".nb__empty")).to_be_visible()
    expect(page.locator(".nb__empty")).to_contain_text("no notifications")
    expect(page.get_by_role("button", name="Mark all read")).to_have_count(0)
    server.notify(alice, "Now there is one")
    expect(page.get_by_role("button", name="Mark all read")).to_be_visible()
    expect(page.locator(".nb__empty")).to_be_hidden()


@pytest.fixture
def quick_server(server_env: dict[str, str]) -> Iterator[DemoServer]:
    """A daphne of the test's own with a 0.5 s heartbeat, free to stop and start again on its port."""
    demo = DemoServer(Path(server_env["E2E_WORKDIR"]), {**server_env, "NOTIFICATIONS_HEARTBEAT_INTERVAL": "0.5"})
    demo.start()
    yield demo
    demo.stop()


# While the server is down the browser logs its refused socket and requests, and htmx logs the failed fetches.
@pytest.mark.console_errors("ERR_CONNECTION_REFUSED", "htmx:", "WebSocket connection", "[object Event]")
def test_the_page_says_reconnecting_while_its_server_is_gone_and_is_live_soon_after_it_returns(
    quick_server: DemoServer, new_context: Any
) -> None:
    [(alice, pw)] = quick_server.create_users("alice")
    page = new_context().new_page()
    log_in(page, quick_server.base_url, alice, pw)
    reconnecting = page.locator("#notification-bar .nb__reconnecting")
    page.wait_for_timeout(2_000)  # four heartbeats: while they come, nothing shows
    expect(reconnecting).to_be_hidden()

    quick_server.stop()
    expect(reconnecting).to_be_visible(timeout=4_000)  # 2.5 heartbeats (1.25 s) after the last
    page.wait_for_timeout(5_000)  # the ws extension's back-off grows (1, 2, 4, 8 s... with full jitter)
    quick_server.start()
    # The bar fetches itself every 1.25 s while stale: live again within seconds, not after the back-off.
    expect(reconnecting).to_be_hidden(timeout=4_000)
    quick_server.notify(alice, "after the outage")
    expect(items(page).first).to_contain_text("after the outage", timeout=5_000)


def test_an_answered_action_shows_its_outcome_in_every_tab_and_takes_no_second_answer(
    server: DemoServer, user_page: Any
) -> None:
    """Before: after a click both buttons stayed, the other one was still accepted, nothing said the outcome,
    and the keyboard focus fell to the page."""
    (alice, alice_pw), (bob, bob_pw) = server.create_users("alice", "bob")
    tab_a = user_page(alice, alice_pw)
    tab_b = tab_a.context.new_page()
    tab_b.goto(server.base_url + "/")
    expect(tab_b.locator("#notification-bar .nb-synced")).to_be_attached()
    bob_page = user_page(bob, bob_pw)
    send_from_demo_form(bob_page, alice, "May I deploy release 3.1?", ask=True)
    open_bar(tab_a)
    item_a = items(tab_a).first
    decline_url = item_a.locator("form", has_text="Decline").get_attribute("action")
    item_a.get_by_role("button", name="Approve").focus()
    tab_a.keyboard.press("Enter")  # by keyboard: the answer keeps the focus on the item, in this tab only
    for tab in (tab_a, tab_b):
        item = items(tab).first
        expect(item.locator(".nb-item__outcome")).to_have_text("Approved")
        expect(item.get_by_role("button", name=re.compile("Approve|Decline"))).to_have_count(0)
        expect(item).to_have_attribute("data-read", "true")
    expect(items(tab_a).first.get_by_role("button", name=re.compile("^Dismiss"))).to_be_focused()
    assert tab_b.evaluate("document.activeElement.tagName") == "BODY"
    token = tab_a.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    second = tab_a.request.post(server.base_url + str(decline_url), headers={"X-CSRFToken": csrf})
    assert second.status == 409  # the server refuses a second answer
    tab_a.reload()
    expect(items(tab_a).first.locator(".nb-item__outcome")).to_have_text("Approved")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_history_page_sits_in_the_sites_layout_and_is_readable_in_both_schemes(
    server: DemoServer, user_page: Any, scheme: str
) -> None:
    """Before: the history ignored the site's layout (serif, no header) and was unreadable in dark mode."""
    from axe_playwright_python.sync_playwright import Axe

    [(alice, pw)] = server.create_users("alice")
    server.notify(alice, "A success", "--level", "success")
    server.notify(alice, "A warning", "--level", "warning", "--title", "Careful")
    server.notify(alice, "An error", "--level", "error", "--url", "/notifications/")
    page = user_page(alice, pw, color_scheme=scheme)
    page.goto(server.base_url + "/notifications/")
    expect(page.locator("#current-user")).to_have_text(alice)  # the demo's header
    expect(page).to_have_title(re.compile(r"^\(3\) Notification history$"))
    font = page.locator("body").evaluate("e => getComputedStyle(e).fontFamily")
    assert "serif" not in font.replace("sans-serif", ""), font
    results = Axe().run(page, options={"runOnly": ["color-contrast"]})
    assert results.response["violations"] == [], results.generate_report()
