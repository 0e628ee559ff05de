"""Playwright helpers for the browser tests (e2e/) and the screenshot scripts: the browser, logging in, the bar.

The pytest fixtures that use them stay in e2e/conftest.py."""

from __future__ import annotations

import os

from playwright.sync_api import Page, expect

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Test-only instrumentation (never shipped): remember the close code htmx's ws extension saw.
RECORD_CLOSE_CODE = "document.body.addEventListener('htmx:wsClose', e => { window.__closeCode = e.detail.event.code })"


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Log in through the form and wait until the bar's socket has sent its state."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")
    wait_live(page)


def wait_live(page: Page) -> None:
    """The bar shows the state sent over the socket (every frame on connect leaves a marker the page load lacks)."""
    expect(page.locator("#notification-bar .nb-synced")).to_be_attached()


def send_from_demo_form(
    page: Page, to: str, message: str, level: str = "info", url: str = "", *, ask: bool = False
) -> None:
    """Send a notification with the demo page's form (``ask``: with Approve/Decline buttons)."""
    page.select_option("#id_recipient", to)
    page.fill("#id_message", message)
    page.select_option("#id_level", level)
    page.fill("#id_url", url)
    if ask:
        page.check("#id_ask")
    page.click("#send-form button[type=submit]")
    expect(page.locator(".demo-message--success")).to_have_text("Sent.")


def open_bar(page: Page) -> None:
    """Open the bar's panel (a popover), if it is closed."""
    if page.locator("#notification-panel:popover-open").count() == 0:
        page.click("#notification-bar .nb__toggle")
    expect(page.locator("#notification-panel")).to_be_visible()
