"""The notification center: read state in every tab, catch-up after drops, history without JS, grouping."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from testing.browser import RECORD_CLOSE_CODE, log_in, open_bar, send_from_demo_form, wait_live
from testing.processes import DemoServer

RESTART_TIMEOUT = 30_000  # htmx retries with exponential back-off (full jitter, 1 s, 2 s, 4 s, ...)


def items(page: Page) -> Any:
    return page.locator("#notification-list > li")


def two_tabs(server: DemoServer, user_page: Any, name: str, pw: str) -> tuple[Page, Page]:
    tab_a = user_page(name, pw)
    tab_b = tab_a.context.new_page()
    tab_b.goto(server.base_url + "/")
    wait_live(tab_b)
    return tab_a, tab_b


def test_reading_in_one_tab_marks_it_read_in_the_other(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    tab_a, tab_b = two_tabs(server, user_page, alice, pw)
    server.notify(alice, "Read me in tab A")
    server.notify(alice, "Leave me unread")
    expect(tab_b.locator("#notification-count")).to_have_text("2")

    open_bar(tab_a)
    target = items(tab_a).filter(has_text="Read me in tab A")
    target.get_by_role("button", name=re.compile("^Mark read")).click()

    for tab in (tab_a, tab_b):
        expect(items(tab).filter(has_text="Read me in tab A")).to_have_attribute("data-read", "true")
        expect(items(tab).filter(has_text="Leave me unread")).to_have_attribute("data-read", "false")
        expect(tab.locator("#notification-count")).to_have_text("0")  # opening tab A's panel saw both


def test_mark_all_read_clears_every_tabs_badge(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    tab_a, tab_b = two_tabs(server, user_page, alice, pw)
    for i in range(3):
        server.notify(alice, f"news {i}")
    expect(tab_b.locator("#notification-count")).to_have_text("3")
    open_bar(tab_a)
    tab_a.get_by_role("button", name="Mark all read").click()
    for tab in (tab_a, tab_b):
        expect(tab.locator("#notification-count")).to_have_text("0")
        expect(tab.locator('#notification-list > li[data-read="false"]')).to_have_count(0)
        expect(items(tab)).to_have_count(3)


def test_dismissing_removes_the_item_from_every_tab(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    tab_a, tab_b = two_tabs(server, user_page, alice, pw)
    server.notify(alice, "Keep me")
    server.notify(alice, "Dismiss me")
    expect(items(tab_b)).to_have_count(2)
    open_bar(tab_a)
    items(tab_a).filter(has_text="Dismiss me").get_by_role("button", name=re.compile("^Dismiss")).click()
    for tab in (tab_a, tab_b):
        expect(items(tab)).to_have_count(1)
        expect(items(tab).first).to_contain_text("Keep me")
        expect(tab.locator("#notification-count")).to_have_text("0")  # both were seen when tab A's panel opened


def test_clicking_an_item_with_a_link_marks_it_read_and_navigates(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    tab_a, tab_b = two_tabs(server, user_page, alice, pw)
    server.notify(alice, "Build 42 finished", "--url", "/notifications/?show=all")
    open_bar(tab_a)
    items(tab_a).first.get_by_role("button", name="Build 42 finished", exact=True).click()
    expect(tab_a).to_have_url(re.compile(r"/notifications/\?show=all$"))
    expect(tab_a.locator("#notification-count")).to_have_text("0")
    expect(items(tab_b).first).to_have_attribute("data-read", "true")
    expect(tab_b.locator("#notification-count")).to_have_text("0")


@pytest.mark.console_errors("ERR_CONNECTION_REFUSED", "[object Event]")  # while the server is down
def test_page_catches_up_after_a_server_restart(own_server: DemoServer, new_context: Any) -> None:
    [(alice, pw)] = own_server.create_users("alice")
    page = new_context().new_page()
    log_in(page, own_server.base_url, alice, pw)
    own_server.notify(alice, "before the restart")
    expect(items(page)).to_have_count(1)
    page.evaluate(RECORD_CLOSE_CODE)

    own_server.stop()
    # daphne drops its sockets on SIGTERM (1006; autobahn cannot send 1012): codes the ws extension retries.
    page.wait_for_function("[1006, 1012].includes(window.__closeCode)")
    own_server.notify(alice, "sent while the server was down")
    own_server.notify(alice, "also sent while down", "--level", "error")
    own_server.start()

    # No reload: the ws extension reconnects by itself and the consumer sends the stored state.
    expect(page.locator("#notification-count")).to_have_text("3", timeout=RESTART_TIMEOUT)
    expect(items(page)).to_have_count(3)
    expect(items(page).first).to_contain_text("also sent while down")
    ids = items(page).evaluate_all("els => els.map(e => e.id)")
    assert len(set(ids)) == 3


def test_page_catches_up_after_the_network_drops(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    page.context.set_offline(True)
    server.notify(alice, "sent while offline")
    server.notify(alice, "also sent while offline")
    page.context.set_offline(False)
    expect(page.locator("#notification-count")).to_have_text("2")
    expect(items(page)).to_have_count(2)
    expect(items(page).first).to_contain_text("also sent while offline")


def test_grouped_notifications_count_up_live(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    for actor in ("bob", "carol", "dave", "bob"):
        server.notify(alice, "commented on Build 42", "--group-key", "build-42", "--actor", actor)
    expect(items(page)).to_have_count(1)
    expect(items(page).first).to_contain_text("bob and 2 others commented on Build 42")
    expect(page.locator("#notification-count")).to_have_text("1")


def test_action_buttons_post_to_the_callers_url(server: DemoServer, user_page: Any) -> None:
    (alice, alice_pw), (bob, bob_pw) = server.create_users("alice", "bob")
    alice_page = user_page(alice, alice_pw)
    bob_page = user_page(bob, bob_pw)
    send_from_demo_form(bob_page, alice, "May I deploy release 3.1?", ask=True)
    open_bar(alice_page)
    item = items(alice_page).first
    expect(item).to_contain_text("May I deploy release 3.1?")
    item.get_by_role("button", name="Approve").click()
    expect(item).to_have_attribute("data-read", "true")
    expect(alice_page.locator("#notification-count")).to_have_text("0")


def test_history_works_without_javascript(server: DemoServer, new_context: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from notifications import notify;"
        f"u = User.objects.get(username='{alice}');"
        "[notify(u, f'history item {i:02}') for i in range(25)]",
    )
    page = new_context(java_script_enabled=False).new_page()
    log_in_without_js(page, server.base_url, alice, pw)
    page.goto(server.base_url + "/notifications/?show=unread")
    history = page.locator("#notification-history > li")
    expect(history).to_have_count(20)
    expect(history.first).to_contain_text("history item 24")
    page.get_by_role("link", name="Load more").click()  # without JavaScript: a link to the next page
    expect(history).to_have_count(5)
    expect(history.last).to_contain_text("history item 00")

    # Plain POST forms with CSRF tokens: mark one read (back on the same page), dismiss another.
    history.filter(has_text="history item 00").get_by_role("button", name=re.compile("^Mark read")).click()
    expect(page).to_have_url(re.compile(r"/notifications/\?show=unread&before="))
    expect(history).to_have_count(4)
    page.goto(server.base_url + "/notifications/?show=all")
    history.filter(has_text="history item 24").get_by_role("button", name=re.compile("^Dismiss")).click()
    page.goto(server.base_url + "/notifications/?show=archived")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("history item 24")
    expect(page.locator("#notification-count")).to_have_text("23")


def log_in_without_js(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#current-user")).to_have_text(username)


def test_demo_page_has_no_serious_accessibility_violations(server: DemoServer, user_page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw, reduced_motion="reduce")  # axe measures colours mid-animation otherwise
    server.notify(alice, "Disk almost full", "--level", "warning", "--title", "Capacity")
    server.notify(alice, "Build 42 finished", "--level", "success", "--url", "/notifications/")
    expect(items(page)).to_have_count(2)
    open_bar(page)
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], results.generate_report()
    # The toast, a polite live region, carried the last arrival, for screen readers.
    expect(page.locator("#notification-toast")).to_contain_text("Build 42 finished")
    expect(page.locator("#notification-count")).to_have_attribute("aria-label", "0 new notifications")  # seen


def test_the_bar_is_keyboard_operable(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    server.notify(alice, "Reach me with the keyboard")
    expect(items(page)).to_have_count(1)
    page.locator("#notification-bar .nb__toggle").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#notification-panel:popover-open")).to_be_attached()
    page.keyboard.press("Tab")  # Mark all read
    for _ in range(page.locator("#notification-tabs a").count()):
        page.keyboard.press("Tab")  # the panel's tabs (Unread, All, Archive, a kind's)
    page.keyboard.press("Tab")  # the item's Mark read
    expect(page.locator(":focus")).to_contain_text("Mark read")
    page.keyboard.press("Enter")
    expect(items(page).first).to_have_attribute("data-read", "true")
