"""Right-to-left languages: pages say their language and direction, and the stylesheets mirror by themselves.

The stylesheets use CSS logical properties (margin-inline-start, inset-inline-end, text-align: start, ...), so a
page with ``<html dir="rtl">`` mirrors the bar, panel, toast, history and preferences with no extra rule.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from testing.html import elements

STATIC = Path(__file__).resolve().parent.parent / "static"
STYLESHEETS = sorted(STATIC.rglob("*.css"))

# Physical (left/right) declarations deliberately kept, as (stylesheet relative to static/, declaration) -> why.
# Each also carries a CSS comment saying why beside it. None is needed today: everything direction-sensitive
# has a logical form, and symmetric declarations (``padding: 0 1rem``) need none.
KEPT_PHYSICAL: dict[tuple[str, str], str] = {}

# Declarations naming a physical side where a logical one exists.
PHYSICAL = re.compile(
    r"""(?<![\w-])(?:
        (?:margin|padding|border)-(?:left|right)(?:-[\w-]+)?\s*:       # margin-left, border-right-color
      | (?:left|right)\s*:                                              # left: / right: offsets
      | border-(?:top|bottom)-(?:left|right)-radius\s*:                 # corner radii
      | (?:text-align|float|clear)\s*:\s*(?:left|right)\b
      | (?:justify-self|justify-items|justify-content)\s*:\s*(?:left|right)\b
      | (?:position-area|inset-area)\s*:[^;}]*\b(?:left|right)\b        # anchor positioning
    )""",
    re.VERBOSE,
)
# Shorthands whose second and fourth values are the right and left sides, and border-radius's corners.
SIDES_SHORTHAND = re.compile(r"(?<![\w-])(margin|padding|inset|border-width|border-style|border-color)\s*:\s*([^;}]+)")
RADIUS_SHORTHAND = re.compile(r"(?<![\w-])border-radius\s*:\s*([^;}]+)")
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
DECLARATION_END = re.compile(r"[;}]")


def values(text: str) -> list[str]:
    """The space-separated values of a declaration, a parenthesised group (``calc(a / 2)``) counting as one."""
    found: list[str] = []
    depth, current = 0, ""
    for char in text.replace("!important", "").strip():
        depth += (char == "(") - (char == ")")
        if char.isspace() and depth == 0:
            if current:
                found.append(current)
            current = ""
        else:
            current += char
    return [*found, current] if current else found


def physical_declarations(css: str) -> list[str]:
    """Each declaration of ``css`` (comments ignored) that lays out its left and right sides differently."""
    css = COMMENT.sub(lambda comment: " " * len(comment.group()), css)
    found = [css[m.start() : _end(css, m.start())].strip() for m in PHYSICAL.finditer(css)]
    for match in SIDES_SHORTHAND.finditer(css):
        sides = values(match.group(2))
        if len(sides) == 4 and sides[1] != sides[3]:
            found.append(match.group().strip())
    for match in RADIUS_SHORTHAND.finditer(css):
        corners = [v for v in values(match.group(1)) if v != "/"]
        if len(set(corners)) > 1:
            found.append(match.group().strip())
    return found


def name(stylesheet: Path) -> str:
    """How KEPT_PHYSICAL names a stylesheet: its path under static/."""
    return stylesheet.relative_to(STATIC).as_posix()


def _end(css: str, start: int) -> int:
    end = DECLARATION_END.search(css, start)
    return end.start() if end else len(css)


def html_element(client: Client, language: str) -> dict[str, str | None]:
    response = client.get("/notifications/", headers={"accept-language": language})
    assert response.status_code == 200
    (html,) = elements(response.content.decode(), "html")
    return html.attrs


@pytest.fixture(params=["demo/base.html", "notifications/base.html"])
def alice_client(request: pytest.FixtureRequest, alice: Any, settings: Any) -> Client:
    """Alice, logged in, with the history page inside the demo's layout or the app's own bare page."""
    settings.NOTIFICATIONS = {**settings.NOTIFICATIONS, "BASE_TEMPLATE": request.param}
    client = Client()
    client.force_login(alice)
    return client


def test_arabic_reader_gets_a_right_to_left_history_page(alice_client: Client) -> None:
    attrs = html_element(alice_client, "ar")
    assert attrs.get("lang") == "ar"
    assert attrs.get("dir") == "rtl"


def test_german_reader_gets_a_left_to_right_history_page(alice_client: Client) -> None:
    attrs = html_element(alice_client, "de")
    assert attrs.get("lang") == "de"
    assert attrs.get("dir") == "ltr"


def test_stylesheets_under_test_include_the_bar_and_the_demo() -> None:
    names = {name(path) for path in STYLESHEETS}
    assert {"notifications/notifications.css", "demo/demo.css", "demo/styleguide.css"} <= names


@pytest.mark.parametrize("path", STYLESHEETS, ids=lambda path: name(path))
def test_stylesheet_uses_logical_sides_so_it_mirrors_right_to_left(path: Path) -> None:
    unexpected = [d for d in physical_declarations(path.read_text()) if (name(path), d) not in KEPT_PHYSICAL]
    assert not unexpected, f"{name(path)}: use logical properties (or allow them in KEPT_PHYSICAL, with a reason)"


def test_every_kept_physical_declaration_is_still_there() -> None:
    present = {
        (name(path), declaration) for path in STYLESHEETS for declaration in physical_declarations(path.read_text())
    }
    assert set(KEPT_PHYSICAL) <= present, "a kept declaration is gone: drop it from KEPT_PHYSICAL"


@pytest.mark.parametrize(
    "css",
    [
        ".a { margin-left: 1rem; }",
        ".a { padding-right: 0 }",
        ".a { border-left: 1px solid red; }",
        ".a { border-right-color: red; }",
        ".a { position: fixed; right: .5rem; }",
        ".a { left:0 }",
        ".a { text-align: left; }",
        ".a { float: right; }",
        ".a { border-top-left-radius: 4px; }",
        ".a { border-radius: 4px 0 0 4px; }",
        ".a { margin: .25rem .5rem .25rem 0; }",
        ".a { padding: 0 calc(1rem / 2) 0 0; }",
        ".a { position-area: bottom span-left; }",
    ],
)
def test_physical_declaration_is_caught(css: str) -> None:
    assert physical_declarations(css)


@pytest.mark.parametrize(
    "css",
    [
        ".a { margin-inline-start: 1rem; padding-inline: 0 .5rem; border-inline-start: 1px solid red; }",
        ".a { inset-inline-end: .5rem; text-align: start; float: inline-end; }",
        ".a { padding: .35rem .6rem; margin: 0 0 1.25rem; border-radius: 999px; inset: auto; }",
        ".a { margin: .25rem 1rem .25rem 1rem; border-radius: calc(var(--r) / 2); }",
        ".a { position-area: block-end span-inline-start; }",
        "/* was: margin-left: 1rem; */ .a { margin-inline-start: 1rem; }",
        ".a { top: 1rem; bottom: 0; }",
    ],
)
def test_logical_or_symmetric_declaration_passes(css: str) -> None:
    assert not physical_declarations(css)
