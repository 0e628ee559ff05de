"""The documentation site in a browser: built as scripts/docs.sh builds it, served by http.server, read in Chromium.

On failure pytest-playwright keeps each page's screenshot and trace in e2e-artifacts/<test-id>/ (the suite's
``--screenshot=only-on-failure --tracing=retain-on-failure``); nothing is kept when the test passes.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from testing.processes import ROOT

#: What scripts/docs.sh runs: warnings are errors, references nitpicky.
SPHINX_BUILD = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html"]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def docs_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The docs, built into a temporary folder with warnings as errors, served on a free port."""
    for name in ("sphinx", "myst_parser", "furo"):
        pytest.importorskip(name, reason="the docs extra is not installed")
    out = tmp_path_factory.mktemp("docs")
    html = out / "html"
    result = subprocess.run(
        [*SPHINX_BUILD, "-d", str(out / "doctrees"), str(ROOT / "docs"), str(html)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout}\n{result.stderr}"
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def loaded(page: Page, selector: str) -> bool:
    """The image was fetched and decoded (a broken src leaves naturalWidth at 0)."""
    return bool(page.locator(selector).evaluate("img => img.complete && img.naturalWidth > 0"))


def test_a_reader_finds_the_bar_and_its_settings_in_the_docs(page: Page, docs_url: str) -> None:
    response = page.goto(f"{docs_url}/index.html")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_contain_text("django-htmx-notification-bar")
    expect(page.locator("article")).to_contain_text("no custom JavaScript")
    screenshot = page.locator('img[alt="The bar with three notifications"]')
    expect(screenshot).to_be_visible()  # the light one, in Chromium's default light scheme
    assert loaded(page, 'img[alt="The bar with three notifications"]')
    expect(page.locator(".sidebar-tree")).to_contain_text("Tutorial: a live bar in ten minutes")

    page.locator(".sidebar-tree").get_by_role("link", name="Settings", exact=True).click()
    expect(page).to_have_url(f"{docs_url}/reference/settings.html")
    expect(page.locator("h1")).to_contain_text("Settings")
    row = page.locator("tr", has=page.locator("#setting-BAR_SIZE"))
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("10")
    expect(row.locator("td").nth(2)).to_contain_text("Items rendered in the bar")
    expect(page.locator("tr", has=page.locator("#setting-WEBSOCKET_PATH")).locator("td").nth(1)).to_have_text(
        '"/ws/notifications/"'
    )
