"""The one place that renders: every fragment the bar shows comes from ``templates/partials/``.

The same partials render the first page, the no-JS history page and the WebSocket frames. Every frame is a
``notification_frame_*.html`` template that includes those partials and holds all the out-of-band mechanics
(``hx-swap-oob`` targets the bar's ``*-slot`` elements), so the designer partials carry none. Frames are
rendered once per recipient (never per tab) and forwarded unchanged by the consumer; only the tab title part
differs per tab (the tabs of one user show different pages) and is rendered once per distinct title and count.
"""

from __future__ import annotations

import copy
import logging
import secrets
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString

from .. import conf
from ..live.protocol import ChangeParts
from ..models import Notification
from ..store.state import State

logger = logging.getLogger("notifications")

BAR_TEMPLATE = "partials/notification_bar.html"
ITEM_TEMPLATE = "partials/notification_item.html"
NEW_FRAME_TEMPLATE = "partials/notification_frame_new.html"
COUNT_FRAME_TEMPLATE = "partials/notification_frame_count.html"
TITLE_FRAME_TEMPLATE = "partials/notification_frame_title.html"
STATE_FRAME_TEMPLATE = "partials/notification_frame_state.html"
STATUS_FRAME_TEMPLATE = "partials/notification_frame_status.html"
HEARTBEAT_FRAME_TEMPLATE = "partials/notification_frame_heartbeat.html"
CHANGE_FRAME_TEMPLATE = "partials/notification_frame_change.html"
TAIL_FRAME_TEMPLATE = "partials/notification_frame_tail.html"
CONTROLS_TEMPLATE = "partials/notification_controls.html"
HISTORY_LINK_TEMPLATE = "partials/notification_history_link.html"
FOCUS_FRAME_TEMPLATE = "partials/notification_frame_focus.html"
LIVE_FRAME_TEMPLATE = "partials/notification_frame_live.html"

#: Longest page title a tab may send (it is only echoed back into that tab's own <title>).
MAX_PAGE_TITLE = 200


def stale_after() -> float:
    """Seconds without any frame after which a bar says "Reconnecting…" and fetches itself again (0: never)."""
    interval = conf.get("HEARTBEAT_INTERVAL")
    return round(interval * 2.5, 1) if interval else 0


def _context(**extra: Any) -> dict[str, Any]:
    # No csrf_token outside a request: frames are rendered once for every tab, so the partials render no
    # token field ({% if csrf_token %}); the bar's htmx requests send the page's token from hx-headers.
    return {
        "ws_path": conf.get("WEBSOCKET_PATH"),
        "bar_size": conf.get("BAR_SIZE"),
        "stale_after": stale_after(),
        **extra,
    }


def render_bar(state: State, request: HttpRequest | None = None, *, page_title: str = "") -> SafeString:
    """The whole bar, for a page's first render (``{% notification_bar %}``) and the reconnect view."""
    # tab: a random name for this page, so an action's answer can find the tab that acted (see protocol.state).
    context = _context(state=state, page_title=page_title[:MAX_PAGE_TITLE], tab=secrets.token_urlsafe(12))
    return render_to_string(BAR_TEMPLATE, context, request=request)


def render_item(notification: Notification, request: HttpRequest | None = None) -> str:
    """One item, as the bar and the history page show it."""
    return render_to_string(ITEM_TEMPLATE, _context(notification=notification), request=request)


def render_new_frames(
    notifications: Sequence[Notification], unread_counts: Mapping[int, int]
) -> Iterator[tuple[Notification, str]]:
    """Frames for new notifications, one per recipient: the item on top of the list (cut to ``BAR_SIZE``),
    the toast, the badge.

    One render per distinct fragment: the items of one notify() call differ only by their ids, so the new-item
    frame is rendered once with a stand-in id and each recipient's id put in; the count part is rendered once
    per distinct count (:func:`render_count_frame`). Notifying 5,000 users renders a handful of templates, not
    5,000. The substitution is checked against a real render of the first recipient's frame: a partial that
    shows the id some other way (``{{ notification.pk|intcomma }}``, a slug...) makes every frame render on its
    own, with an error logged.
    """
    keys = [n.shown() for n in notifications]
    alike = Counter(keys)
    by_content: dict[tuple[Any, ...], Notification] = {}
    shared = cache(lambda key: _shared_new_frame(by_content[key]))
    for n, key in zip(notifications, keys, strict=True):
        by_content.setdefault(key, n)
        # A fragment no other recipient shares (one notify() for one user) is simply rendered: a stand-in
        # render plus its check would cost two renders instead of one.
        template = shared(key) if alike[key] > 1 else None
        if template is None:  # alone, or the stand-in cannot stand in: this one is rendered on its own
            yield n, render_new_frame(n, unread_counts[n.recipient_id])
        else:
            yield n, fill_new_frame(template, n.pk) + render_count_frame(unread_counts[n.recipient_id])


def render_shared_new_frame(
    notifications: Sequence[Notification], unread_counts: Mapping[int, int]
) -> tuple[str, dict[int, str]] | None:
    """For the items of one notify() to many users: the new-item frame with a stand-in id (for
    :func:`fill_new_frame`) and the count part of each distinct unread count. None when the items differ in
    what they show, or the stand-in cannot stand in (see :func:`render_new_frames`)."""
    if not notifications or len({n.shown() for n in notifications}) != 1:
        return None
    template = _shared_new_frame(notifications[0])
    if template is None:
        return None
    counts = {unread_counts[n.recipient_id] for n in notifications}
    return template, {count: render_count_frame(count) for count in counts}


def fill_new_frame(template: str, pk: int) -> str:
    """A shared new-item frame with one item's id put in."""
    return template.replace(_STAND_IN, str(pk))


def render_new_frame(notification: Notification, unread_count: int) -> str:
    """The whole frame for one new notification, rendered on its own: what :func:`render_new_frames` sends
    when ids cannot be substituted, and the reference its shared render must equal."""
    return _render_new(notification) + render_count_frame(unread_count)


def render_count_frame(unread_count: int) -> str:
    """The frame part for a new unread count: the badge and "Mark all read" (rendered once per count and
    language in a process: a notify() to 40 users has about 10 distinct counts, each a render of ~0.3 ms)."""
    return _count_frame(unread_count, translation.get_language())


@lru_cache(maxsize=1024)
def _count_frame(unread_count: int, language: str | None) -> str:
    # ``language`` is only part of the key: the partials translate their words in the active language.
    return render_to_string(COUNT_FRAME_TEMPLATE, _context(unread_count=unread_count))


@lru_cache(maxsize=1024)
def render_title_frame(page_title: str, unread_count: int) -> str:
    """One tab's title part: "(N) page title" (rendered once per distinct pair in a process)."""
    return render_to_string(TITLE_FRAME_TEMPLATE, {"page_title": page_title, "unread_count": unread_count})


@receiver(setting_changed)
@receiver(file_changed)
def _forget_frames(**kwargs: Any) -> None:
    """A setting (tests) or a template file (the dev server's autoreload) changed: render the frames again."""
    _count_frame.cache_clear()
    render_title_frame.cache_clear()
    _substitution_holds.clear()


def render_change_parts(notification: Notification, state: State) -> ChangeParts:
    """The parts of the frame for one changed item (see :func:`protocol.change`); ``state``: the bar after it."""
    removed = notification.is_archived
    parts: ChangeParts = {
        "item": render_to_string(CHANGE_FRAME_TEMPLATE, _context(notification=notification, removed=removed)),
        "count_html": render_count_frame(state.unread_count),
        "tail_pk": None,
        "tail": "",
    }
    if removed and len(state.items) == conf.get("BAR_SIZE"):
        tail = state.items[-1]
        parts["tail_pk"], parts["tail"] = tail.pk, render_to_string(TAIL_FRAME_TEMPLATE, _context(notification=tail))
    return parts


def render_controls(notification: Notification, autofocus: str, request: HttpRequest | None = None) -> str:
    """For the tab that acted: ``notification``'s controls again, ``autofocus`` ("read"/"archive") focused."""
    context = _context(notification=notification, autofocus=autofocus, live=True)
    return render_to_string(CONTROLS_TEMPLATE, context, request=request)


def render_history_link(request: HttpRequest | None = None) -> str:
    """For the tab that dismissed the last item of its bar: the history link, focused."""
    return render_to_string(HISTORY_LINK_TEMPLATE, {"autofocus": True}, request=request)


def render_focus_frame(notification: Notification | None) -> str:
    """For the tab that acted (its "Mark all read", an answer to an item's action), appended to the state frame
    that shows the outcome: the focus on ``notification``'s Dismiss, else the history link."""
    return render_to_string(FOCUS_FRAME_TEMPLATE, _context(notification=notification))


def render_state_frame(state: State, *, live: bool = True) -> str:
    """The frame that replaces the bar's badge and list with ``state`` (on connect, after any change).

    ``live=False`` also shows that live updates are paused (the channel layer cannot be reached).
    """
    return render_to_string(STATE_FRAME_TEMPLATE, _context(state=state, live=live))


def render_offline_frame() -> str:
    """The frame that tells an open bar its live updates are paused (the channel layer cannot be reached)."""
    return render_to_string(STATUS_FRAME_TEMPLATE, {"live": False})


def render_live_frame() -> str:
    """The frame for a socket whose page shows the current state already: live, and a fresh heartbeat clock."""
    return render_to_string(LIVE_FRAME_TEMPLATE, {"live": True, "stale_after": stale_after()})


def render_heartbeat_frame() -> str:
    """The frame each process sends its sockets every ``HEARTBEAT_INTERVAL`` seconds."""
    return render_to_string(HEARTBEAT_FRAME_TEMPLATE, {"stale_after": stale_after()})


# Render once, substitute ids ---------------------------------------------------------------------------------

#: An id no row has, rendered in place of the real one and then replaced by each recipient's id.
_STAND_IN = str(2**53 - 111)


def _render_new(n: Notification) -> str:
    return render_to_string(NEW_FRAME_TEMPLATE, _context(notification=n))


def _shared_new_frame(n: Notification) -> str | None:
    """The new-item frame with the stand-in id, or None when substituting it would not give the real frame."""
    if _STAND_IN in repr(n.shown()):  # the caller's own text holds the stand-in
        return None
    twin = copy.copy(n)
    twin.pk = int(_STAND_IN)
    html = _render_new(twin)
    # Checked against a real render once per partial and language in a process (each check is a render).
    checked = (n.item_template, translation.get_language())
    if checked in _substitution_holds:
        return html
    if html.replace(_STAND_IN, str(n.pk)) != _render_new(n):
        logger.error(
            "The new-item frame does not show the notification's id as str(pk) (an overridden partial?): "
            "rendering it once per recipient instead of once per notify()."
        )
        return None
    _substitution_holds.add(checked)
    return html


#: (item partial, language) whose new-item frame was found to take the stand-in id (cleared with the frames).
_substitution_holds: set[tuple[str, str | None]] = set()
