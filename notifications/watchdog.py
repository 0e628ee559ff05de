"""One watchdog per event loop over that process's open sockets.

It sends each socket a heartbeat frame every ``HEARTBEAT_INTERVAL`` seconds, re-checks each socket's login
every ``SESSION_CHECK_INTERVAL`` seconds (spread evenly, so 5,000 sockets do not query at once), and probes
the channel layer every ``LAYER_CHECK_INTERVAL`` seconds with a message to a channel of its own. When a probe
is lost the open bars are told live updates are paused; when probes come back every socket re-joins its
groups if it had to and re-reads its bar, so frames lost in the outage are not lost to the user: the
database is the backlog.

That channel of its own is also the process's one member of the broadcast group: a message for every socket
(``refresh_all()``) arrives once per process, and the watchdog has its sockets re-read their bars together
(in batches), instead of each socket subscribing (a second SUBSCRIBE per connect) and reading alone. A
notify() to many users arrives the same way, once per process, and the watchdog hands each socket its user's
frame (``protocol.pushes``), instead of one message per user through the layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import DatabaseError

from . import conf, credentials, db, protocol, rendering
from .readers import Reader, site_reader

logger = logging.getLogger("notifications")

#: Logins one database call re-checks (two queries with the database session engine).
CHECK_BATCH = 500
#: Heartbeats sent in a row (at 50-200 µs a send, 1-4 ms of the loop); a round's slices are spread evenly.
BEAT_SLICE = 20


class Socket(Protocol):
    """What the watchdog needs of an open socket (the consumer)."""

    user: Any
    login: credentials.Login
    joined: bool
    next_check: float
    reader: Reader | None

    async def join(self) -> bool: ...
    async def revoke(self) -> None: ...
    async def send_state(self, shown_version: str | None = None) -> None: ...
    async def hand_over(self, event: dict[str, Any]) -> None: ...
    async def send(self, text_data: str) -> None: ...


class Watchdog:
    def __init__(self) -> None:
        self.sockets: set[Socket] = set()
        self.layer_up = True
        self._logins: asyncio.Task[None] | None = None
        self._layer: asyncio.Task[None] | None = None
        self._channel: str | None = None  # this process's: probes, and its membership of the broadcast group
        self._receiver: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._sent = 0
        self._seen = 0
        self._arrived = asyncio.Event()
        self._resyncs: set[asyncio.Task[None]] = set()

    def add(self, socket: Socket) -> None:
        socket.next_check = time.monotonic() + random.uniform(0, conf.get("SESSION_CHECK_INTERVAL"))
        self.sockets.add(socket)
        if self._logins is None or self._logins.done():
            self._logins = asyncio.create_task(self._check_logins(), name="notifications-logins")
        if conf.get("HEARTBEAT_INTERVAL") and (self._heartbeat is None or self._heartbeat.done()):
            self._heartbeat = asyncio.create_task(self._beat(), name="notifications-heartbeat")
        layer = get_channel_layer()
        if layer is None:
            return
        if self._receiver is None or self._receiver.done():
            self._receiver = asyncio.create_task(self._receive(layer), name="notifications-receiver")
        # The in-memory layer lives in this process: it cannot go away, so it is not probed.
        probed = not isinstance(layer, InMemoryChannelLayer)
        if probed and (self._layer is None or self._layer.done()):
            self._layer = asyncio.create_task(self._watch_layer(layer), name="notifications-layer")

    def discard(self, socket: Socket) -> None:
        self.sockets.discard(socket)
        if not self.sockets:
            self._stop()

    def _stop(self) -> None:
        # Not the watchdog's own task (it may be closing the last socket itself): its loops end as they see
        # no sockets.
        for task in (self._logins, self._layer, self._receiver, self._heartbeat):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._receiver = None

    # Logins -----------------------------------------------------------------------------------------------

    async def _check_logins(self) -> None:
        while self.sockets:
            interval = conf.get("SESSION_CHECK_INTERVAL")
            await asyncio.sleep(min(1.0, interval / 4))
            now = time.monotonic()
            due = [s for s in self.sockets if s.next_check <= now]
            for socket in due:
                socket.next_check = now + interval
            for start in range(0, len(due), CHECK_BATCH):
                await self.check(due[start : start + CHECK_BATCH])

    async def check(self, sockets: list[Socket]) -> None:
        """Re-check these sockets' logins in one database call; close those that no longer hold."""
        try:
            holding = await db.reading(credentials.logins_hold)([s.login for s in sockets])
        except DatabaseError as error:
            # Fail open for delivery (nothing new is stored while the database is unreachable); every action
            # is checked again before it runs.
            logger.warning("Could not re-check the logins of %d socket(s): %r", len(sockets), error)
            return
        for socket, holds in zip(sockets, holding, strict=True):
            if not holds:
                await socket.revoke()

    # Heartbeats ---------------------------------------------------------------------------------------------

    async def _beat(self) -> None:
        """Every HEARTBEAT_INTERVAL seconds one small frame to each local socket: a bar that stops getting
        them knows its server is gone (it says so, and reconnects). Local sends only, no channel layer: the
        frame proves that this socket's server is alive, which a layer message could not.

        A round is spread over the interval, ``BEAT_SLICE`` sockets at a time at even spacing, so the loop is
        never held for more than one slice: a push goes through the loop in several steps (Redis, the
        layer's queue, the consumer), and with slices back to back each step waited for a whole slice
        (1,000 sockets: push p99 63 ms; 17 ms with no heartbeat; ``bench/results/latency.md``)."""
        while self.sockets:
            interval = conf.get("HEARTBEAT_INTERVAL")
            if not interval:
                return
            frames = PerReader(rendering.render_heartbeat_frame)
            await asyncio.sleep(interval / math.ceil(len(self.sockets) / BEAT_SLICE))
            # Taken after the first pause, so a socket that opened during it is in this round (with up to
            # BEAT_SLICE sockets, a beat comes one interval after the last, as it did before the spreading).
            # The same order every round (a socket's address is fixed while it lives): each socket's beats
            # stay about one interval apart, well inside the 2.5 intervals after which its bar says "stale".
            sockets = sorted(self.sockets, key=id)
            slices = math.ceil(len(sockets) / BEAT_SLICE)
            for start in range(0, len(sockets), BEAT_SLICE):
                if start:
                    await asyncio.sleep(interval / slices)
                for socket in sockets[start : start + BEAT_SLICE]:
                    if socket in self.sockets:  # not closed meanwhile
                        with contextlib.suppress(Exception):  # a closing socket; its own code cleans up
                            await socket.send(text_data=frames.of(socket))

    # The channel layer ------------------------------------------------------------------------------------

    async def _watch_layer(self, layer: Any) -> None:
        while self.sockets:
            await asyncio.sleep(conf.get("LAYER_CHECK_INTERVAL"))
            if await self._probe(layer):
                if not self.layer_up:
                    logger.warning("The channel layer is back: %d socket(s) re-read their bar.", len(self.sockets))
                    self.layer_up = True
                    # Everything: a Redis that restarted empty has forgotten group memberships, too.
                    await self._join_broadcast(layer)
                    await self.resync(self.sockets, rejoin=True)
                else:
                    await self.resync([s for s in self.sockets if not s.joined])
            elif self.layer_up:
                logger.error("The channel layer does not answer: live updates are paused for open sockets.")
                self.layer_up = False
                await self._announce_offline()

    async def _probe(self, layer: Any) -> bool:
        """Send a message to the watchdog's own channel and wait for it to come back."""
        self._sent += 1
        number = self._sent
        try:
            async with asyncio.timeout(max(1.0, conf.get("LAYER_CHECK_INTERVAL"))):
                if self._channel is None:
                    return False  # the receiver has not got its channel yet: the layer refused it
                await layer.send(self._channel, {"type": "notification.probe", "n": number})
                while self._seen < number:
                    self._arrived.clear()
                    await self._arrived.wait()
        except Exception:  # any failure of the layer (refused, reset, timed out) is "down"
            return False
        return True

    async def _receive(self, layer: Any) -> None:
        """The process's channel: probes coming back, and messages for every socket (the broadcast group)."""
        try:
            while self._channel is None:
                try:
                    self._channel = await layer.new_channel()
                except Exception:  # the layer is down; the probe loop reports it
                    await asyncio.sleep(0.5)
            await self._join_broadcast(layer)
            while True:
                try:
                    message = await layer.receive(self._channel)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the layer is down; the probe loop reports it
                    await asyncio.sleep(0.5)
                    continue
                if message.get("type") == protocol.REFRESH:
                    task = asyncio.create_task(self.resync(self.sockets))
                    self._resyncs.add(task)  # held until done (the loop keeps only weak references)
                    task.add_done_callback(self._resyncs.discard)
                elif message.get("type") == protocol.PUSHES:
                    await self.hand_out(message)
                else:
                    self._seen = max(self._seen, message.get("n", 0))
                    self._arrived.set()
        finally:
            channel, self._channel = self._channel, None
            if channel is not None:
                with contextlib.suppress(Exception):  # the layer is down: its subscriptions went with it
                    async with asyncio.timeout(conf.get("PUSH_TIMEOUT")):
                        await layer.group_discard(protocol.broadcast_group(), channel)

    async def hand_out(self, message: protocol.Message) -> None:
        """One notify() to many users (``protocol.pushes``): each of this process's sockets whose user is a
        recipient gets that user's frame, filled in once per user; nobody else's socket gets anything."""
        items, counts, html = message["items"], message["counts"], message["html"]
        frames: dict[str, protocol.Message] = {}
        for socket in list(self.sockets):
            key = str(socket.user.pk)
            if key not in items:
                continue
            if key not in frames:
                pk, count = items[key]
                frames[key] = protocol.push(pk, rendering.fill_new_frame(html, pk) + counts[str(count)], count)
            with contextlib.suppress(Exception):  # a closing socket; its own code cleans up
                await socket.hand_over(frames[key])

    async def _join_broadcast(self, layer: Any) -> None:
        if self._channel is None:
            return
        try:
            async with asyncio.timeout(conf.get("PUSH_TIMEOUT")):
                await layer.group_add(protocol.broadcast_group(), self._channel)
        except Exception as error:  # joined again when the layer is back
            logger.warning("This process could not join the broadcast group: %r", error)

    async def _announce_offline(self) -> None:
        frames = PerReader(rendering.render_offline_frame)
        for socket in list(self.sockets):
            with contextlib.suppress(Exception):
                await socket.send(text_data=frames.of(socket))

    async def resync(self, sockets: Iterable[Socket], *, rejoin: bool = False) -> None:
        """Re-join groups (where a join failed, or all), then send each socket its bar. The sockets ask at
        once, so their states are read in batches (``consumers.state_frames``), not one call per socket."""
        sockets = list(sockets)
        for socket in sockets:
            # Still open? Each join waits on the layer, and thousands of sockets may end meanwhile (a storm).
            if socket in self.sockets and (rejoin or not socket.joined):
                await socket.join()
        sockets = [socket for socket in sockets if socket in self.sockets]
        results = await asyncio.gather(*(socket.send_state() for socket in sockets), return_exceptions=True)
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:  # the next probe or refresh sends them again
            logger.warning("Could not re-send the bars of %d socket(s): %r", len(failed), failed[0])


_watchdogs: dict[asyncio.AbstractEventLoop, Watchdog] = {}


class PerReader:
    """A frame every socket gets, rendered once per language and time zone among them."""

    def __init__(self, render: Callable[[], str]) -> None:
        self.render = render
        self.frames: dict[Reader, str] = {}

    def of(self, socket: Socket) -> str:
        reader = socket.reader or site_reader()
        if reader not in self.frames:
            with reader.active():
                self.frames[reader] = self.render()
        return self.frames[reader]


def get() -> Watchdog:
    """The running event loop's watchdog."""
    loop = asyncio.get_running_loop()
    for old in [other for other in _watchdogs if other.is_closed()]:
        del _watchdogs[old]
    if loop not in _watchdogs:
        _watchdogs[loop] = Watchdog()
    return _watchdogs[loop]
