"""The liveness of one process's sockets and of its channel layer (one watchdog per router, see ``router``).

It sends each socket a heartbeat frame every ``HEARTBEAT_INTERVAL`` seconds, re-checks each socket's login
every ``SESSION_CHECK_INTERVAL`` seconds (spread evenly, so 5,000 sockets do not query at once), and probes
the channel layer every ``LAYER_CHECK_INTERVAL`` seconds with a message to the process's own channel. When
probes are lost the open bars are told live updates are paused; when probes come back the router subscribes
again and every socket re-reads its bar, so frames lost in the outage are not lost to the user: the database
is the backlog. An outage shorter than the interval loses no probe, so each probe also asks who the layer's
Redis servers are (``shared``): a server that restarted or failed over meanwhile has every bar read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import DatabaseError

from .. import conf
from ..store.readers import Reader, site_reader
from ..web import rendering
from . import credentials, db

if TYPE_CHECKING:
    from .router import Router, Socket

logger = logging.getLogger("notifications")

#: Logins one database call re-checks (two queries with the database session engine).
CHECK_BATCH = 500
#: Heartbeats sent in a row (at 50-200 µs a send, 1-4 ms of the loop); a round's slices are spread evenly.
BEAT_SLICE = 20


class Watchdog:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.layer_up = True
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def sockets(self) -> list[Socket]:
        return list(self.router.sockets())

    def add(self, socket: Socket) -> None:
        """Watch ``socket`` too (its loops start with the first socket and end with the last)."""
        socket.next_check = time.monotonic() + random.uniform(0, conf.get("SESSION_CHECK_INTERVAL"))
        self._start("logins", self._check_logins)
        if conf.get("HEARTBEAT_INTERVAL"):
            self._start("heartbeat", self._beat)
        # The in-memory layer lives in this process: it cannot go away, so it is not probed.
        if not isinstance(get_channel_layer(), InMemoryChannelLayer | None):
            self._start("layer", self._watch_layer)

    def _start(self, name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = self._tasks.get(name)
        if task is None or task.done():
            self._tasks[name] = asyncio.create_task(loop(), name=f"notifications-{name}")

    def stop(self) -> None:
        # Not the watchdog's own task (it may be closing the last socket itself): its loop ends as it sees no
        # sockets.
        for task in self._tasks.values():
            if task is not asyncio.current_task():
                task.cancel()
        self._tasks.clear()

    # Logins -----------------------------------------------------------------------------------------------

    async def _check_logins(self) -> None:
        while self.router:
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
        while self.router:
            interval = conf.get("HEARTBEAT_INTERVAL")
            if not interval:
                return
            frames = PerReader(rendering.render_heartbeat_frame)
            await asyncio.sleep(interval / math.ceil(len(self.router) / BEAT_SLICE))
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
                    if socket in self.router:  # not closed meanwhile
                        with contextlib.suppress(Exception):  # a closing socket; its own code cleans up
                            await socket.send(text_data=frames.of(socket))

    # The channel layer ------------------------------------------------------------------------------------

    async def _watch_layer(self) -> None:
        """Probe the layer. One lost probe is not an outage yet, but frames may have been lost with it: when the
        next probe comes back every socket re-reads its bar. Two lost in a row are: the bars say live updates
        are paused until probes come back.

        A process busy with a burst of handshakes (a restart's sockets coming back) sees its probes back late.
        A late probe that comes back lost nothing, and a miss while the event loop itself is that busy says
        nothing about the layer: neither has every bar read again (or said paused), which would only add a
        read per socket to the burst."""
        misses = 0
        while self.router:
            await asyncio.sleep(conf.get("LAYER_CHECK_INTERVAL"))
            answered = await self.router.probe()
            if answered is None:  # the process was too busy to tell
                continue
            if answered:
                lost = self.router.lost()
                restarted = await self.router.restarted()
                if not self.layer_up:
                    logger.warning("The channel layer is back: %d socket(s) re-read their bar.", len(self.router))
                    self.layer_up = True
                    await self.router.rejoin()
                    self.router.refresh()
                elif restarted:
                    logger.warning(
                        "A Redis server of the channel layer restarted or failed over: %d socket(s) re-read their bar.",
                        len(self.router),
                    )
                    await self.router.rejoin()
                    self.router.refresh()
                elif lost:
                    logger.warning(
                        "A probe of the channel layer was lost: %d socket(s) re-read their bar.", len(self.router)
                    )
                    self.router.refresh()
                else:  # the users whose subscription failed (at connect, in an outage): subscribed now
                    self.router.refresh(await self.router.retry())
                misses = 0
                continue
            misses += 1
            if misses >= 2 and self.layer_up:
                logger.error("The channel layer does not answer: live updates are paused for open sockets.")
                self.layer_up = False
                await self._announce_offline()

    async def _announce_offline(self) -> None:
        frames = PerReader(rendering.render_offline_frame)
        for socket in self.sockets:
            with contextlib.suppress(Exception):
                await socket.send(text_data=frames.of(socket))


class FrameRenderer(Protocol):
    """A renderer of ``rendering`` for a frame without data of its own (``render_heartbeat_frame``...)."""

    def __call__(self, *, reader: Reader) -> str: ...


class PerReader:
    """A frame every socket gets, rendered once per language and time zone among them."""

    def __init__(self, render: FrameRenderer) -> None:
        self.render = render
        self.frames: dict[Reader, str] = {}

    def of(self, socket: Socket) -> str:
        reader = socket.reader or site_reader()
        if reader not in self.frames:
            self.frames[reader] = self.render(reader=reader)
        return self.frames[reader]
