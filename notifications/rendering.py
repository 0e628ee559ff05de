"""The one place that renders: every fragment the bar shows comes from ``templates/partials/``.

The same partials render the first page, the no-JS history page and the WebSocket frames. Frames are
rendered once per recipient (never per tab) and forwarded unchanged by the consumer.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from . import conf
from .models import Notification
from .state import State

BAR_TEMPLATE = "partials/notification_bar.html"
ITEM_TEMPLATE = "partials/notification_item.html"
BADGE_TEMPLATE = "partials/notification_badge.html"
ANNOUNCEMENT_TEMPLATE = "partials/notification_announcement.html"
NEW_ITEM_FRAME_TEMPLATE = "partials/notification_frame_new.html"
STATE_FRAME_TEMPLATE = "partials/notification_frame_state.html"
OFFLINE_FRAME_TEMPLATE = "partials/notification_frame_offline.html"


def _context(**extra: Any) -> dict[str, Any]:
    # No csrf_token outside a request: frames are rendered once for every tab, so the partials render no
    # token field ({% if csrf_token %}); the bar's htmx requests send the page's token from hx-headers.
    return {"ws_path": conf.get("WEBSOCKET_PATH"), **extra}


def render_bar(state: State, request: HttpRequest | None = None) -> SafeString:
    """The whole bar, for a page's first render (the ``{% notification_bar %}`` tag)."""
    return render_to_string(BAR_TEMPLATE, _context(state=state), request=request)


def render_item(notification: Notification, request: HttpRequest | None = None) -> str:
    """One item, as the bar and the history page show it."""
    return render_to_string(ITEM_TEMPLATE, _context(notification=notification), request=request)


def render_new_frames(
    notifications: Sequence[Notification], unread_counts: Mapping[int, int]
) -> Iterator[tuple[Notification, str]]:
    """Frames for new notifications, one per recipient: the item (on top of the list), the badge, an announcement.

    One render per distinct fragment: the items of one notify() call differ only by their ids, so the item is
    rendered once and each recipient's id put in; the badge is rendered once per distinct count and the
    announcement once per distinct content. Notifying 5,000 users renders a handful of templates, not 15,000.
    """
    by_content: dict[tuple[Any, ...], Notification] = {}
    badge = cache(lambda count: render_to_string(BADGE_TEMPLATE, {"unread_count": count, "oob": True}))
    announcement = cache(
        lambda key: render_to_string(ANNOUNCEMENT_TEMPLATE, {"notification": by_content[key], "oob": True})
    )
    item = cache(
        lambda key: render_to_string(NEW_ITEM_FRAME_TEMPLATE, _context(notification=_stand_in(by_content[key])))
    )
    html: str
    for n in notifications:
        key = _content_key(n)
        by_content.setdefault(key, n)
        if _STAND_IN in repr(key):  # the caller's own text holds the stand-in: render this one as it is
            html = render_to_string(NEW_ITEM_FRAME_TEMPLATE, _context(notification=n))
        else:
            html = item(key).replace(_STAND_IN, str(n.pk))
        yield n, html + badge(unread_counts[n.recipient_id]) + announcement(key)


#: An id no row has, rendered in place of the real one and then replaced by each recipient's id.
_STAND_IN = str(2**53 - 111)


def _content_key(n: Notification) -> tuple[Any, ...]:
    """Everything an item shows except its id."""
    return (
        n.level,
        n.title,
        n.message,
        n.url,
        repr(n.actions),
        n.group_key,
        n.group_count,
        repr(n.actors),
        n.created_at,
        n.updated_at,
        n.read_at,
        n.archived_at,
    )


def _stand_in(n: Notification) -> Notification:
    twin = copy.copy(n)
    twin.pk = int(_STAND_IN)
    return twin


def render_new_frame(notification: Notification, unread_count: int) -> str:
    """The frame for one new notification (see :func:`render_new_frames`)."""
    [(_, html)] = render_new_frames([notification], {notification.recipient_id: unread_count})
    return html


def render_state_frame(state: State, *, live: bool = True) -> str:
    """The frame that replaces the bar's badge and list with ``state`` (on connect, after any change).

    ``live=False`` also shows that live updates are paused (the channel layer cannot be reached).
    """
    return render_to_string(STATE_FRAME_TEMPLATE, _context(state=state, live=live))


def render_offline_frame() -> str:
    """The frame that tells an open bar its live updates are paused (the channel layer cannot be reached)."""
    return render_to_string(OFFLINE_FRAME_TEMPLATE)
