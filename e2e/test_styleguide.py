"""The styleguide (/styleguide/): every state of the bar, checked by eye once and by pixels ever after.

Each test screenshots one ``<section id="state-...">`` (fixed viewport, device scale 1, reduced motion,
animations disabled) and compares it with ``e2e/reference/<name>.png`` through the ``references`` fixture of
the ``e2e.visual`` plugin (registered in the root conftest.py; else run pytest with ``-p e2e.visual``).
After an intended design change: ``pytest e2e/test_styleguide.py --update-references``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, expect

from testing.processes import DemoServer
from testing.styleguide import SECTIONS, Styleguide, items, panel_items, section


def css(locator: Locator, prop: str, pseudo: str | None = None) -> str:
    return locator.evaluate("(el, [p, pseudo]) => getComputedStyle(el, pseudo).getPropertyValue(p)", [prop, pseudo])


# --- the page ----------------------------------------------------------------------------------------------


def test_anyone_opens_the_styleguide_without_logging_in_and_no_script_runs(styleguide: Styleguide) -> None:
    page = styleguide()
    assert page.url.endswith("/styleguide/")  # not sent to the login page
    expect(page.locator("h1")).to_have_text("Notification bar · styleguide")
    expect(page.locator("script")).to_have_count(0)  # htmx would connect and swap in real notifications
    handlers = page.eval_on_selector_all(
        "*", "els => els.flatMap(e => [...e.attributes].map(a => a.name)).filter(n => /^(on|hx-on)/.test(n))"
    )
    assert handlers == []
    expect(page.locator("input[name=csrfmiddlewaretoken]")).to_have_count(0)  # the sample forms are inert


def test_qa_finds_every_state_in_a_section_of_its_own_with_unique_ids(styleguide: Styleguide) -> None:
    page = styleguide()
    assert page.eval_on_selector_all("main > section", "els => els.map(e => e.id)") == SECTIONS
    for name in SECTIONS:
        expect(section(page, name).locator("h2")).to_have_count(1)
        expect(page.locator(f'.sg-toc a[href="#{name}"]')).to_have_count(1)
    ids = page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # The one real bar keeps the partials' contract ids.
    for contract_id in ("notification-bar", "notification-count", "notification-list"):
        expect(section(page, "state-bar").locator(f"#{contract_id}")).to_have_count(1)


@pytest.mark.console_errors("status of 403")  # the refusal itself
# Chromium may log the refused POST (403), and Django's 403 page links no icon, so it may ask for /favicon.ico,
# which the demo does not serve (404).
@pytest.mark.console_errors("status of 403", "status of 404")
def test_clicking_a_sample_button_is_refused_and_changes_nothing(styleguide: Styleguide) -> None:
    page = styleguide()
    with page.expect_navigation() as navigation:
        panel_items(page, "state-one-unread").get_by_role("button", name=re.compile("^Mark read")).click()
    response = navigation.value
    assert response is not None and response.status == 403  # no CSRF token: Django refuses the POST


# --- the bar's states ----------------------------------------------------------------------------------------


def test_designer_reads_every_design_token_with_a_swatch(styleguide: Styleguide) -> None:
    page = styleguide()
    tokens = section(page, "state-tokens")
    for name in ("--nb-accent", "--nb-badge-bg", "--nb-radius", "--nb-unread-bg", "--nb-error", "--nb-shadow"):
        expect(tokens.locator(f'tr[data-token="{name}"]')).to_have_count(1)
    expect(tokens.locator('tr[data-token="--nb-accent"]')).to_contain_text("#2f5bd3")
    expect(tokens.locator('tr[data-token="--nb-accent"]')).to_contain_text("#8fb0ff")  # its dark value


def test_designer_opens_the_real_bar_and_its_panel_drops_down(styleguide: Styleguide) -> None:
    page = styleguide()
    stage = section(page, "state-bar")
    panel = stage.locator("#notification-bar .nb__panel")
    expect(panel).to_be_hidden()

    stage.locator("#notification-bar .nb__toggle").click()
    expect(panel).to_be_visible()
    expect(panel.get_by_role("link", name="All notifications")).to_be_visible()
    page.mouse.move(0, 0)  # no hover outline in the picture
    box, frame = panel.bounding_box(), stage.bounding_box()
    assert box and frame and box["y"] + box["height"] <= frame["y"] + frame["height"], "the panel overflows"


def test_designer_sees_the_empty_bar_with_a_zero_badge(styleguide: Styleguide) -> None:
    page = styleguide()
    badge = section(page, "state-empty").locator(".nb__toggle .nb__count")
    expect(badge).to_have_text("0")
    expect(badge).to_have_attribute("aria-label", "0 new notifications")
    expect(items(page, "state-empty")).to_have_count(0)


def test_designer_sees_a_placeholder_in_an_empty_list(styleguide: Styleguide) -> None:
    """Before: a lone "—"."""
    page = styleguide()
    expect(section(page, "state-empty").locator(".sg-panel .nb__empty")).to_have_text(
        "You're all caught up: no notifications."
    )


def test_designer_sees_one_unread_notification_highlighted(styleguide: Styleguide) -> None:
    page = styleguide()
    expect(section(page, "state-one-unread").locator(".nb__toggle .nb__count")).to_have_text("1")
    expect(panel_items(page, "state-one-unread")).to_have_count(1)
    expect(panel_items(page, "state-one-unread")).to_have_attribute("data-read", "false")
    expect(panel_items(page, "state-one-unread")).to_contain_text("Build 42 finished")


def test_designer_sees_99_plus_while_the_badge_keeps_the_exact_count(
    styleguide: Styleguide,
) -> None:
    page = styleguide()
    badge = section(page, "state-many-unread").locator(".nb__toggle .nb__count")
    expect(badge).to_have_text("128")  # the contract: the exact integer
    expect(badge).to_have_attribute("data-overflow", "true")
    expect(badge).to_have_attribute("aria-label", "128 new notifications")
    assert css(badge, "content", "::after") == '"99+"'  # what the eye reads
    assert css(badge, "font-size") == "0px"  # the integer itself takes no room
    expect(panel_items(page, "state-many-unread")).to_have_count(3)


def test_designer_sees_the_99_plus_pill_as_tall_as_a_normal_badge(styleguide: Styleguide) -> None:
    page = styleguide()
    one = section(page, "state-one-unread").locator(".nb__toggle .nb__count").bounding_box()
    many = section(page, "state-many-unread").locator(".nb__toggle .nb__count").bounding_box()
    assert one and many
    assert abs(many["height"] - one["height"]) <= 1, (many, one)
    assert many["width"] >= one["width"]


# --- items ---------------------------------------------------------------------------------------------------


def test_designer_sees_every_level_styled_distinctly(styleguide: Styleguide) -> None:
    page = styleguide()
    levels = items(page, "state-levels")
    expect(levels).to_have_count(4)
    assert [levels.nth(i).get_attribute("data-level") for i in range(4)] == ["info", "success", "warning", "error"]
    stripes = {css(levels.nth(i).locator(".nb-item__level"), "background-color") for i in range(4)}
    assert len(stripes) == 4, stripes
    for i, spoken in enumerate(("Information", "Success", "Warning", "Error")):
        # Not colour alone: the level is written out (and so read out) beside the time.
        expect(levels.nth(i).locator(".nb-item__level-name")).to_have_text(spoken)


def test_designer_sees_long_text_wrap_inside_the_panel(styleguide: Styleguide) -> None:
    page = styleguide()
    item = items(page, "state-long-text")
    expect(item).to_have_count(1)
    overflow = item.evaluate(
        "el => [el, ...el.querySelectorAll('*:not(.nb-visually-hidden)')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className)"
    )
    assert overflow == []  # nothing scrolls sideways
    panel, box = section(page, "state-long-text").locator(".nb__panel").bounding_box(), item.bounding_box()
    assert panel and box and box["x"] + box["width"] <= panel["x"] + panel["width"]
    one_line = items(page, "state-link").bounding_box()
    assert one_line and box["height"] > 3 * one_line["height"] / 2  # it wrapped onto several lines


def test_designer_sees_a_link_as_a_button_that_opens_it(styleguide: Styleguide) -> None:
    page = styleguide()
    item = items(page, "state-link")
    link = item.get_by_role("button", name="Build 42 finished: open the build", exact=True)
    expect(link).to_have_class(re.compile(r"nb-item__message--link"))
    expect(item.locator("form.nb-item__open")).to_have_attribute("action", re.compile(r"/notifications/\d+/open/$"))
    assert css(link, "text-decoration-line") == "underline"


def test_designer_sees_action_buttons_under_the_message(styleguide: Styleguide) -> None:
    page = styleguide()
    actions = items(page, "state-actions").locator(".nb-item__actions")
    expect(actions.get_by_role("button")).to_have_text(["Approve", "Decline"])
    expect(actions.locator("form").first).to_have_attribute("hx-post", "/releases/31/approve/")


def test_designer_sees_a_grouped_item_as_one_sentence(styleguide: Styleguide) -> None:
    page = styleguide()
    grouped = items(page, "state-grouped")
    expect(grouped).to_have_count(2)
    expect(grouped.nth(0).locator(".nb-item__message")).to_have_text("alice and 3 others commented on Build 42")
    expect(grouped.nth(1).locator(".nb-item__message")).to_have_text("Nightly backup failed (\u00d73)")


def test_designer_sees_read_items_quieter_than_unread(styleguide: Styleguide) -> None:
    page = styleguide()
    read, unread = items(page, "state-read"), panel_items(page, "state-one-unread")
    expect(read).to_have_attribute("data-read", "true")
    expect(read.get_by_role("button", name=re.compile("^Mark read"))).to_have_count(0)
    expect(read.get_by_role("button", name=re.compile("^Dismiss"))).to_have_count(1)
    assert css(read, "background-color") != css(unread, "background-color")
    read_weight = int(css(read.locator(".nb-item__message"), "font-weight"))
    assert read_weight < int(css(unread.locator(".nb-item__message"), "font-weight"))


def test_designer_sees_archived_items_with_restore_only(styleguide: Styleguide) -> None:
    page = styleguide()
    archived = items(page, "state-archived")
    expect(archived).to_have_attribute("id", re.compile(r"^history-notification-\d+$"))
    expect(archived).to_have_attribute("data-read", "true")
    expect(archived.get_by_role("button")).to_have_count(1)
    expect(archived.get_by_role("button")).to_have_accessible_name(re.compile("^Restore"))


def test_designer_sees_history_items_with_plain_forms_and_their_own_ids(
    styleguide: Styleguide,
) -> None:
    page = styleguide()
    history = items(page, "state-history")
    expect(history).to_have_count(2)
    for i in range(2):
        expect(history.nth(i)).to_have_attribute("id", re.compile(r"^history-notification-\d+$"))
    expect(history.locator("form[ws-send]")).to_have_count(0)  # plain POST forms, no socket
    expect(history.nth(0).get_by_role("button", name=re.compile("^Mark read"))).to_have_count(1)


def test_designer_sees_the_states_a_static_page_lacks(styleguide: Styleguide) -> None:
    page = styleguide()
    expect(section(page, "state-toast").locator(".nb-toast")).to_be_visible()
    expect(section(page, "state-reconnecting").locator(".nb__reconnecting")).to_have_text("Reconnecting…")
    expect(section(page, "state-reconnecting").locator(".nb__reconnecting")).to_be_visible()
    expect(items(page, "state-just-arrived").locator(".nb-item__just-now")).to_contain_text("just now")
    resolved = items(page, "state-resolved")
    expect(resolved.locator(".nb-item__outcome")).to_have_text("Approved")
    expect(resolved.get_by_role("button", name=re.compile("Approve|Decline"))).to_have_count(0)
    expect(items(page, "state-focus").first.locator(".nb__button--read")).to_have_css("outline-style", "solid")
    phone = section(page, "state-phone").locator(".sg-canvas--phone")
    assert (phone.bounding_box() or {}).get("width") == 375


def test_designer_sees_their_projects_stylesheet_and_edits_reach_the_page_whole(
    server_env: dict[str, str], tmp_path: Path, new_context: Callable[..., BrowserContext]
) -> None:
    """Before: the styleguide could not show a project's own CSS, and with DEBUG off an edited stylesheet came
    out cut to its length at start-up (whitenoise kept it) until a restart."""
    (tmp_path / "project.css").write_text(":root { --nb-badge-bg: #00796b; }\n")
    env = {**server_env, "DEMO_PROJECT_STATIC": str(tmp_path), "DEMO_PROJECT_CSS": "project.css"}
    demo = DemoServer(tmp_path, env)
    demo.start()
    try:
        page = new_context().new_page()
        page.goto(f"{demo.base_url}/styleguide/")
        badge = section(page, "state-one-unread").locator(".nb__toggle .nb__count")
        expect(badge).to_have_css("background-color", "rgb(0, 121, 107)")
        longer = ":root { --nb-badge-bg: #1565c0; }\n/* a comment that makes the file longer than it was */\n"
        (tmp_path / "project.css").write_text(longer)
        response = page.request.get(f"{demo.base_url}/static/project.css")
        assert response.text() == longer
        fresh = new_context().new_page()  # not the first page's cached copy
        fresh.goto(f"{demo.base_url}/styleguide/")
        expect(section(fresh, "state-one-unread").locator(".nb__toggle .nb__count")).to_have_css(
            "background-color", "rgb(21, 101, 192)"
        )
    finally:
        demo.stop()


def test_a_projects_light_only_theme_leaves_dark_mode_readable(styleguide: Styleguide) -> None:
    """Before: a project's `:root { --nb-... }` overrides without a dark block won in dark mode too (a light
    unread background under dark mode's light text)."""
    page = styleguide(color_scheme="dark", bypass_csp=True)  # the test injects the project's CSS inline
    page.add_style_tag(content=":root { --nb-unread-bg: #fff3e0; --nb-surface: #ffffff; }")
    item = panel_items(page, "state-one-unread").first
    expect(item).to_have_css("background-color", "rgb(34, 43, 61)")  # --nb-unread-bg, dark


def test_designer_reads_the_dark_value_of_every_token(styleguide: Styleguide) -> None:
    page = styleguide()
    expect(section(page, "state-tokens").locator('tr[data-token="--nb-surface"]')).to_contain_text("#1c2029")


def test_designer_sees_every_declared_kind_with_its_partial(styleguide: Styleguide) -> None:
    page = styleguide()
    kinds = section(page, "state-kinds")
    for name in ("comment", "build", "invite", "security", "digest_only"):
        expect(kinds.locator(f'dd[data-kind="{name}"] .nb-item')).to_have_count(1)
    expect(kinds.locator('dd[data-kind="invite"]')).to_contain_text("partials/notification_invite.html")
    expect(kinds.locator('dd[data-kind="build"]')).to_contain_text("partials/notification_item.html")
