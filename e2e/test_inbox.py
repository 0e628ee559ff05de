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


# --- the panel's tabs, Load more, and outcomes with Undo ------------------------------------------------------

PAGES_SEEDED = 55  # the demo's BAR_SIZE is 10 and PAGE_SIZE 20: the list, then pages of 20, 20 and 5
ITEM = re.compile(r"panel item \d\d|arrival \d")


def seed(server: DemoServer, username: str, count: int, prefix: str = "panel item") -> None:
    """``count`` notifications, "<prefix> 00" the oldest, from one command."""
    server.command(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; from notifications import notify;"
        f"u = get_user_model().objects.get(username={username!r});"
        f"[notify(u, f'{prefix} {{i:02}}') for i in range({count})]",
    )


def choose(page: Page, tab: str) -> None:
    """Choose one of the panel's tabs ("unread", "all", "archived", "kind:comment")."""
    link = page.locator(f'#notification-tabs [data-panel-tab="{tab}"]')
    link.click()
    expect(page.locator(f'#notification-tabs [data-panel-tab="{tab}"]')).to_have_attribute("aria-current", "true")


def count_of(page: Page, slug: str) -> Any:
    """A tab's count as the panel shows it (``slug``: "unread", "all", "archived", "kind-comment")."""
    return page.locator(f"#notification-tab-{slug}-count [data-count]")


def outcome(page: Page) -> Any:
    return page.locator("#notification-outcome")


def live_items(page: Page) -> list[str]:
    """What the live list and its older pages show, in order ("panel item NN", "arrival N")."""
    texts = page.locator("#notification-list > li, #notification-older > li").all_inner_texts()
    return [ITEM.findall(text)[0] for text in texts]


def open_both(tab1: Page, tab2: Page) -> None:
    for tab in (tab1, tab2):
        open_bar(tab)


@pytest.mark.console_errors("[object Event]")
def test_a_dismiss_says_so_in_every_tab_and_undo_brings_it_back(server: DemoServer, user_page: Any) -> None:
    [(alice, password)] = server.create_users("alice")
    server.notify(alice, "Deploy finished")
    server.notify(alice, "Review requested")
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    open_both(tab1, tab2)
    choose(tab2, "archived")  # the second tab watches the Archive
    expect(tab2.locator("#notification-view")).to_be_hidden()  # nothing archived yet
    item = tab1.locator("#notification-list > li", has_text="Deploy finished")
    item.get_by_role("button", name=re.compile("^Dismiss")).click()
    for tab in (tab1, tab2):
        expect(outcome(tab)).to_contain_text("Dismissed: Deploy finished")
        expect(count_of(tab, "archived")).to_have_text("1")
    expect(tab1.locator("#notification-list > li", has_text="Deploy finished")).to_have_count(0)
    expect(tab2.locator("#notification-view > li", has_text="Deploy finished")).to_have_count(1)  # live in Archive
    outcome(tab1).get_by_role("button", name="Undo").click()
    for tab in (tab1, tab2):
        expect(outcome(tab)).to_contain_text("Restored: Deploy finished")
        expect(count_of(tab, "archived")).to_have_text("0")
    expect(tab1.locator("#notification-list > li", has_text="Deploy finished")).to_have_count(1)
    expect(tab2.locator("#notification-view > li")).to_have_count(0)  # gone from the Archive it watches
    choose(tab2, "all")
    expect(tab2.locator("#notification-list > li", has_text="Deploy finished")).to_be_visible()


@pytest.mark.console_errors("[object Event]")
def test_restore_from_the_archive_tab_is_seen_in_every_tab(server: DemoServer, user_page: Any) -> None:
    [(alice, password)] = server.create_users("alice")
    server.notify(alice, "Maintenance finished")
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    open_both(tab1, tab2)
    newest(tab1).get_by_role("button", name=re.compile("^Dismiss")).click()
    expect(tab2.locator("#notification-list > li")).to_have_count(0)
    choose(tab1, "archived")
    archived = tab1.locator("#notification-view > li", has_text="Maintenance finished")
    archived.get_by_role("button", name=re.compile("^Restore")).click()
    expect(tab1.locator("#notification-view > li")).to_have_count(0)
    for tab in (tab1, tab2):
        expect(outcome(tab)).to_contain_text("Restored: Maintenance finished")
    expect(tab2.locator("#notification-list > li", has_text="Maintenance finished")).to_be_visible()


@pytest.mark.console_errors("[object Event]")
def test_mark_all_read_and_undo_in_every_tab(server: DemoServer, user_page: Any) -> None:
    [(alice, password)] = server.create_users("alice")
    server.notify(alice, "Build 41 finished")
    server.notify(alice, "Build 42 finished")
    server.notify(alice, "Build 40 finished")
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    open_both(tab1, tab2)
    newest(tab1).get_by_role("button", name=re.compile("^Mark read")).click()  # read before: stays read
    expect(newest(tab2)).to_have_attribute("data-read", "true")
    tab1.get_by_role("button", name="Mark all read").click()
    for tab in (tab1, tab2):
        expect(outcome(tab)).to_contain_text("Marked 2 notifications read.")
        expect(tab.locator('#notification-list > li[data-read="false"]')).to_have_count(0)
        expect(count_of(tab, "unread")).to_have_text("0")
    outcome(tab2).get_by_role("button", name="Undo").click()  # from the other tab
    for tab in (tab1, tab2):
        expect(outcome(tab)).to_contain_text("2 notifications unread again.")
        expect(tab.locator('#notification-list > li[data-read="false"]')).to_have_count(2)
        expect(newest(tab)).to_have_attribute("data-read", "true")  # exactly those two: not the one read before
        expect(count_of(tab, "unread")).to_have_text("2")


@pytest.mark.console_errors("[object Event]")
def test_the_panel_tabs_show_unread_all_archive_and_a_kind(server: DemoServer, user_page: Any) -> None:
    [(alice, password)] = server.create_users("alice")
    server.notify(alice, "Build 42 finished")
    server.notify(alice, "alice commented", "--kind", "comment")
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    open_both(tab1, tab2)
    for tab in (tab1, tab2):
        expect(count_of(tab, "all")).to_have_text("2")
        expect(count_of(tab, "kind-comment")).to_have_text("1")
    newest(tab1).get_by_role("button", name=re.compile("^Mark read")).click()  # the comment, newest
    choose(tab1, "unread")
    expect(tab1.locator("#notification-list > li:visible")).to_have_count(1)
    expect(tab1.locator("#notification-list > li:visible")).to_contain_text("Build 42 finished")
    server.notify(alice, "Build 43 finished")  # arrives live in Unread
    expect(tab1.locator("#notification-list > li:visible").first).to_contain_text("Build 43 finished")
    for tab in (tab1, tab2):
        expect(count_of(tab, "unread")).to_have_text("2")
    choose(tab1, "kind:comment")
    expect(tab1.locator("#notification-view > li")).to_have_count(1)
    expect(tab1.locator("#notification-view > li")).to_contain_text("alice commented")
    expect(tab1.locator("#notification-list")).to_be_hidden()
    server.notify(alice, "Build 44 finished")  # a kind tab keeps its page; only the counts move
    for tab in (tab1, tab2):
        expect(count_of(tab, "all")).to_have_text("4")
    expect(tab1.locator("#notification-view > li")).to_have_count(1)
    tab1.locator("#notification-view > li").get_by_role("button", name=re.compile("^Mark unread")).click()
    expect(tab1.locator("#notification-view > li")).to_have_attribute("data-read", "false")
    choose(tab1, "unread")
    unread = tab1.locator("#notification-list > li:visible")
    expect(unread).to_have_count(4)  # the comment is unread again; Build 42, 43 and 44
    for left in (3, 2, 1, 0):  # read one by one, each leaves Unread
        unread.first.get_by_role("button", name=re.compile("^Mark read")).click()
        expect(unread).to_have_count(left)
    expect(tab1.locator("#notification-list-slot .nb__empty-unread")).to_be_visible()  # the empty Unread says so
    expect(tab1.locator("#notification-list > li")).to_have_count(4)  # All still lists them


@pytest.mark.console_errors("[object Event]")
def test_load_more_pages_back_three_pages_without_repeat_or_gap_while_notifications_arrive(
    server: DemoServer, user_page: Any
) -> None:
    [(alice, password)] = server.create_users("alice")
    seed(server, alice, PAGES_SEEDED)
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    open_both(tab1, tab2)
    expect(tab1.locator("#notification-list > li")).to_have_count(10)
    more = tab1.locator("#notification-more-next")
    # The list (10), then a page of 20 per round; the first arrival pushes the list's oldest item onto the first
    # page, the later ones push nothing out (the pages hang below the list): 30, 51, then all 55 and 3 arrivals.
    for round_, shown in enumerate((30, 51, PAGES_SEEDED + 3)):
        # A notification arrives (the live list shows it on top) before the next page is read.
        server.notify(alice, f"arrival {round_}")
        expect(newest(tab1)).to_contain_text(f"arrival {round_}")
        more.click()
        expect(tab1.locator("#notification-list > li, #notification-older > li")).to_have_count(shown)
        expect(count_of(tab2, "all")).to_have_text(str(PAGES_SEEDED + round_ + 1))  # the other tab counts them
    expected = [f"arrival {i}" for i in (2, 1, 0)] + [f"panel item {i:02}" for i in reversed(range(PAGES_SEEDED))]
    assert live_items(tab1) == expected  # no repeat, no gap
    ids = tab1.locator("#notification-list > li, #notification-older > li").evaluate_all("els => els.map(e => e.id)")
    assert len(set(ids)) == len(ids)
    expect(more).to_have_text("No older notifications.")
    expect(more).to_be_focused()
    assert tab1.url == server.base_url + "/"  # appended in place, no navigation


def tab_until(page: Page, focused: Any, limit: int = 80) -> None:
    """Press Tab until ``focused`` has the keyboard focus (the way a keyboard user walks the panel)."""
    for _ in range(limit):
        if focused.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    expect(focused).to_be_focused()


@pytest.mark.console_errors("[object Event]")
def test_dismiss_undo_tabs_and_load_more_by_keyboard_alone(server: DemoServer, user_page: Any) -> None:
    [(alice, password)] = server.create_users("alice")
    seed(server, alice, 25)  # the list (10), then a page of 15
    tab1, tab2 = two_tabs(server, user_page, alice, password)
    open_bar(tab2)
    tab1.locator("#notification-bar button[popovertarget]").focus()
    tab1.keyboard.press("Enter")
    # Dismiss the newest: the focus goes on to the next item's Dismiss; both tabs say what happened.
    dismiss = newest(tab1).get_by_role("button", name=re.compile("^Dismiss"))
    tab_until(tab1, dismiss)
    tab1.keyboard.press("Enter")
    expect(tab1.locator("#notification-list > li").nth(0)).to_contain_text("panel item 23")
    expect(newest(tab1).get_by_role("button", name=re.compile("^Dismiss"))).to_be_focused()
    for tab in (tab1, tab2):
        expect(outcome(tab)).to_contain_text("Dismissed: panel item 24")
    tab1.keyboard.press("Shift+Tab")  # back up the panel to the outcome's Undo
    for _ in range(10):
        if outcome(tab1).get_by_role("button", name="Undo").evaluate("el => el === document.activeElement"):
            break
        tab1.keyboard.press("Shift+Tab")
    expect(outcome(tab1).get_by_role("button", name="Undo")).to_be_focused()
    tab1.keyboard.press("Enter")
    for tab in (tab1, tab2):
        expect(outcome(tab)).to_contain_text("Restored: panel item 24")
        expect(newest(tab)).to_contain_text("panel item 24")
    # The tabs: Archive by keyboard, the focus stays on the chosen tab.
    archive_tab = tab1.locator('#notification-tabs [data-panel-tab="archived"]')
    tab1.locator('#notification-tabs [data-panel-tab="unread"]').focus()
    tab_until(tab1, archive_tab)
    tab1.keyboard.press("Enter")
    expect(archive_tab).to_have_attribute("aria-current", "true")
    expect(tab1.locator('#notification-tabs [data-panel-tab="archived"]')).to_be_focused()
    expect(tab1.locator("#notification-view-slot .nb-view__empty")).to_be_visible()  # nothing archived: it says so
    all_tab = tab1.locator('#notification-tabs [data-panel-tab="all"]')
    all_tab.focus()
    tab1.keyboard.press("Enter")
    expect(all_tab).to_have_attribute("aria-current", "true")
    # Load more by keyboard: the focus stays on it, then on the end, while a notification arrives.
    more = tab1.locator("#notification-more-next")
    tab_until(tab1, more, limit=200)
    server.notify(alice, "arrival 0")
    expect(newest(tab1)).to_contain_text("arrival 0")
    tab1.keyboard.press("Enter")
    expect(tab1.locator("#notification-older > li")).to_have_count(16)  # with the item the arrival pushed down
    expect(more).to_have_text("No older notifications.")
    expect(more).to_be_focused()
    expected = ["arrival 0"] + [f"panel item {i:02}" for i in reversed(range(25))]
    assert live_items(tab1) == expected
