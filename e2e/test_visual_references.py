"""Visual references: each styleguide section against its picture in e2e/reference/ (see e2e/visual.py).

After an intended design change: ``pytest e2e/test_visual_references.py --update-references``, then review the
new images (``git diff --stat e2e/reference/``) before committing them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from e2e.visual import CHANNEL_THRESHOLD, MAX_DIFF_RATIO, References, compare, differs
from testing.styleguide import SECTIONS, THEME, Styleguide, panel_items, section, shot


def test_each_state_looks_like_its_reference(styleguide: Styleguide, references: References) -> None:
    """Every section from one page load (a load per section cost the suite ~15 s); all mismatches reported."""
    page = styleguide()
    page.mouse.move(0, 0)  # no hover in the picture
    failures = []
    for name in SECTIONS:
        try:
            references.assert_matches(name, shot(section(page, name)))
        except pytest.fail.Exception as failure:
            failures.append(str(failure))
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def test_the_open_bar_looks_like_its_reference(styleguide: Styleguide, references: References) -> None:
    page = styleguide()
    stage = section(page, "state-bar")
    stage.locator("#notification-bar .nb__toggle").click()
    expect(stage.locator("#notification-bar .nb__panel")).to_be_visible()
    page.mouse.move(0, 0)
    references.assert_matches("state-bar-open", shot(stage))


def test_brand_theme_through_custom_properties_restyles_the_bar(styleguide: Styleguide, references: References) -> None:
    declarations = re.findall(r"([\w-]+)\s*:[^;{}]+;", THEME)
    assert declarations and all(name.startswith("--nb-") for name in declarations)  # custom properties only
    # The test injects a project's stylesheet inline (a project ships it as a file): past the demo's CSP.
    page = styleguide(bypass_csp=True)
    stage = section(page, "state-many-unread")
    default = shot(stage)

    page.add_style_tag(content=THEME)
    badge = stage.locator(".nb__toggle .nb__count")
    expect(badge).to_have_css("background-color", "rgb(0, 121, 107)")
    expect(panel_items(page, "state-many-unread").first).to_have_css("border-radius", "0px")
    expect(panel_items(page, "state-many-unread").first).to_have_css("background-color", "rgb(255, 243, 224)")
    themed = shot(stage)
    references.assert_matches("theme-state-many-unread", themed)
    assert differs(themed, default), "the theme changed nothing: the CSS no longer reads its custom properties"


def test_qa_catches_a_badge_that_changed_colour(styleguide: Styleguide) -> None:
    # The test injects a project's stylesheet inline (a project ships it as a file): past the demo's CSP.
    page = styleguide(bypass_csp=True)
    stage = section(page, "state-one-unread")
    before = shot(stage)
    page.add_style_tag(content=":root { --nb-badge-bg: #1565c0; }")  # a small regression: one badge
    expect(stage.locator(".nb__toggle .nb__count")).to_have_css("background-color", "rgb(21, 101, 192)")
    assert differs(shot(stage), before), "the tolerance lets a recoloured badge through"


@pytest.mark.parametrize(
    "name",
    [
        "state-many-unread",
        "state-levels",
        "state-toast",
        "state-history",
        "state-rtl-phone",
        "state-things",
        *(name for name in SECTIONS if name.startswith("state-panel-")),
    ],
)
def test_dark_mode_visitor_sees_the_dark_palette(styleguide: Styleguide, references: References, name: str) -> None:
    light = styleguide()
    dark = styleguide(color_scheme="dark")
    expect(dark.locator("body")).to_have_css("background-color", "rgb(18, 21, 27)")  # --nb-page-bg, dark
    expect(light.locator("body")).to_have_css("background-color", "rgb(246, 247, 249)")
    dark_shot = shot(section(dark, name))
    references.assert_matches(f"dark-{name}", dark_shot)
    assert differs(dark_shot, shot(section(light, name))), "dark mode changed nothing"


# --- the comparison itself (no browser) ----------------------------------------------------------------------


def _canvas(colour: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    return Image.new("RGB", (100, 100), colour)


def test_qa_is_warned_only_when_a_screenshot_drifts_beyond_tolerance() -> None:
    base = _canvas()
    speck = base.copy()
    speck.putpixel((5, 5), (0, 0, 0))  # 1 pixel of 10,000: noise
    block = base.copy()
    block.paste((0, 0, 0), (0, 0, 10, 10))  # 100 pixels: 1 %
    tint = _canvas((255 - CHANNEL_THRESHOLD, 255, 255))  # every pixel, below the channel threshold
    assert compare(speck, base).differing == 1 and not differs(speck, base)
    assert compare(block, base).ratio == 0.01 > MAX_DIFF_RATIO and differs(block, base)
    assert compare(tint, base).differing == 0
    assert differs(base, Image.new("RGB", (100, 101), "white"))  # another size always differs


def test_qa_gets_actual_expected_and_diff_images_when_a_reference_no_longer_matches(tmp_path: Path) -> None:
    refs = References(artifacts=tmp_path / "artifacts", update=False, folder=tmp_path / "reference")
    refs.folder.mkdir()
    _canvas().save(refs.path("sample"))
    changed = _canvas()
    changed.paste((200, 0, 0), (0, 0, 20, 20))
    png = tmp_path / "changed.png"
    changed.save(png)

    with pytest.raises(pytest.fail.Exception, match=r"400 of 10000 pixels differ \(4\.000% > 0\.050%\)"):
        refs.assert_matches("sample", png.read_bytes())
    assert sorted(p.name for p in refs.artifacts.iterdir()) == [
        "sample-actual.png",
        "sample-diff.png",
        "sample-expected.png",
    ]
    assert Image.open(refs.artifacts / "sample-diff.png").getpixel((5, 5)) == (230, 0, 0)

    updating = References(artifacts=tmp_path / "unused", update=True, folder=refs.folder)
    updating.assert_matches("sample", png.read_bytes())
    assert updating.updated == [refs.path("sample")]
    refs.assert_matches("sample", png.read_bytes())  # the new reference matches
    updating.assert_matches("sample", png.read_bytes())
    assert updating.updated == [refs.path("sample")]  # within tolerance: not rewritten again
