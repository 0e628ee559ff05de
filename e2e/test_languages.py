"""Every reader's language, end to end: a German, an English and an Arabic reader follow one ticket; one
comment reaches the three tabs within a second, each in its own language and direction; each reads their
history and their digest email in their own language."""

from __future__ import annotations

import email
import subprocess
import sys
from email.message import Message
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from testing.browser import wait_live
from testing.processes import ROOT, DemoServer

#: Each reader's browser language, what their page is marked as, and the comment as they read it.
READERS = {
    "de": ("de-DE", "ltr", "hat kommentiert: Ship it"),
    "en": ("en-US", "ltr", "commented: Ship it"),
    "ar": ("ar", "rtl", ": Ship it"),
}
ARABIC_COMMENTED = "علّق"

#: Resolves, in a test's page, with the time the first item arrived in the bar (the test's probe, not the app's).
ARRIVAL = """() => { window.arrival = new Promise(resolve => {
  const seen = () => document.querySelector('#notification-list > li') && resolve(Date.now());
  new MutationObserver(seen).observe(document.body, {childList: true, subtree: true}); seen();
}); }"""


# A tab's socket closed while still connecting (the page left, or the test ended) logs the ws extension's error
# event: a navigation race, not a failure of what these stories check.
@pytest.mark.console_errors("[object Event]")
def test_one_comment_reaches_three_readers_each_in_their_own_language(server: DemoServer, user_page: Any) -> None:
    names = server.create_users("dave", "de", "en", "ar")
    (dave, dave_pw), readers = names[0], dict(zip(READERS, names[1:], strict=True))
    author = user_page(dave, dave_pw)
    author.goto(server.base_url + "/tickets/")
    wait_live(author)
    author.fill("#id_title", "Release 2.0")
    author.click("#ticket-form button[type=submit]")
    expect(author.locator("#ticket-title")).to_contain_text("Release 2.0")
    wait_live(author)
    ticket_url = author.url

    pages: dict[str, Page] = {}
    for language, (name, pw) in readers.items():
        browser_language, direction, _ = READERS[language]
        page = pages[language] = user_page(name, pw, locale=browser_language)
        page.goto(ticket_url)
        wait_live(page)
        page.click("#follow-form button[type=submit]")
        expect(page.locator("#follow-form")).to_have_attribute("data-following", "true")
        wait_live(page)
        page.goto(server.base_url + "/")
        wait_live(page)
        html = page.locator("html")
        expect(html).to_have_attribute("lang", language)
        expect(html).to_have_attribute("dir", direction)
        page.evaluate(ARRIVAL)

    author.goto(ticket_url)
    wait_live(author)
    author.fill("#id_body", "Ship it")
    author.click("#comment-form button[type=submit]")
    expect(author.locator("#comments")).to_contain_text("Ship it")
    wait_live(author)

    arrivals = []
    for language, page in pages.items():
        item = page.locator("#notification-list > li").first
        expect(item).to_contain_text(f"{READERS[language][2]}")
        arrivals.append(page.evaluate("window.arrival"))
    expect(pages["ar"].locator("#notification-list > li").first).to_contain_text(ARABIC_COMMENTED)
    expect(pages["en"].locator("#notification-list > li").first).to_contain_text(f"{dave} commented: Ship it")
    assert max(arrivals) - min(arrivals) < 1000, arrivals

    # History: the page and the sentence in the reader's language.
    for language, page in pages.items():
        page.goto(server.base_url + "/notifications/")
        wait_live(page)  # its socket is up (one closed while still connecting logs an error event)
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("#notification-history li").first).to_contain_text(READERS[language][2])

    # The digest email, in each reader's language (console mail backend: the emails on stdout).
    addresses = {name: f"{language}@example.test" for language, (name, _) in readers.items()}
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model as g\n"
        + "".join(f"g().objects.filter(username={n!r}).update(email={a!r})\n" for n, a in addresses.items()),
    )
    sent = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "send_digests"],
        env={**server.env, "DIGEST_DELAY": "0"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    mails = {m["To"]: m for m in _emails(sent) if m["To"] in addresses.values()}
    assert set(mails) == set(addresses.values())
    for language, (name, _) in readers.items():
        body = _text(mails[addresses[name]])
        assert READERS[language][2] in body, (language, body)
    assert ARABIC_COMMENTED in _text(mails["ar@example.test"])


def _emails(console_output: str) -> list[Message]:
    """The messages the console mail backend wrote (each ends with a line of 79 dashes)."""
    chunks = console_output.split("-" * 79)
    return [email.message_from_bytes(chunk.strip().encode()) for chunk in chunks if "To:" in chunk]


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    return ""
