"""The one place that renders: every fragment the bar shows comes from ``templates/partials/``.

The same partials render the first page, the no-JS history page and the WebSocket frames. Frames are
rendered once per recipient (never per tab) and forwarded unchanged by the consumer.
"""

from __future__ import annotations

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


def _context(**extra: Any) -> dict[str, Any]:
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
    """Frames for new notifications of one notify() call, one per recipient.

    Each frame is the item (inserted at the top of the list), the recipient's badge and an announcement for
    the live region. The item differs per recipient (its id); the badge is rendered once per distinct count
    and the announcement once, so notifying 5,000 users renders 5,000 small items, not 15,000 fragments.
    """
    badge = cache(lambda count: render_to_string(BADGE_TEMPLATE, {"unread_count": count, "oob": True}))
    announcement = ""
    for n in notifications:
        if not announcement:
            announcement = render_to_string(ANNOUNCEMENT_TEMPLATE, {"notification": n, "oob": True})
        item = render_to_string(NEW_ITEM_FRAME_TEMPLATE, _context(notification=n))
        yield n, item + badge(unread_counts[n.recipient_id]) + announcement


def render_new_frame(notification: Notification, unread_count: int) -> str:
    """The frame for one new notification (see :func:`render_new_frames`)."""
    [(_, html)] = render_new_frames([notification], {notification.recipient_id: unread_count})
    return html


def render_state_frame(state: State) -> str:
    """The frame that replaces the bar's badge and list with ``state`` (on connect, after any change)."""
    return render_to_string(STATE_FRAME_TEMPLATE, _context(state=state))
