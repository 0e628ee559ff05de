"""Notifications about things, end to end: two people, a ticket, two tabs (real daphne, Redis, Chromium).

Alice opens a ticket and follows it; Bob comments on it; Alice's two tabs get the news live, about the ticket,
by its name; Alice unfollows in one tab and both tabs show it; opening the ticket reads it in both tabs; once
the ticket is deleted her notification keeps its name, says it is gone, and leads nowhere.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from testing.browser import open_bar, wait_live
from testing.processes import DemoServer


def open_ticket(page: Page, base_url: str, title: str) -> str:
    """Open a ticket with the tickets page's form; returns its URL (its author follows it)."""
    page.goto(base_url + "/tickets/")
    wait_live(page)
    page.fill("#id_title", title)
    page.click("#ticket-form button[type=submit]")
    expect(page.locator("#ticket-title")).to_contain_text(title)
    wait_live(page)
    return page.url


def comment(page: Page, url: str, text: str) -> None:
    page.goto(url)
    wait_live(page)
    page.fill("#id_body", text)
    page.click("#comment-form button[type=submit]")
    expect(page.locator("#comments")).to_contain_text(text)
    wait_live(page)


# A tab's socket closed while still connecting (the page left, or the test ended) logs the ws extension's error
# event: a navigation race, not a failure of what these stories check.
@pytest.mark.console_errors("[object Event]")
def test_followers_hear_of_a_comment_unfollow_and_read_on_visit_in_every_tab(
    server: DemoServer, user_page: Any
) -> None:
    (alice, alice_pw), (bob, bob_pw) = server.create_users("alice", "bob")
    tab1 = user_page(alice, alice_pw)
    ticket_url = open_ticket(tab1, server.base_url, "Login broken on Safari")
    tab1.goto(server.base_url + "/")
    wait_live(tab1)
    tab2 = tab1.context.new_page()
    tab2.goto(server.base_url + "/")
    wait_live(tab2)

    bob_page = user_page(bob, bob_pw)
    comment(bob_page, ticket_url, "Same on my iPad")

    for tab in (tab1, tab2):
        item = tab.locator("#notification-list > li").first
        expect(item).to_contain_text(f"{bob} commented: Same on my iPad")
        expect(item.locator(".nb-item__target")).to_contain_text("Login broken on Safari")
        expect(item).to_have_attribute("data-following", "true")
        expect(tab.locator("#notification-count")).to_have_text("1")
        expect(tab).to_have_title(re.compile(r"^\(1\) "))
    # Bob, the commenter, is not told about his own comment.
    bob_page.goto(server.base_url + "/")
    wait_live(bob_page)
    expect(bob_page.locator("#notification-count")).to_have_text("0")

    # Unfollow from tab 1's panel: both tabs show the outcome on the item, no reload.
    open_bar(tab1)
    tab1.locator("#notification-list > li").first.get_by_role("button", name=re.compile("^Unfollow")).click()
    for tab in (tab1, tab2):
        item = tab.locator("#notification-list > li").first
        expect(item).to_have_attribute("data-following", "false")
        expect(item.locator(".nb__button--follow")).to_contain_text(re.compile(r"^Follow"))
    comment(bob_page, ticket_url, "Unheard")
    tab2.wait_for_timeout(500)
    expect(tab2.locator("#notification-list > li")).to_have_count(1)

    # Follow again, hear again; then opening the ticket reads it, in every tab.
    open_bar(tab1)
    tab1.locator("#notification-list > li").first.get_by_role("button", name=re.compile("^Follow")).click()
    expect(tab2.locator("#notification-list > li").first).to_have_attribute("data-following", "true")
    comment(bob_page, ticket_url, "Fixed in 2.1?")
    expect(tab2.locator("#notification-list > li").first).to_contain_text("Fixed in 2.1?")
    tab1.goto(ticket_url)
    wait_live(tab1)
    expect(tab2.locator("#notification-count")).to_have_text("0")
    expect(tab2.locator("#notification-list > li").first).to_have_attribute("data-read", "true")
    expect(tab2).not_to_have_title(re.compile(r"^\(\d+\)"))

    # Deleted: Alice's notification keeps the ticket's name, says it is gone, and has no link.
    bob_page.goto(ticket_url)
    wait_live(bob_page)
    bob_page.click("#delete-form button[type=submit]")
    expect(bob_page.locator("#tickets")).to_be_visible()
    wait_live(bob_page)
    tab1.goto(server.base_url + "/notifications/")
    wait_live(tab1)
    entry = tab1.locator("#notification-history li").first
    expect(entry).to_have_attribute("data-target-gone", "true")
    expect(entry.locator(".nb-item__target")).to_contain_text("Login broken on Safari")
    expect(entry.locator(".nb-item__target")).to_contain_text("deleted")
    expect(entry.locator(".nb-item__open")).to_have_count(0)
    expect(entry.get_by_role("button", name=re.compile("^(Un)?[Ff]ollow"))).to_have_count(0)


def test_a_form_posted_twice_notifies_once(server: DemoServer, user_page: Any) -> None:
    (alice, alice_pw), (bob, bob_pw) = server.create_users("alice", "bob")
    alice_page = user_page(alice, alice_pw)
    bob_page = user_page(bob, bob_pw)
    bob_page.select_option("#id_recipient", alice)
    bob_page.fill("#id_message", "Invoice 7 paid")
    form = {
        name: bob_page.locator(f"#send-form [name={name}]").input_value()
        for name in ("csrfmiddlewaretoken", "recipient", "message", "level", "url", "key")
    }
    for _ in range(2):  # the same rendered form, sent twice (a double click, a browser retry)
        response = bob_page.request.post(
            server.base_url + "/send/", form=form, headers={"Referer": server.base_url + "/"}
        )
        assert response.ok
    expect(alice_page.locator("#notification-list > li").first).to_contain_text("Invoice 7 paid")
    alice_page.wait_for_timeout(500)
    expect(alice_page.locator("#notification-list > li")).to_have_count(1)
    expect(alice_page.locator("#notification-count")).to_have_text("1")
