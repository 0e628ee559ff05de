"""Several daphne processes sharing one Redis (and one database): the way the bar grows past one process."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from testing.browser import log_in, open_bar, wait_live
from testing.processes import DemoServer


@pytest.mark.console_errors("ERR_CONNECTION_REFUSED", "[object Event]")  # while one server is down
def test_alice_with_tabs_on_two_servers_sees_both_follow(
    start_server: Callable[..., DemoServer], new_context: Any
) -> None:
    server_a, server_b = start_server(), start_server()
    [(alice, pw)] = server_a.create_users("alice")
    context = new_context()
    tab_a = context.new_page()
    log_in(tab_a, server_a.base_url, alice, pw)
    tab_b = context.new_page()  # cookies are per host, not per port: the same session on server B
    tab_b.goto(server_b.base_url + "/")
    wait_live(tab_b)

    # A third process (a worker, a cron job) notifies; Redis carries it to both servers' sockets.
    server_a.notify(alice, "Build 42 finished", "--level", "success")
    for tab in (tab_a, tab_b):
        expect(tab.locator("#notification-list > li").first).to_contain_text("Build 42 finished")
        expect(tab.locator("#notification-count")).to_have_text("1")

    # Reading on server B updates the tab served by server A.
    open_bar(tab_b)
    tab_b.locator("#notification-list > li").first.get_by_role("button", name=re.compile("^Mark read")).click()
    expect(tab_a.locator("#notification-list > li").first).to_have_attribute("data-read", "true")
    expect(tab_a.locator("#notification-count")).to_have_text("0")
