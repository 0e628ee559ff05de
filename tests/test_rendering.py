from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from django.utils.autoreload import file_changed

from notifications import notify
from notifications.store.readers import Reader
from notifications.store.state import State
from notifications.web import rendering
from testing.html import ANY, attr, badge, by_id, elements, ids, item, items, pks, swap, swaps, text_of

pytestmark = pytest.mark.django_db

EN = Reader("en")


def test_message_is_escaped_everywhere(alice: Any) -> None:
    n = notify(alice, "<script>alert(1)</script>", title="<img src=x onerror=alert(2)>")
    html = rendering.render_new_frame(n, 1, reader=EN) + rendering.render_state_frame(State(1, [n]), reader=EN)
    assert elements(html, "script") == [] and elements(html, "img") == []
    assert "<script>alert(1)</script>" in text_of(html)  # shown as text


def test_item_carries_the_contract_attributes(alice: Any) -> None:
    n = notify(alice, "Build 42 finished", level="success")
    shown = item(rendering.render_item(n), n.pk)
    assert (shown.attrs["data-read"], shown.attrs["data-level"]) == ("false", "success")


def test_new_frame_puts_item_on_top_and_replaces_badge(alice: Any) -> None:
    n = notify(alice, "hello")
    html = rendering.render_new_frame(n, 7, reader=EN)
    assert item(html, n.pk).closest(hx_swap_oob="afterbegin:#notification-list")
    assert by_id(html, "notification-count").closest(hx_swap_oob="innerHTML:#notification-count-slot")
    assert badge(html) == 7
    assert (
        attr(html, "notification-count", "aria-label") == "7 new notifications"
    )  # the default badge counts unseen items
    assert "hello" in swap(html, "innerHTML:#notification-toast").words


def test_new_frame_cuts_the_list_to_bar_size(alice: Any, settings: Any) -> None:
    """Before: the live list grew by one per arrival, forever (160 items after 150 arrivals)."""
    settings.NOTIFICATIONS = {"BAR_SIZE": 4}
    html = rendering.render_new_frame(notify(alice, "hello"), 1, reader=EN)
    [cut] = [s for s in swaps(html) if s.startswith("delete:") and "#notification-list" in s]
    assert "#notification-list" in cut and ":nth-child(n+5)" in cut  # the items after the 4th
    assert "beforeend:#notification-list" in swaps(html)  # the marker that gives the delete a target


def test_a_count_frame_replaces_the_counts_asks_not_yet_sent_and_keeps_the_one_on_its_way(alice: Any) -> None:
    """An ask on its way (htmx's .htmx-request) stays: its answer's targets are looked for from it, and a removed
    one finds none. The marker gives the delete a target when no other ask is left."""
    html = rendering.render_new_frame(notify(alice, "hello"), 1, reader=EN)
    oob = swaps(html)
    [cut] = [s for s in oob if s.startswith("delete:#notification-tabs-recount")]
    assert cut == "delete:#notification-tabs-recount > :not(.htmx-request)"
    assert oob.count("beforeend:#notification-tabs-recount") == 2  # the marker, then the fresh ask
    assert "innerHTML:#notification-tabs-recount" not in oob


def test_no_designer_partial_carries_oob_flags_or_test_markers() -> None:
    """Issue 14: the OOB mechanics live in the frame templates only."""
    from pathlib import Path

    partials = Path(__file__).resolve().parent.parent / "templates" / "partials"
    for path in partials.glob("*.html"):
        text = path.read_text()
        if path.name.startswith("notification_frame_"):
            continue
        assert "hx-swap-oob" not in text and "if oob" not in text, path.name
    assert "data-live" not in (partials / "notification_list.html").read_text()
    assert len(list(partials.glob("notification_list.html"))) == 1
    assert sum("notification-list" in ids(p.read_text()) for p in partials.glob("*.html")) == 1


def test_state_frame_replaces_badge_and_list(alice: Any) -> None:
    created = [notify(alice, f"n{i}") for i in range(3)]
    html = rendering.render_state_frame(State(2, created[::-1]), reader=EN)
    assert by_id(html, "notification-count").position < by_id(html, "notification-list").position
    for slot in ("count", "toolbar", "list", "status", "heartbeat"):
        assert f"innerHTML:#notification-{slot}-slot" in swaps(html)
    status = by_id(html, "notification-status")
    assert (status.attrs["role"], status.attrs["data-live"], "hidden" in status.attrs) == ("status", "true", True)
    assert pks(html) == [n.pk for n in created[::-1]]  # newest first


def test_paused_state_and_offline_frames_say_live_updates_are_paused(alice: Any) -> None:
    for html in (
        rendering.render_state_frame(State(0, []), live=False, reader=EN),
        rendering.render_offline_frame(reader=EN),
    ):
        [status] = elements(html, id="notification-status", role="status", data_live="false")
        assert status.words == "Live updates paused" and "hidden" not in status.attrs


def test_badge_overflow_keeps_the_integer(alice: Any) -> None:
    html = rendering.render_state_frame(State(120, []), reader=EN)
    assert attr(html, "notification-count", "data-overflow") == "true"
    assert badge(html) == 120


def test_new_frames_render_badge_once_per_distinct_count(alice: Any, bob: Any, monkeypatch: Any) -> None:
    created = notify([alice, bob], "hi")
    calls = counting_renders(monkeypatch)
    frames = list(rendering.render_new_frames(created, {alice.pk: 3, bob.pk: 3}, reader=EN))
    assert len(frames) == 2
    assert calls.count(rendering.COUNT_FRAME_TEMPLATE) == 1
    assert calls.count(rendering.NEW_FRAME_TEMPLATE) == 2  # the shared render, and the real one that checks it


def counting_renders(monkeypatch: Any) -> list[str]:
    calls: list[str] = []
    original = rendering.render_to_string

    def counting(name: str, *args: Any, **kwargs: Any) -> str:
        calls.append(name)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(rendering, "render_to_string", counting)
    rendering._forget_frames()
    return calls


def test_a_count_frame_is_rendered_once_per_count_and_language(alice: Any, monkeypatch: Any) -> None:
    """Before: every notify() rendered the badge part of each distinct count again (~0.3 ms each; a notify()
    to 40 users had about 10 of them)."""
    calls = counting_renders(monkeypatch)
    first = rendering.render_count_frame(3, reader=EN)
    assert rendering.render_count_frame(3, reader=Reader("en", "Asia/Tokyo")) == first  # it shows no time
    assert calls.count(rendering.COUNT_FRAME_TEMPLATE) == 1
    rendering.render_count_frame(3, reader=Reader("fr"))  # another language is another render
    assert calls.count(rendering.COUNT_FRAME_TEMPLATE) == 2
    created = notify([alice], "hi")
    frames = list(rendering.render_new_frames(created, {alice.pk: 5}, reader=EN))
    calls.clear()
    assert list(rendering.render_new_frames(created, {alice.pk: 5}, reader=EN)) == frames  # the next notify()
    assert rendering.COUNT_FRAME_TEMPLATE not in calls


def test_a_renderer_renders_for_the_reader_it_is_given_and_leaves_the_thread_as_it_was(alice: Any) -> None:
    """Frames are rendered far from the reader's requests: each renderer takes the reader and activates their
    language and time zone itself, around its own render only (before: call sites wrapped it in
    ``reader.active()``, and a renderer called without it rendered in whatever the thread had active)."""
    import zoneinfo

    from django.utils import timezone

    n = notify(alice, "hello")
    german = Reader("de", "Asia/Tokyo")
    with translation.override("en"):
        site_zone = timezone.get_current_timezone_name()
        html = rendering.render_state_frame(State(1, [n]), live=False, reader=german)
        offline = rendering.render_offline_frame(reader=german)
        assert (translation.get_language(), timezone.get_current_timezone_name()) == ("en", site_zone)
        english = rendering.render_offline_frame(reader=EN)
    for frame in (html, offline):
        [status] = elements(frame, id="notification-status")
        assert status.words == "Live-Aktualisierungen pausiert"
    [time] = elements(html, datetime=ANY)
    assert time.text.strip().endswith(n.updated_at.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%H:%M"))
    assert elements(english, id="notification-status")[0].words == "Live updates paused"


def test_a_partial_edited_while_the_server_runs_shows_in_the_next_frame(db: Any, settings: Any, tmp_path: Any) -> None:
    """The dev server keeps running when a template changes (Django reloads templates, and its autoreload
    tells file_changed's receivers): a designer's edit of the badge must not wait for a restart."""
    (tmp_path / "partials").mkdir()
    badge = tmp_path / "partials" / "notification_badge.html"
    badge.write_text("BEFORE {{ count }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    assert "BEFORE 4" in rendering.render_count_frame(4, reader=EN)
    badge.write_text("AFTER {{ count }}")
    file_changed.send(sender=None, file_path=badge)
    assert "AFTER 4" in rendering.render_count_frame(4, reader=EN)


def one_by_one(notifications: list[Any], counts: dict[int, int]) -> list[str]:
    """The reference: each frame rendered on its own, no sharing."""
    return [rendering.render_new_frame(n, counts[n.recipient_id], reader=EN) for n in notifications]


@pytest.mark.parametrize(
    "message",
    ["Build 42 finished", f"mentions the stand-in {rendering._STAND_IN} itself", "<b>escaped</b> & done"],
)
def test_shared_render_equals_rendering_each_frame_alone(db: Any, message: str) -> None:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.bulk_create([get_user_model()(username=f"u{i}") for i in range(30)])
    created = notify(users, message, url="/builds/42/", actions=[{"label": "Approve", "url": "/a/"}])
    counts = {u.pk: i % 4 for i, u in enumerate(users)}
    shared = [html for _, html in rendering.render_new_frames(created, counts, reader=EN)]
    assert shared == one_by_one(created, counts)
    assert len(set(shared)) == 30


def test_an_override_that_formats_the_id_otherwise_still_gets_right_frames(
    db: Any, settings: Any, tmp_path: Any, caplog: Any
) -> None:
    """Before: the stand-in id was replaced blindly, so "notification-9,007,..." reached every recipient."""
    from django.contrib.auth import get_user_model

    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "notification_message.html").write_text(
        "{% load humanize %}#{{ notification.pk|intcomma }} {{ notification.message }}"
    )
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.humanize"]
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    users = get_user_model().objects.bulk_create([get_user_model()(username=f"u{i}") for i in range(3)])
    created = notify(users, "hi")
    counts = {u.pk: 1 for u in users}
    frames = [html for _, html in rendering.render_new_frames(created, counts, reader=EN)]
    assert frames == one_by_one(created, counts)
    for n, html in zip(created, frames, strict=True):
        assert f"#{n.pk} hi" in html and "9,007,199" not in html  # its own id, never the stand-in's
    assert "rendering it once per recipient" in caplog.text


def test_a_project_overrides_one_partial_by_name(alice: Any, settings: Any, tmp_path: Any) -> None:
    """Django's normal order: a same-named file earlier in DIRS wins; the other partials keep the defaults."""
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "notification_message.html").write_text("OVERRIDDEN: {{ notification.message }}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    html = rendering.render_item(notify(alice, "hello"))
    assert "OVERRIDDEN: hello" in html
    assert [read for _, read in items(html)] == ["false"]  # the item partial itself is still the package's


def test_frames_render_outside_a_request_without_warnings_or_a_csrf_field(alice: Any, settings: Any) -> None:
    """With DEBUG on, a {% csrf_token %} without a token warns (warnings are errors here); frames carry none."""
    settings.DEBUG = True
    n = notify(alice, "hello", url="/x/", actions=[{"label": "Go", "url": "/go/"}])
    for html in (rendering.render_new_frame(n, 1, reader=EN), rendering.render_state_frame(State(1, [n]), reader=EN)):
        assert "csrfmiddlewaretoken" not in html
        assert elements(html, hx_post="/go/")  # the forms are there, without a token field


def test_the_docs_partial_override_example_keeps_the_count(db: Any, settings: Any, tmp_path: Any) -> None:
    """Before: the documented example override (docs/designers/partials.md) dropped the "(x3)" of a grouped item
    without actors."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "designers" / "partials.md").read_text()
    [example] = re.findall(r"create `templates/partials/notification_message\.html`.*?```django\n(.*?)```", page, re.S)
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "notification_message.html").write_text(example)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("carol")
    for _ in range(3):
        n = notify(user, "Nightly backup failed", group_key="backup")
    n.refresh_from_db()
    assert "(\u00d73)" in text_of(rendering.render_item(n))  # (&times;3)


def test_only_new_item_frames_carry_the_mark_the_benchmark_counts(alice: Any) -> None:
    """bench/loadgen.py tells a new-item frame from the rest by this swap; it must not appear elsewhere."""
    mark = 'hx-swap-oob="afterbegin:#notification-list"'
    n = notify(alice, "new")
    assert mark in rendering.render_new_frame(n, 1, reader=EN)
    assert mark not in rendering.render_state_frame(State(1, [n]), reader=EN)
    assert mark not in rendering.render_live_frame(reader=EN) + rendering.render_heartbeat_frame(reader=EN)
