"""Preferences end to end: a kind muted in one tab no longer reaches the bar in another; the page works without JS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from testing.processes import DemoServer


def test_a_kind_muted_in_one_tab_no_longer_reaches_the_bar_in_another(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    bar_tab = user_page(alice, pw)
    prefs_tab = bar_tab.context.new_page()
    prefs_tab.goto(server.base_url + "/notifications/preferences/")
    comments = prefs_tab.get_by_label("Comments in the bar")
    expect(comments).to_be_checked()

    # htmx saves on change: no Save click, the form comes back in place saying so.
    comments.uncheck()
    expect(prefs_tab.locator("#nb-preferences-status")).to_have_text("Saved.")
    expect(prefs_tab.get_by_label("Comments in the bar")).not_to_be_checked()

    server.notify(alice, "bob commented on your post", "--kind", "comment")
    server.notify(alice, "Build 12 passed", "--kind", "build")

    # The build (sent after the comment) arrives; the comment never does, and is not counted.
    expect(bar_tab.locator("#notification-list > li").first).to_contain_text("Build 12 passed")
    expect(bar_tab.locator("#notification-list > li")).to_have_count(1)
    expect(bar_tab.locator("#notification-count")).to_have_text("1")
    # Stored all the same: the history lists it.
    bar_tab.goto(server.base_url + "/notifications/")
    expect(bar_tab.locator("#notification-history")).to_contain_text("bob commented on your post")


def test_mute_everything_then_unmute(server: DemoServer, user_page: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    bar_tab = user_page(alice, pw)
    prefs_tab = bar_tab.context.new_page()
    prefs_tab.goto(server.base_url + "/notifications/preferences/")
    prefs_tab.get_by_role("button", name="Mute for 1 hour").click()
    expect(prefs_tab.locator("#nb-muted-until")).to_contain_text("Muted until")

    server.notify(alice, "Quiet build", "--kind", "build")
    prefs_tab.get_by_role("button", name="Unmute").click()
    expect(prefs_tab.get_by_role("button", name="Mute for 1 hour")).to_be_visible()
    server.notify(alice, "Loud build", "--kind", "build")

    expect(bar_tab.locator("#notification-list > li").first).to_contain_text("Loud build")
    expect(bar_tab.locator("#notification-list > li")).to_have_count(1)
    expect(bar_tab.locator("#notification-count")).to_have_text("1")


def test_preferences_page_works_without_javascript(
    server: DemoServer, new_context: Callable[..., BrowserContext]
) -> None:
    [(alice, pw)] = server.create_users("alice")
    page: Page = new_context(java_script_enabled=False).new_page()
    page.goto(f"{server.base_url}/accounts/login/?next=/notifications/preferences/")
    page.fill("#id_username", alice)
    page.fill("#id_password", pw)
    page.click("#login-form button[type=submit]")
    expect(page.get_by_label("Builds by email")).to_be_checked()

    page.get_by_label("Builds by email").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(f"{server.base_url}/notifications/preferences/?saved=1")
    expect(page.locator("#nb-preferences-status")).to_have_text("Saved.")
    expect(page.get_by_label("Builds by email")).not_to_be_checked()
    expect(page.get_by_label("Comments by email")).to_be_checked()
