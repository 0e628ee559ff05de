"""The demo under a strict Content-Security-Policy (Django 6's own): the live bar works with zero violations.

No inline script or style, no eval, nothing from another origin: htmx and its ws extension load from the
site with the request's nonce, the bar's frames add no inline style, and the styleguide's one generated
<style> carries the nonce. Chromium reports every violation on the console; none may appear.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from testing.browser import open_bar
from testing.processes import DemoServer

pytestmark = pytest.mark.skipif(django.VERSION < (6, 0), reason="Django 6.0 brought Content-Security-Policy support")


def violations(page: Page) -> list[str]:
    """Console messages about the policy, collected from now on (Chromium logs each refused resource)."""
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            found.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def test_alice_uses_the_live_bar_under_a_strict_csp_without_a_single_violation(
    server: DemoServer, user_page: Callable[..., Page], new_context: Any
) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = new_context().new_page()
    seen = violations(page)
    response = page.goto(f"{server.base_url}/accounts/login/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy and "'nonce-" in policy

    page.fill("#id_username", alice)
    page.fill("#id_password", pw)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#notification-bar .nb-synced")).to_be_attached()  # htmx and the socket run

    server.notify(alice, "Build 42 finished", "--level", "success", "--url", "/notifications/")
    expect(page.locator("#notification-list > li").first).to_contain_text("Build 42 finished")
    open_bar(page)
    page.locator("#notification-list > li").first.get_by_role("button", name="Mark read").click()
    expect(page.locator("#notification-count")).to_have_text("0")

    for path in ("/notifications/", "/styleguide/"):
        page.goto(server.base_url + path)
        page.wait_for_load_state("networkidle")
    assert seen == []
