"""The WebSocket consumer: authenticate, join groups, send the current state, run actions, forward frames.

It has no channel of its own on the channel layer: the process's router (``router``) subscribes once per user
and puts each frame into the inbox of the user's sockets, which Channels' loop reads beside the browser's
messages. It renders nothing itself (frames arrive rendered, once per recipient) and touches the database only on
connect (the current state), for the few actions a user may take on their own notifications, and to re-check
its login (periodically through the watchdog, before every action, and when the user row changes).

A frame that is not an action (not JSON, too deeply nested, not an object, an unknown action, a bad id) is
ignored and logged in one line; the socket stays open. The close codes a client can see, and what each
means, are in ``protocol``.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import time
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.utils import await_many_dispatch
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DatabaseError

from .. import conf
from ..models import Notification
from ..store import UserPk, api, preferences
from ..store.readers import Reader, readers, site_reader
from ..store.state import load_states
from ..web import rendering
from . import credentials, db, protocol, router

logger = logging.getLogger("notifications")

try:  # daphne's WebSocket protocol (autobahn) raises this for a send after the browser's side closed
    from autobahn.exception import Disconnected
except ImportError:  # another ASGI server: its own way of saying so, or none

    class Disconnected(Exception):  # type: ignore[no-redef]
        """Never raised: no autobahn here."""


#: What a browser may ask for over the socket, and the API call that does it.
ACTIONS: dict[str, Callable[[AbstractBaseUser, dict[str, Any]], object]] = {
    "read": lambda user, data: api.mark_read(user, data.get("id")),
    "archive": lambda user, data: api.archive(user, data.get("id")),
    "read_all": lambda user, data: api.mark_all_read(user),
    "unread": lambda user, data: api.mark_unread(user, data.get("id")),
    "restore": lambda user, data: api.restore(user, data.get("id")),
    "snooze": lambda user, data: _snooze(user, data.get("id"), data.get("until")),
    # What this tab's panel shows (the consumer puts its own list in: a browser names no ids).
    "seen": lambda user, data: api.mark_seen(user, data["shown"]),
    # The Undo of "Mark all read": those items unread again ("ids": a list, or one comma-separated string).
    "unread_many": lambda user, data: api.mark_unread_many(user, _ids(data.get("ids"))),
}


def _ids(value: object) -> list[object]:
    """Ids a browser names: a list of them, or one comma-separated string (ws-send sends one field's value as
    a string, several as a list); anything else names none (the API checks each id)."""
    if isinstance(value, str):
        return list(value.split(","))
    return list(value) if isinstance(value, list) else []


def _snooze(user: AbstractBaseUser, pk: object, choice: object) -> bool:
    """A snooze a browser asks for: one of the offered choices only (the API also takes any time)."""
    return isinstance(choice, str) and choice in preferences.SNOOZE_CHOICES and api.snooze(user, pk, choice)


#: Seconds a refresh the database refused is tried again.
REFRESH_RETRY_FOR = 30.0

#: Seconds a tab that marked all read waits for the state frame that answers it (and carries its focus on).
REFOCUS_WINDOW = 10.0


#: What a socket asks for its state frame: (user pk, live, the version its page shows or None).
FrameRequest = tuple[UserPk, bool, str | None]


class StateFrame(NamedTuple):
    pks: list[int]  # the items the frame shows
    html: str
    badge: int  # what the badge shows
    reader: Reader
    wake_at: datetime.datetime | None  # when the user's next snoozed item comes back
    version: str  # the state's version (what a tab showing it may ask with, see _state_frames)


def _state_frames(requests: list[FrameRequest]) -> dict[FrameRequest, StateFrame]:
    """Each request's items, frame, badge count and reader: the state, or only the live indicator if the tab
    shows that state already. The users' states and readers are read together (three queries, see
    ``state.load_states``); each frame is rendered in its user's language and time zone.

    The shown version is the version of the state the page rendered (``?v=`` in the socket URL). While live,
    a match means the page shows exactly the database's state: rendering and sending it again is skipped, and
    only the (constant, tiny) live frame is sent, which also hides a "paused" notice left from before a
    reconnect. Anything else (no version, a stale one, another user's, live updates paused) sends the state.
    """
    pks = {pk for pk, _, _ in requests}
    states, who = load_states(pks), readers(list(pks))
    frames = {}
    for pk, live, shown_version in requests:
        state, reader, version = states[pk], who[pk], states[pk].version
        if live and shown_version is not None and shown_version == version:
            html = rendering.render_live_frame(reader=reader)
        else:
            html = rendering.render_state_frame(state, live=live, reader=reader)
        frames[pk, live, shown_version] = StateFrame(state.pks, html, state.badge, reader, state.wake_at, version)
    return frames


#: The frames that change what a tab shows (after one, its state's version no longer says what it shows).
_CHANGES_SHOWN = frozenset({protocol.PUSH, protocol.STATE, protocol.CHANGE, protocol.COUNT})

#: Sockets connecting at the same moment (a page-load storm, a restarted server's tabs) read their states
#: together: a few database calls for a burst, not one per socket.
state_frames = db.Batched(_state_frames)


def _query(scope: Any, name: str) -> str:
    """One parameter of the socket URL ("" when absent, or when the query is not one a bar sends)."""
    try:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), max_num_fields=10)
    except ValueError:  # more fields than any page of ours sends
        return ""
    return str((query.get(name) or [""])[0])


def _page_title(scope: Any) -> str:
    """The title of the tab's page (``?title=`` on ws-connect), echoed back into that tab only."""
    return _query(scope, "title")[: rendering.MAX_PAGE_TITLE]


def _tab(scope: Any) -> str:
    """The page's name for its tab (``?tab=``), which an action's answer names to give that tab its focus."""
    tab = _query(scope, "tab")
    return tab if protocol.valid_tab(tab) else ""


def _shown_version(scope: Any) -> str | None:
    """The ``v`` query parameter of the socket URL, if it looks like a version (else None: send the state)."""
    value = _query(scope, "v")
    return value if value and len(value) <= 64 and value.isascii() and value.isalnum() else None


def _act(name: str, user: AbstractBaseUser, data: dict[str, Any], login: credentials.Login) -> tuple[bool, object]:
    """Run an action if the socket's login still holds: (True, what it returned), else (False, None) and
    nothing changes."""
    if not credentials.logins_hold([login])[0]:
        return False, None
    return True, ACTIONS[name](user, data)


def _focus_frame(user: AbstractBaseUser, pk: int | None, reader: Reader) -> str:
    """The focus part for the tab that acted: onto item ``pk``'s Dismiss (the history link if it is gone)."""
    item = Notification.objects.filter(recipient_id=user.pk, pk=pk).active().first() if pk else None
    return rendering.render_focus_frame(item, reader=reader)


def _parse(text: str) -> tuple[str, dict[str, Any]] | None:
    """The action a frame asks for, or None for anything that is not one."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        return None
    name = data.get("action") if isinstance(data, dict) else None
    if not isinstance(name, str) or name not in ACTIONS:
        return None
    return name, data


class NotificationConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels publishes no types
    user: Any = None
    closing = False
    next_check = 0.0
    refocus_until = 0.0  # see receive()
    reader: Reader | None = None  # the user's language and time zone, read with each state
    # The version of the state this tab shows, as the last state frame left it; None once another frame may
    # have changed what it shows. A refresh that finds the same state and reader sends only the live frame.
    version: str | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' own loop (``await_many_dispatch``), over the browser's messages and this socket's inbox
        instead of a channel of its own on the layer (``AsyncConsumer.__call__`` would make one per socket)."""
        self.scope, self.base_send = scope, send
        self.router = router.get()
        self.inbox: asyncio.Queue[protocol.Message] = asyncio.Queue()
        try:
            await await_many_dispatch([receive, self.inbox.get], self.dispatch)
        except StopConsumer:
            pass
        finally:
            # However the consumer ends (a disconnect, a bug), the router forgets it.
            await self._leave()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Straight to the handler: Channels' default first closes stale database connections on the one
        # thread every database_sync_to_async call of the process shares (a stuck query there would stall
        # every socket's frames). Every database call here runs on notifications.live.db's pools, which clean up
        # themselves.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if message["type"] in _CHANGES_SHOWN:
            self.version = None
        await handler(message)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept, then close with a 4xxx code: refusing the handshake reads as 1006 in the browser, which
            # the htmx ws extension retries forever.
            await self.accept()
            await self.close(code=protocol.CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        session = self.scope.get("session")
        self.login = credentials.Login(user.pk, getattr(session, "session_key", None), "session" in self.scope)
        # The ids this tab's list holds, newest first, as the browser has them (cut to BAR_SIZE like the list).
        self.shown: list[int] = []
        self.page_title = _page_title(self.scope)
        self.tab = _tab(self.scope)
        # Accepted at once; subscribed before reading the state, so nothing committed in between is missed (a
        # new-item frame for an item the state already holds is dropped in notification_push).
        await self.accept()
        await self.router.add(self)
        await self.send_state(_shown_version(self.scope))

    async def _leave(self) -> None:
        self.closing = True  # called as the socket ends: nothing more is sent
        if self.user is not None:
            await self.router.discard(self)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        await self._leave()
        await self.disconnect(message["code"])
        raise StopConsumer

    async def send_state(self, shown_version: str | None = None) -> None:
        """Send the state, or only the live frame when the tab shows ``shown_version`` and it is current."""
        live = self.router.live(self)
        frame = await state_frames.get((self.user.pk, live, shown_version))
        if shown_version is not None and self.reader not in (None, frame.reader):
            # The tab shows that state in another language or time zone (a refresh): send it all.
            frame = await state_frames.get((self.user.pk, live, None))
        self.reader = frame.reader
        self.router.wake(self, frame.wake_at)
        await self.apply_state(frame.pks, frame.html, frame.badge)
        self.version = frame.version

    async def apply_state(
        self, pks: list[int], html: str, count: int | None = None, *, focus: int | None = None
    ) -> None:
        """Send a state frame; ``focus``: this tab acted on that item, and gets the keyboard focus back on it."""
        if self.closing:
            return
        self.shown = list(pks)
        if self.refocus_until:  # this tab's "Mark all read": on to the first item
            if time.monotonic() < self.refocus_until and focus is None:
                focus = self.shown[0] if self.shown else 0
            self.refocus_until = 0.0
        if focus is not None and (focus == 0 or focus in self.shown):
            try:
                html += await db.reading(_focus_frame)(self.user, focus, self.reader or site_reader())
            except DatabaseError as error:  # the database went away: the state goes out without the focus
                logger.warning("Could not read the focus of a socket of user %s: %r", self.user.pk, error)
        await self.send(text_data=self._titled(html, count))

    def _titled(self, html: str, count: int | None) -> str:
        """The frame, plus this tab's title part when the frame carries a count and the page sent its title."""
        if count is None or not self.page_title:
            return html
        return html + rendering.render_title_frame(self.page_title, count, reader=self.reader or site_reader())

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        """A frame that meets a tab closing at that moment (the browser left, the rate limit closed it) is an
        ordinary race, not an application error: dropped, as the socket's disconnect follows."""
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except Disconnected:
            logger.debug("A frame for a socket of user %s met its close.", getattr(self.user, "pk", None))

    async def revoke(self) -> None:
        """Stop delivering at once and close as unauthenticated."""
        if self.closing:
            return
        logger.info("Closing socket of user %s: its login no longer holds.", self.user.pk)
        # Shielded: the watchdog runs this and is cancelled when its last socket leaves, i.e. right here.
        await asyncio.shield(self._close(protocol.CLOSE_UNAUTHENTICATED))

    async def _close(self, code: int) -> None:
        self.closing = True  # nothing more is forwarded, even what is already queued
        await self.close(code=code)
        await self._leave()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        if text_data is None:
            await self.close(code=protocol.CLOSE_UNSUPPORTED_DATA)
            return
        # surrogatepass: a str from a test client may hold lone surrogates; daphne's never does.
        if len(text_data.encode("utf-8", "surrogatepass")) > conf.get("MAX_FRAME_BYTES"):
            logger.warning("Closing socket of user %s: frame of %d characters.", self.user.pk, len(text_data))
            await self.close(code=protocol.CLOSE_FRAME_TOO_LARGE)
            return
        if await self.router.over_limit(self):
            logger.warning("Closing socket of user %s: too many actions.", self.user.pk)
            await self.close(code=protocol.CLOSE_RATE_LIMITED)
            return
        parsed = _parse(text_data)
        if parsed is None:
            logger.warning("Ignoring frame from user %s: not a known action: %.200r", self.user.pk, text_data)
            return
        name, data = parsed
        if name == "seen":
            data["shown"] = list(self.shown)
        try:
            allowed, result = await db.writing(_act)(name, self.user, data, self.login)
        except DatabaseError as error:
            logger.warning("Action %r of user %s failed: %r", name, self.user.pk, error)
            return
        if not allowed:
            await self.revoke()
            return
        if name == "read_all" and result:
            # Its button leaves with the count, and the keyboard focus with it: the state frame that shows the
            # change (Channels hands this consumer its next message only after this one) carries this tab's
            # focus on to the list.
            self.refocus_until = time.monotonic() + REFOCUS_WINDOW
        if not self.router.watchdog.layer_up:
            await self.send_state()  # the pushed state cannot arrive through the layer: show the change here

    # Messages from the router: Channels hands a message of type protocol.PUSH to notification_push, and so on.

    async def notification_push(self, event: protocol.Push) -> None:
        """A new item for this user: forward it unless this tab's state already shows it."""
        if event["pk"] not in self.shown and not self.closing:
            self.shown = [event["pk"], *self.shown][: conf.get("BAR_SIZE")]
            await self.send(text_data=self._titled(event["html"], event["count"]))

    async def notification_state(self, event: protocol.State) -> None:
        """This user's whole bar, after a change in any tab or device (and the focus, if this tab acted)."""
        focus = event.get("focus")
        pk = focus["pk"] if focus is not None and self.tab and focus["tab"] == self.tab else None
        if "wake" in event:
            self.router.wake(self, datetime.datetime.fromtimestamp(event["wake"], datetime.UTC))
        await self.apply_state(event["pks"], event["html"], event["count"], focus=pk)

    async def notification_change(self, event: protocol.Change) -> None:
        """One item of this user's bar changed: touch only it, so focus elsewhere in the list survives."""
        if self.closing:
            return
        parts = [event["item"]] if event["pk"] in self.shown else []
        if event["tail_pk"] is not None and event["tail_pk"] not in self.shown:
            parts.append(event["tail"])
        parts.append(event["count_html"])
        self.shown = list(event["pks"])
        await self.send(text_data=self._titled("".join(parts), event["count"]))

    async def notification_count(self, event: protocol.Count) -> None:
        """Only the badge changed (a panel was opened: seen)."""
        if not self.closing:
            await self.send(text_data=self._titled(event["html"], event["count"]))

    async def notification_recheck(self, event: protocol.Recheck) -> None:
        """The user row changed (password, is_active...): check this socket's login now."""
        await self.router.watchdog.check([self])

    async def notification_close(self, event: protocol.Close) -> None:
        """Close this socket: the user logged out (this session only) or every session must go."""
        session_key = event["session_key"]
        if session_key is None or session_key == self.login.session_key:
            await self._close(event["code"])

    async def notification_refresh(self, event: protocol.Refresh) -> None:
        """Re-read this bar (``refresh_all()``, the layer back after an outage, a subscription made late)."""
        # A refresh is how a tab learns what it missed: one the database refused (a lock, a restart) is tried
        # again, later frames waiting their turn, for up to REFRESH_RETRY_FOR seconds.
        deadline, pause = time.monotonic() + REFRESH_RETRY_FOR, 0.25
        while not self.closing:
            try:
                # What this tab shows, if no frame changed it since its last state: a socket that connected before
                # its user's subscription was made (router.JOIN_WAIT) re-reads its bar, and mostly finds it the same.
                await self.send_state(self.version)
                return
            except DatabaseError as error:
                logger.warning("Could not re-send the bar of a socket of user %s: %r", self.user.pk, error)
                if time.monotonic() + pause > deadline:
                    return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 4.0)
