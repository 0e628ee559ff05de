"""Take the README's preferences and digest screenshots (docs/preferences.png, docs/digest-email.png):

    .venv/bin/python -m e2e.screenshot_digests

The email is the real one: sent by ``manage.py send_digests`` to an aiosmtpd process, parsed, its HTML part
rendered by Chromium.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from testing.browser import CHROMIUM, CHROMIUM_ARGS, log_in
from testing.processes import ROOT, DemoServer
from testing.smtp import SMTPServer


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, SMTPServer(Path(tmp) / "maildir") as smtp:
        env = {"DATABASE_URL": f"sqlite:///{tmp}/shot.sqlite3", "DIGEST_DELAY": "0", "EMAIL_PORT": str(smtp.port)}
        server = DemoServer(Path(tmp), env)
        server.manage("migrate", "--no-input", "-v0")
        server.manage("seed_demo")
        server.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            "User.objects.filter(username='alice').update(email='alice@example.com')",
        )
        server.notify("alice", "commented on Build 42", "--kind", "comment", "--url", "/notifications/")
        server.notify("alice", "Build 42 passed", "--kind", "build", "--title", "CI")
        server.notify("alice", "bob invited you to the Ops team", "--kind", "invite")
        server.notify("alice", "New sign-in from Firefox on Linux", "--kind", "security")
        server.manage("send_digests")
        [message] = smtp.messages()
        html = message.get_body(preferencelist=("html",))
        assert html is not None
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 900, "height": 640})
                log_in(page, server.base_url, "alice", "alice")
                page.goto(server.base_url + "/notifications/preferences/")
                page.get_by_label("Builds by email").uncheck()
                page.locator("#nb-preferences-status").get_by_text("Saved.").wait_for()
                page.screenshot(path=str(ROOT / "docs" / "preferences.png"), full_page=True)  # animations run: a
                # disabled one would end the heartbeat clock at once and show "Reconnecting…"
                mail_page = browser.new_page(viewport={"width": 700, "height": 640})
                mail_page.set_content(str(html.get_content()))
                mail_page.screenshot(path=str(ROOT / "docs" / "digest-email.png"), full_page=True)
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
