"""The one place that renders: every fragment the bar shows comes from ``templates/partials/``.

The same partials render the first page, the no-JS history page and the WebSocket frames. Every frame is a
``notification_frame_*.html`` template that includes those partials and holds all the out-of-band mechanics
(``hx-swap-oob`` targets the bar's ``*-slot`` elements), so the designer partials carry none. Frames are
rendered once per recipient (never per tab) and forwarded unchanged by the consumer; only the tab title part
differs per tab (the tabs of one user show different pages) and is rendered once per distinct title and count.

Every renderer takes the reader it renders for (``reader=``, a :class:`~notifications.store.readers.Reader`) and
renders in that reader's language and time zone, leaving whatever was active before as it was: a user's frames
are rendered far from any request of theirs. The renderers of pages (the bar, an item, an action's answer) take
``reader=None`` too, for the language and time zone a request has activated already.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils import translation
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString

from .. import conf
from ..live.protocol import ChangeParts
from ..models import Notification
from ..store import UserPk, inbox
from ..store.readers import Reader
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
OUTCOME_FRAME_TEMPLATE = "partials/notification_frame_outcome.html"
OUTCOME_TEMPLATE = "partials/notification_outcome.html"
PANEL_VIEW_TEMPLATE = "partials/notification_frame_panel_view.html"
PANEL_PAGE_TEMPLATE = "partials/notification_panel_page.html"
PANEL_COUNTS_TEMPLATE = "partials/notification_frame_panel_counts.html"
PANEL_ONLY_VIEW_TEMPLATE = "partials/notification_panel_view.html"
ITEM_COPY_TEMPLATE = "partials/notification_frame_item_copy.html"

#: What an action's outcome may say (notification_outcome.html): dismissed (with Undo), restored, marked all
#: read (with Undo), marked unread again.
OUTCOMES = ("archived", "restored", "read_all", "unread")

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
        "badge_counts": conf.get("BADGE_COUNTS"),
        "stale_after": stale_after(),
        **extra,
    }


def _render(
    template: str, context: Mapping[str, object], reader: Reader | None, request: HttpRequest | None = None
) -> SafeString:
    """``template`` in ``reader``'s language and time zone (None: the ones active now)."""
    with _as(reader):
        return render_to_string(template, context, request=request)


def _as(reader: Reader | None) -> contextlib.AbstractContextManager[None]:
    """``reader``'s language and time zone while it lasts, then the ones before (None: nothing changes)."""
    return contextlib.nullcontext() if reader is None else reader.active()


def render_bar(
    state: State, request: HttpRequest | None = None, *, page_title: str = "", reader: Reader | None = None
) -> SafeString:
    """The whole bar, for a page's first render (``{% notification_bar %}``) and the reconnect view."""
    # tab: a random name for this page, so an action's answer can find the tab that acted (see protocol.state).
    context = _context(
        state=state,
        page_title=page_title[:MAX_PAGE_TITLE],
        tab=secrets.token_urlsafe(12),
        panel_tabs=inbox.uncounted(),
        full=_full(state),
    )
    return _render(BAR_TEMPLATE, context, reader, request)


def _full(state: State) -> bool:
    """The bar's list holds ``BAR_SIZE`` items: there may be older ones ("Load more")."""
    return len(state.items) >= int(conf.get("BAR_SIZE"))


def render_item(notification: Notification, request: HttpRequest | None = None, *, reader: Reader | None = None) -> str:
    """One item, as the bar and the history page show it."""
    return _render(ITEM_TEMPLATE, _context(notification=notification), reader, request)


def render_new_frames(
    notifications: Sequence[Notification], unread_counts: Mapping[UserPk, int], *, reader: Reader
) -> list[tuple[Notification, str]]:
    """Frames for new notifications, one per recipient: the item on top of the list (cut to ``BAR_SIZE``),
    the toast, the badge.

    One render per distinct fragment: the items of one notify() call differ only by their ids, so the new-item
    frame is rendered once with a stand-in id and each recipient's id put in; the count part is rendered once
    per distinct count (:func:`render_count_frame`). Notifying 5,000 users renders a handful of templates, not
    5,000. The substitution is checked against a real render of the first recipient's frame: a partial that
    shows the id some other way (``{{ notification.pk|intcomma }}``, a slug...) makes every frame render on its
    own, with an error logged.
    """
    with reader.active():
        keys = [n.shown() for n in notifications]
        alike = Counter(keys)
        by_content: dict[tuple[object, ...], Notification] = {}
        shared = cache(lambda key: _shared_new_frame(by_content[key], reader))
        frames = []
        for n, key in zip(notifications, keys, strict=True):
            by_content.setdefault(key, n)
            # A fragment no other recipient shares (one notify() for one user) is simply rendered: a stand-in
            # render plus its check would cost two renders instead of one.
            template = shared(key) if alike[key] > 1 else None
            count = render_count_frame(unread_counts[n.recipient_id], reader=reader)
            if template is None:  # alone, or the stand-in cannot stand in: this one is rendered on its own
                frames.append((n, _render_new(n) + count))
            else:
                frames.append((n, fill_new_frame(template, n.pk) + count))
        return frames


def render_shared_new_frame(
    notifications: Sequence[Notification], unread_counts: Mapping[UserPk, int], *, reader: Reader
) -> tuple[str, dict[int, str]] | None:
    """For the items of one notify() to many users: the new-item frame with a stand-in id (for
    :func:`fill_new_frame`) and the count part of each distinct unread count. None when the items differ in
    what they show, or the stand-in cannot stand in (see :func:`render_new_frames`)."""
    with reader.active():
        if not notifications or len({n.shown() for n in notifications}) != 1:
            return None
        template = _shared_new_frame(notifications[0], reader)
    if template is None:
        return None
    counts = {unread_counts[n.recipient_id] for n in notifications}
    return template, {count: render_count_frame(count, reader=reader) for count in counts}


def fill_new_frame(template: str, pk: int) -> str:
    """A shared new-item frame with one item's id put in."""
    return template.replace(_STAND_IN, str(pk))


def render_new_frame(notification: Notification, unread_count: int, *, reader: Reader) -> str:
    """The whole frame for one new notification, rendered on its own: what :func:`render_new_frames` sends
    when ids cannot be substituted, and the reference its shared render must equal."""
    with reader.active():
        return _render_new(notification) + render_count_frame(unread_count, reader=reader)


def render_count_frame(count: int, *, reader: Reader, unread: bool = True) -> str:
    """The frame part for a new badge count and whether anything is unread: the badge and "Mark all read"
    (rendered once per count and language in a process: a notify() to 40 users has about 10 distinct counts,
    each a render of ~0.3 ms). A new item is unread: its frames leave ``unread`` true."""
    return _count_frame(count, unread, reader.language)


@lru_cache(maxsize=1024)
def _count_frame(count: int, unread: bool, language: str) -> str:
    # It shows no time: one render per language, whatever the readers' time zones.
    with translation.override(language):
        context = _context(count=count, unread_count=int(unread), badge_counts=conf.get("BADGE_COUNTS"))
        return render_to_string(COUNT_FRAME_TEMPLATE, context)


def render_title_frame(page_title: str, unread_count: int, *, reader: Reader) -> str:
    """One tab's title part: "(N) page title" (rendered once per distinct pair and language in a process)."""
    return _title_frame(page_title, unread_count, reader.language)


@lru_cache(maxsize=1024)
def _title_frame(page_title: str, unread_count: int, language: str) -> str:
    with translation.override(language):
        return render_to_string(TITLE_FRAME_TEMPLATE, {"page_title": page_title, "unread_count": unread_count})


@receiver(setting_changed)
@receiver(file_changed)
def _forget_frames(**kwargs: Any) -> None:
    """A setting (tests) or a template file (the dev server's autoreload) changed: render the frames again."""
    _count_frame.cache_clear()
    _title_frame.cache_clear()
    _live_frame.cache_clear()
    _substitution_holds.clear()


def render_change_parts(notification: Notification, state: State, *, reader: Reader) -> ChangeParts:
    """The parts of the frame for one changed item (see :func:`protocol.change`); ``state``: the bar after it."""
    removed = notification.is_archived
    count_html = render_count_frame(state.badge, reader=reader, unread=state.unread_count > 0)
    if removed:  # dismissed: every tab says so, with an Undo (the part every tab gets, whatever it shows)
        count_html += render_outcome_frame("archived", notification, [notification.pk], 1, reader=reader)
    parts: ChangeParts = {
        "item": _render(CHANGE_FRAME_TEMPLATE, _context(notification=notification, removed=removed), reader),
        "count_html": count_html,
        "tail_pk": None,
        "tail": "",
    }
    if removed and len(state.items) == conf.get("BAR_SIZE"):
        tail = state.items[-1]
        parts["tail_pk"], parts["tail"] = tail.pk, _render(TAIL_FRAME_TEMPLATE, _context(notification=tail), reader)
    return parts


def render_controls(
    notification: Notification,
    autofocus: str,
    request: HttpRequest | None = None,
    *,
    reader: Reader | None = None,
    copy: str = "",
) -> str:
    """For the tab that acted: ``notification``'s controls again, ``autofocus`` ("read"/"archive") focused
    (``copy="panel"``: the controls of a panel view's copy)."""
    context = _context(notification=notification, autofocus=autofocus, live=True, **_copy_context(copy))
    return _render(CONTROLS_TEMPLATE, context, reader, request)


def render_history_link(request: HttpRequest | None = None, *, reader: Reader | None = None) -> str:
    """For the tab that dismissed the last item of its bar: the history link, focused."""
    return _render(HISTORY_LINK_TEMPLATE, {"autofocus": True}, reader, request)


def render_focus_frame(notification: Notification | None, *, reader: Reader) -> str:
    """For the tab that acted (its "Mark all read", an answer to an item's action), appended to the state frame
    that shows the outcome: the focus on ``notification``'s Dismiss, else the history link."""
    return _render(FOCUS_FRAME_TEMPLATE, _context(notification=notification), reader)


def render_state_frame(state: State, *, live: bool = True, reader: Reader) -> str:
    """The frame that replaces the bar's badge and list with ``state`` (on connect, after any change).

    ``live=False`` also shows that live updates are paused (the channel layer cannot be reached).
    """
    return _render(STATE_FRAME_TEMPLATE, _context(state=state, live=live, full=_full(state)), reader)


def render_outcome_frame(
    outcome: str, notification: Notification | None, pks: Sequence[int], total: int, *, reader: Reader
) -> str:
    """The frame part that tells every tab what an action did (one of :data:`OUTCOMES`), with its Undo:
    ``notification`` is the item it names, ``pks`` the items an Undo of "Mark all read" brings back."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    ids = ",".join(str(pk) for pk in pks)
    context = _context(outcome=outcome, notification=notification, ids=ids, total=total)
    return _render(OUTCOME_FRAME_TEMPLATE, context, reader)


# The panel's tabs and pages (answers to one tab's htmx requests, rendered per request) --------------------


def render_panel_view(
    request: HttpRequest,
    *,
    tabs: Sequence[inbox.Tab],
    show: str,
    items: Sequence[Notification],
    more: bool,
    reload: bool = False,
) -> SafeString:
    """The answer to a panel tab: the tabs again (``show`` marked), the live list's paging reset, and for a tab
    that is not the live list (Archive, a kind) its first page (``items``; ``more``: there may be older ones).
    ``reload``: only that view (an open view reading itself again after an outcome)."""
    live = show in LIVE_TABS
    context = _context(
        tabs=tabs,
        show=show,
        live=live,
        items=items,
        more=more,
        paged=False,
        label=inbox.label(show),
        **(_panel_list("older") if live else _panel_list("view")),
    )
    return _render(PANEL_ONLY_VIEW_TEMPLATE if reload else PANEL_VIEW_TEMPLATE, context, None, request)


def render_panel_page(
    request: HttpRequest, *, show: str, items: Sequence[Notification], more: bool, view: bool
) -> SafeString:
    """The answer to a panel's "Load more": ``items`` (the page after the list's last item), then the next
    "Load more" (``more``) or the end; ``view``: the page of a view's list, else of the live list's older pages."""
    which = {**_panel_list("view" if view else "older"), **_copy_context("panel" if view else "older")}
    context = _context(show=show, items=items, more=more, paged=True, **which)
    return _render(PANEL_PAGE_TEMPLATE, context, None, request)


def render_panel_counts(request: HttpRequest, tabs: Sequence[inbox.Tab]) -> SafeString:
    """The panel tabs' counts alone, out of band (the answer to notification_panel_recount.html)."""
    return _render(PANEL_COUNTS_TEMPLATE, {"tabs": tabs}, None, request)


def render_item_copy(
    notification: Notification, request: HttpRequest, *, copy: str = "", removed: bool = False
) -> SafeString:
    """For the tab that acted on an item the frames may not reach (a page "Load more" added, a panel view's
    copy): that item again, or its removal, out of band."""
    context = _context(notification=notification, removed=removed, **_copy_context(copy))
    return _render(ITEM_COPY_TEMPLATE, context, None, request)


#: The tabs that show the live list (Unread hides its read items); every other tab is a page of its own.
LIVE_TABS = ("all", "unread")


def _panel_list(which: str) -> dict[str, str]:
    """The ids "Load more" works with: under the live list (older pages), or in a view."""
    if which == "older":
        return {"list_id": "notification-older", "more_id": "notification-more", "within": "#notification-list-slot"}
    return {"list_id": "notification-view", "more_id": "notification-view-more", "within": "#notification-view-slot"}


#: Items the socket's frames do not reach, whose forms say so (``copy``), so that their answers update them: an item
#: of the live list's older pages ("older"), a panel view's copy of an item ("panel").
COPIES = ("older", "panel")


def _copy_context(copy: str) -> dict[str, str]:
    """How such an item is rendered: its forms name it; a view's copy has ids beside the live list's and controls
    that move the focus within the view."""
    if copy == "panel":
        return {"copy": "panel", "id_prefix": "panel-notification", "scope": "#notification-view"}
    return {"copy": "older"} if copy == "older" else {}


def render_offline_frame(*, reader: Reader) -> str:
    """The frame that tells an open bar its live updates are paused (the channel layer cannot be reached)."""
    return _render(STATUS_FRAME_TEMPLATE, {"live": False}, reader)


def render_live_frame(*, reader: Reader) -> str:
    """The frame for a socket whose page shows the current state already: live, and a fresh heartbeat clock
    (the same for every reader of a language and time zone: rendered once per process, not once per connect)."""
    return _live_frame(reader, stale_after(), get_script_prefix())


@lru_cache(maxsize=256)
def _live_frame(reader: Reader, stale_after: float, script_prefix: str) -> str:
    return _render(LIVE_FRAME_TEMPLATE, {"live": True, "stale_after": stale_after}, reader)


def render_heartbeat_frame(*, reader: Reader) -> str:
    """The frame each process sends its sockets every ``HEARTBEAT_INTERVAL`` seconds."""
    return _render(HEARTBEAT_FRAME_TEMPLATE, {"stale_after": stale_after()}, reader)


# Render once, substitute ids ---------------------------------------------------------------------------------

#: An id no row has, rendered in place of the real one and then replaced by each recipient's id.
_STAND_IN = str(2**53 - 111)


def _render_new(n: Notification) -> str:
    # In the language and time zone active now: the public renderers above activate their reader first.
    return render_to_string(NEW_FRAME_TEMPLATE, _context(notification=n))


def _shared_new_frame(n: Notification, reader: Reader) -> str | None:
    """The new-item frame with the stand-in id, or None when substituting it would not give the real frame
    (``reader``: the one active now)."""
    if _STAND_IN in repr(n.shown()):  # the caller's own text holds the stand-in
        return None
    twin = copy.copy(n)
    twin.pk = int(_STAND_IN)
    html = _render_new(twin)
    # Checked against a real render once per partial and language in a process (each check is a render).
    checked = (n.item_template, reader.language)
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
_substitution_holds: set[tuple[str, str]] = set()
