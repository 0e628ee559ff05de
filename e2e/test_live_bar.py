"""The live bar, end to end: a real daphne, Redis, Chromium; notifications arrive without a reload."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from testing.browser import send_from_demo_form
from testing.processes import DemoServer


def badge(page: Page) -> Any:
    return expect(page.locator("#notification-count"))


def test_alice_sees_notification_live_while_bob_does_not(server: DemoServer, user_page: Any) -> None:
    (alice, alice_pw), (bob, bob_pw) = server.create_users("alice", "bob")
    alice_page = user_page(alice, alice_pw)
    bob_page = user_page(bob, bob_pw)
    badge(alice_page).to_have_text("0")

    send_from_demo_form(bob_page, alice, "Build 42 finished", level="success")

    item = alice_page.locator("#notification-list > li").first
    expect(item).to_contain_text("Build 42 finished")
    expect(item).to_have_attribute("data-read", "false")
    expect(item).to_have_attribute("id", re.compile(r"^notification-\d+$"))
    badge(alice_page).to_have_text("1")
    # Bob's bar (after his own page reload from the form) still holds nothing.
    badge(bob_page).to_have_text("0")
    expect(bob_page.locator("#notification-list > li")).to_have_count(0)


def test_a_second_tab_of_alice_gets_it_too(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    tab1 = user_page(alice, pw)
    tab2 = tab1.context.new_page()
    tab2.goto(server.base_url + "/")
    expect(tab2.locator("#notification-bar .nb-synced")).to_be_attached()

    server.notify(alice, "Deploy finished", "--level", "success")
    server.notify(alice, "Deploy started")

    for tab in (tab1, tab2):
        expect(tab.locator("#notification-list > li")).to_have_count(2)
        expect(tab.locator("#notification-list > li").first).to_contain_text("Deploy started")
        badge(tab).to_have_text("2")


def test_notify_command_in_another_process_reaches_the_open_page(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    result = server.notify(alice, "From a worker process", "--level", "warning", "--url", "/notifications/")
    assert "Stored a notification" in result.stdout
    item = page.locator("#notification-list > li").first
    expect(item).to_contain_text("From a worker process")
    expect(item).to_have_class(re.compile(r"nb-item--warning"))
    badge(page).to_have_text("1")


def test_notification_to_everyone_reaches_both_users(server: DemoServer, user_page: Any) -> None:
    (alice, alice_pw), (bob, bob_pw) = server.create_users("alice", "bob")
    alice_page = user_page(alice, alice_pw)
    bob_page = user_page(bob, bob_pw)
    server.manage("notify", "--all", "Maintenance tonight at 22:00")
    for page in (alice_page, bob_page):
        expect(page.locator("#notification-list > li").first).to_contain_text("Maintenance tonight")


def test_script_in_a_message_shows_as_text_and_never_runs(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    server.notify(alice, payload, "--title", "<b onmouseover=alert(3)>t</b>")
    item = page.locator("#notification-list > li").first
    expect(item).to_contain_text(payload)
    page.reload()
    expect(page.locator("#notification-list > li").first).to_contain_text(payload)
    assert dialogs == []
    assert page.locator("#notification-list img, #notification-list script, #notification-list b").count() == 0


def test_page_loads_only_htmx_and_its_ws_extension(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    scripts = page.eval_on_selector_all("script", "els => els.map(e => [e.getAttribute('src'), e.textContent])")
    sources = sorted(src.rsplit("/", 1)[-1] for src, _ in scripts)
    assert sources == ["htmx-2.min.js", "hx-ws-2.min.js"], scripts
    assert all(not body.strip() for _, body in scripts)  # no inline script bodies
    handlers = page.eval_on_selector_all(
        "*",
        "els => els.flatMap(e => [...e.attributes].map(a => a.name))"
        ".filter(n => n.startsWith('on') || n.startsWith('hx-on'))",
    )
    assert handlers == []
