"""The open panel stays on screen wherever a project puts the bell, on a desktop and on a phone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from testing.browser import open_bar
from testing.processes import DemoServer

# Where a project may put the bell: the demo's header as it is (bell right of centre), or first in the header.
BELL_FIRST = "#notification-bar { order: -1; } .demo-header { justify-content: flex-start; }"


@pytest.mark.parametrize(
    ("width", "bell_first"),
    [(1280, False), (1280, True), (430, False), (375, False), (375, True), (320, False)],
    ids=["desktop", "desktop-bell-first", "phone-430", "phone-375", "phone-375-bell-first", "phone-320"],
)
def test_the_open_panel_fits_the_viewport_wherever_the_bell_is(
    server: DemoServer, user_page: Callable[..., Page], width: int, bell_first: bool
) -> None:
    [(alice, pw)] = server.create_users("alice")
    server.notify(alice, "Build 42 finished, with a message long enough to wrap on a phone")
    # bypass_csp: the test moves the bell with an inline style (a project would ship it in its stylesheet).
    page: Any = user_page(alice, pw, viewport={"width": width, "height": 800}, bypass_csp=True)
    if bell_first:
        page.add_style_tag(content=BELL_FIRST)
    open_bar(page)
    panel = page.locator(".nb__panel")
    expect(panel).to_be_visible()
    box, bell = panel.bounding_box(), page.locator(".nb__toggle").bounding_box()
    assert box is not None and bell is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"panel {box} leaves a {width}px viewport"
    assert box["y"] >= bell["y"] + bell["height"], "the panel opens below the bell"
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
