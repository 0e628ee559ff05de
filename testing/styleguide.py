"""The styleguide (/styleguide/) as the browser tests see it: its sections, the screenshot setup, a brand theme.

Used by e2e/test_styleguide.py and e2e/test_visual_references.py (and the ``styleguide`` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Locator, Page

# One rendering setup for every screenshot: same size, scale, motion, colours, language and clock zone.
STYLEGUIDE_CONTEXT: dict[str, Any] = {
    "viewport": {"width": 1280, "height": 900},
    "device_scale_factor": 1,
    "reduced_motion": "reduce",
    "color_scheme": "light",
    "locale": "en-US",
    "timezone_id": "UTC",
}

SECTIONS = [
    "state-tokens",
    "state-bar",
    "state-empty",
    "state-one-unread",
    "state-many-unread",
    "state-seen",
    "state-toast",
    "state-reconnecting",
    "state-levels",
    "state-just-arrived",
    "state-long-text",
    "state-link",
    "state-actions",
    "state-resolved",
    "state-grouped",
    "state-read",
    "state-focus",
    "state-snooze",
    "state-phone",
    "state-things",
    "state-rtl",
    "state-rtl-phone",
    "state-long-words",
    "state-archived",
    "state-history",
    "state-kinds",
    "state-panel-all",
    "state-panel-unread",
    "state-panel-archive",
    "state-panel-kind",
    "state-panel-empty",
    "state-panel-paging",
    "state-panel-outcome",
    "state-panel-phone",
]
Styleguide = Callable[..., Page]
# A brand theme that sets custom properties only: the stylesheet's documented way to theme the bar.
THEME = """
:root {
  --nb-accent: #7b1fa2;
  --nb-badge-bg: #00796b;
  --nb-badge-text: #ffffff;
  --nb-unread-bg: #fff3e0;
  --nb-info: #7b1fa2;
  --nb-radius: 0px;
  --nb-border: #9e9e9e;
}
"""


def shot(section: Locator) -> bytes:
    return section.screenshot(animations="disabled", caret="hide", scale="css")


def section(page: Page, name: str) -> Locator:
    return page.locator(f"section#{name}")


def items(page: Page, name: str) -> Locator:
    return section(page, name).locator(".nb-item")


def panel_items(page: Page, name: str) -> Locator:
    """The items of a bar state's open panel (the closed bar beside it holds the same items, hidden)."""
    return section(page, name).locator(".sg-panel .nb-item")
