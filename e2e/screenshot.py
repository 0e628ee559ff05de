"""Take the README's screenshots (docs/screenshot*.png), desktop and phone, light and dark:
python -m e2e.screenshot"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from testing.browser import CHROMIUM, CHROMIUM_ARGS, log_in
from testing.processes import ROOT, DemoServer

SHOTS = {"screenshot": {"width": 1000, "height": 520}, "screenshot-phone": {"width": 375, "height": 640}}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = DemoServer(Path(tmp), {"DATABASE_URL": f"sqlite:///{tmp}/shot.sqlite3"})
        server.manage("migrate", "--no-input", "-v0")
        server.manage("seed_demo")
        server.notify("alice", "Nightly backup completed", "--level", "success")
        server.notify("alice", "Disk usage on db-2 is at 91%", "--level", "warning", "--title", "Capacity")
        server.notify("alice", "Build 42 finished", "--level", "success", "--url", "/notifications/")
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for name, viewport in SHOTS.items():
                    for scheme in ("light", "dark"):
                        page = browser.new_page(viewport=viewport, color_scheme=scheme, reduced_motion="reduce")
                        log_in(page, server.base_url, "alice", "alice")
                        page.click(".nb__toggle")
                        page.mouse.move(0, 0)
                        page.wait_for_timeout(500)  # the panel's items have arrived and settled
                        suffix = "" if scheme == "light" else "-dark"
                        # Animations run: "disabled" would finish the live indicator's (it shows when frames stop).
                        page.screenshot(path=str(ROOT / "docs" / f"{name}{suffix}.png"), animations="allow")
                        page.close()
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
