"""The WebSocket consumer: authenticate, join groups, send the current state, run actions, forward frames.

It renders nothing itself (frames arrive rendered, once per recipient) and touches the database only on
connect (the current state) and for the few actions a user may take on their own notifications.

Close codes a client can see:

======  ==================================================================================
4401    not logged in, logged out, or deactivated (htmx does not retry: reload to log in)
4413    a frame larger than ``MAX_FRAME_BYTES``
4415    a binary frame (only text frames are understood)
4429    more than ``ACTION_RATE_LIMIT`` actions in ``ACTION_RATE_WINDOW`` seconds
1006    (seen by the browser, not sent) the server went away, e.g. a restart: htmx reconnects with back-off

daphne (autobahn) sends only 1000 and 3000-4999, so codes are in the application range 4xxx, and a shutdown
cannot say 1012: its sockets drop (1006), which the ws extension retries exactly as it would retry 1012.
======  ==================================================================================

Anything else a client sends (not JSON, not an object, an unknown action, a bad id) is ignored and logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from . import api, conf, groups, rendering
from .state import load_state

logger = logging.getLogger("notifications")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FRAME_TOO_LARGE = 4413
CLOSE_RATE_LIMITED = 4429
CLOSE_UNSUPPORTED_DATA = 4415

#: What a browser may ask for over the socket, and the API call that does it.
ACTIONS = {
    "read": lambda user, data: api.mark_read(user, data.get("id")),
    "archive": lambda user, data: api.archive(user, data.get("id")),
    "read_all": lambda user, data: api.mark_all_read(user),
}


@database_sync_to_async
def _state_frame(user: Any) -> tuple[list[int], str]:
    state = load_state(user)
    return state.pks, rendering.render_state_frame(state)


@database_sync_to_async
def _run_action(name: str, user: Any, data: dict[str, Any]) -> None:
    ACTIONS[name](user, data)


#: Channel-layer messages the consumer only forwards: they need no database, so no connection clean-up either.
FORWARDED = frozenset({"notification.push", "notification.state", "notification.close"})


class NotificationConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every handler: a hop to the thread-sensitive
        # executor that was a quarter of the server's time when forwarding frames (bench/results/profile.md).
        # Forwarding touches no database, and every database call here goes through database_sync_to_async,
        # which does that clean-up itself.
        if message["type"] in FORWARDED:
            await getattr(self, get_handler_name(message))(message)
        else:
            await super().dispatch(message)

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated or not self.user.is_active:
            # Accept, then close with a 4xxx code: refusing the handshake reads as 1006 in the browser, which
            # the htmx ws extension retries forever.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.shown: set[int] = set()
        self.recent_actions: deque[float] = deque()
        # Join before reading the state, so nothing committed in between is missed; a new-item frame for an
        # item the state already holds is dropped in notification_push.
        self.groups = [groups.user_group(self.user.pk), groups.BROADCAST]
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_state()

    async def send_state(self) -> None:
        pks, html = await _state_frame(self.user)
        self.shown = set(pks)
        await self.send(text_data=html)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.close(code=CLOSE_UNSUPPORTED_DATA)
            return
        if len(text_data.encode()) > conf.get("MAX_FRAME_BYTES"):
            logger.warning("Closing socket of user %s: frame of %d characters.", self.user.pk, len(text_data))
            await self.close(code=CLOSE_FRAME_TOO_LARGE)
            return
        if self._rate_limited():
            logger.warning("Closing socket of user %s: too many actions.", self.user.pk)
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        try:
            data = json.loads(text_data)
        except ValueError:
            data = None
        name = data.get("action") if isinstance(data, dict) else None
        if not isinstance(name, str) or name not in ACTIONS:
            logger.warning("Ignoring frame from user %s: not a known action: %.200r", self.user.pk, text_data)
            return
        await _run_action(name, self.user, data)

    def _rate_limited(self) -> bool:
        now = time.monotonic()
        window = self.recent_actions
        while window and window[0] <= now - conf.get("ACTION_RATE_WINDOW"):
            window.popleft()
        window.append(now)
        return len(window) > conf.get("ACTION_RATE_LIMIT")

    # Channel-layer messages (type "notification.push" is handled by notification_push, and so on).

    async def notification_push(self, event: dict[str, Any]) -> None:
        """A new item for this user: forward it unless this tab's state already shows it."""
        if event["pk"] not in self.shown:
            await self.send(text_data=event["html"])

    async def notification_state(self, event: dict[str, Any]) -> None:
        """This user's whole bar, after a change in any tab or device."""
        self.shown = set(event["pks"])
        await self.send(text_data=event["html"])

    async def notification_refresh(self, event: dict[str, Any]) -> None:
        """Re-read the state (sent to everyone after bulk changes made outside the API)."""
        await self.send_state()

    async def notification_close(self, event: dict[str, Any]) -> None:
        """Close this socket: the user logged out (this session only) or was deactivated (all sessions)."""
        session_key = event.get("session_key")
        if session_key is None or session_key == getattr(self.scope.get("session"), "session_key", None):
            await self.close(code=event["code"])
