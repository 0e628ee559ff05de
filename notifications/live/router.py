"""Delivery inside one server process: one channel on the layer, frames handed to the local sockets.

The process has one channel on the channel layer (per event loop). It joins the broadcast group once, and the
group of each user the moment the first socket of that user opens here; it leaves a user's group with that
user's last socket, and the layer with the process's last socket. Every message it receives names who it is
for, and goes into the inbox of each local socket of that user (or of every socket), which Channels' loop in
the consumer reads beside the browser's messages, one at a time.

So a socket needs no channel of its own: a connect of a user who has a tab here already costs no round trip to
the layer, a handshake succeeds while the layer is down (the bar says live updates are paused), and a frame for
a user crosses the layer once per process however many tabs the user has here. A notify() to many users
(``protocol.pushes``) crosses it once per process in all, and is unpacked here into each recipient's frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import weakref
from collections.abc import Iterator
from typing import Any, Protocol

from channels.layers import BaseChannelLayer, get_channel_layer

from .. import conf
from ..store.readers import Reader
from ..web import rendering
from . import credentials, protocol, shared
from .watchdog import Watchdog

logger = logging.getLogger("notifications")

#: Seconds a handshake waits for its user's subscription before it reads the bar anyway.
JOIN_WAIT = 0.5
#: Seconds a subscription may take before it counts as failed (the watchdog tries again).
JOIN_TIMEOUT = 15.0
#: Subscriptions and unsubscriptions of one process on their way to the layer at once (the rest wait their turn).
LAYER_TURNS = 32
#: Seconds one turn of the event loop may take before a probe that timed out says nothing about the layer (the
#: process is slow, not the layer): a probe needs a few turns, so turns this long make it late.
BUSY_TURN = 0.1


async def _busy(deadline: float | None) -> bool:
    """Whether the event loop is slow: the time-out at ``deadline`` (loop time) came more than ``BUSY_TURN`` late,
    or one turn of the loop (every callback ready now) takes longer than that."""
    loop = asyncio.get_running_loop()
    late = loop.time() - deadline if deadline is not None else 0.0
    start = loop.time()
    await asyncio.sleep(0)
    return max(late, loop.time() - start) > BUSY_TURN


class Socket(Protocol):
    """What the router and its watchdog need of an open socket (the consumer)."""

    user: Any
    inbox: asyncio.Queue[protocol.Message]  # read by Channels' loop in the consumer, one message at a time
    login: credentials.Login
    next_check: float  # when the watchdog re-checks its login next
    reader: Reader | None

    async def revoke(self) -> None: ...
    async def send(self, text_data: str) -> None: ...


class Router:
    def __init__(self) -> None:
        self.by_user: dict[str, set[Socket]] = {}
        self.subscribed: set[str] = set()  # the users whose group this process's channel is in
        self.failed: set[str] = set()  # the users whose last subscription failed (their bars say "paused")
        self.channel: str | None = None
        self._opening: asyncio.Future[str] | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._probes: dict[int, asyncio.Future[None]] = {}
        self._wakes: dict[str, asyncio.TimerHandle] = {}  # per user: the refresh when a snooze ends
        self._joining: dict[str, asyncio.Task[None]] = {}  # per user: the subscription on its way
        self._early: set[str] = set()  # users with a socket that read its bar before their subscription was made
        # Subscriptions queue here, not on the layer: channels-redis's pub/sub layer sends every SUBSCRIBE,
        # UNSUBSCRIBE and PUBLISH of a process under one lock, so a burst of thousands of them would hold this
        # process's own publishes (a probe, a push) for seconds.
        self._turns = asyncio.Semaphore(LAYER_TURNS)
        self._probed = 0
        self._unsent = False  # a probe could not be sent since the last one that came back
        # Whether the layer has answered since the last probe was lost (or since the process opened it): a
        # subscription still on its way counts as live only then.
        self.answered = False
        self.servers: shared.Servers | None = None  # the layer's Redis servers (None: another layer)
        self.identity: shared.Identity | None = None  # who they were when last asked
        self.watchdog = Watchdog(self)

    def sockets(self) -> Iterator[Socket]:
        for sockets in list(self.by_user.values()):
            yield from list(sockets)

    def __contains__(self, socket: Socket) -> bool:
        return socket in self.by_user.get(str(socket.user.pk), ())

    def __len__(self) -> int:
        return sum(len(sockets) for sockets in self.by_user.values())

    # Sockets --------------------------------------------------------------------------------------------------

    async def add(self, socket: Socket) -> None:
        """Hand ``socket`` its user's messages from now on, subscribing the process to the user's group if it is
        not yet, and wait for that subscription, so the bar read next misses nothing. A layer that has answered
        lately is busy, not stuck (a burst of handshakes queues thousands of subscriptions): the wait lasts
        until the subscription is made or fails (``JOIN_TIMEOUT``), and the bar is read once (a second read per
        socket is what tipped a process into handshake time-outs in a restart of 5,000). Otherwise it
        lasts ``JOIN_WAIT`` seconds at most (a stuck layer holds no bar), and a subscription made later has the
        user's sockets re-read their bars; one that fails is tried again by the watchdog."""
        key = str(socket.user.pk)
        self.by_user.setdefault(key, set()).add(socket)
        self.watchdog.add(socket)
        if key in self.subscribed:
            return
        joining = self._joining.get(key)
        if joining is None or joining.done():
            joining = self._joining[key] = asyncio.create_task(self._join_late(key), name="notifications-join")
        try:
            await asyncio.wait_for(asyncio.shield(joining), JOIN_TIMEOUT + 1 if self.answered else JOIN_WAIT)
        except TimeoutError:
            if not joining.done():
                self._early.add(key)  # this socket reads its bar before the subscription is made

    async def _join_late(self, key: str) -> None:
        if await self.join(key) and key in self._early:
            self.refresh([key])  # sockets that read their bars before the subscription read them again
        self._early.discard(key)  # one that failed: the watchdog's retry has them read again

    async def discard(self, socket: Socket) -> None:
        """``socket`` has ended; the user's group is left with their last socket, the layer with the last one."""
        key = str(socket.user.pk)
        sockets = self.by_user.get(key)
        if sockets is None or socket not in sockets:
            return
        sockets.discard(socket)
        if sockets:
            return
        del self.by_user[key]
        self._joining.pop(key, None)
        self._early.discard(key)
        self.failed.discard(key)
        timer = self._wakes.pop(key, None)
        if timer is not None:
            timer.cancel()
        if not self.by_user:
            await self._stop()
        elif key in self.subscribed:
            await self._leave(key, self.channel)

    def wake(self, socket: Socket, at: datetime.datetime | None) -> None:
        """Have the sockets of ``socket``'s user here re-read their bars at ``at`` (when their next snoozed item
        comes back), unless an earlier wake is due already. No job in the database: each process wakes its own."""
        key = str(socket.user.pk)
        timer = self._wakes.get(key)
        if at is None or (timer is not None and timer.when() <= self._loop_time(at)):
            return
        if timer is not None:
            timer.cancel()
        self._wakes[key] = asyncio.get_running_loop().call_at(self._loop_time(at), self._wake, key)

    def _wake(self, key: str) -> None:
        self._wakes.pop(key, None)
        self.refresh([key])

    @staticmethod
    def _loop_time(at: datetime.datetime) -> float:
        # A little after the moment, so the bar's read finds the item awake.
        delay = (at - datetime.datetime.now(datetime.UTC)).total_seconds() + 0.05
        return asyncio.get_running_loop().time() + max(0.0, delay)

    def live(self, socket: Socket) -> bool:
        """Whether the layer answers (as far as the watchdog knows) and the user's subscription did not fail.
        One still on its way does not make a bar say "paused" (a burst of handshakes queues thousands of
        subscriptions) if the layer has answered lately; either way the bar is read again once it is made."""
        key = str(socket.user.pk)
        return self.watchdog.layer_up and key not in self.failed and (key in self.subscribed or self.answered)

    async def over_limit(self, socket: Socket) -> bool:
        """Count one action of ``socket``'s user against the budget all server processes share (in Redis); in
        this process alone with another layer, or while Redis does not answer."""
        servers = self._servers()
        if servers is not None:
            try:
                return await servers.over_limit(socket.user.pk)
            except Exception as error:
                logger.warning("Counting an action in Redis failed, counted in this process: %r", error)
        return shared.local_budget.over_limit(socket.user.pk)

    async def restarted(self) -> bool:
        """Whether a server of the layer restarted, or was replaced by a failover, since last asked (frames
        published meanwhile are lost, and redis-py re-subscribes quietly), or a failover is still under way.
        False if none can be asked."""
        servers = self._servers()
        if servers is None:
            return False
        try:
            identity = await servers.identity()
        except Exception:  # down: the probes say so
            return False
        before, self.identity = self.identity, identity
        # While a failover is unfinished, frames may be lost on the way between two masters: every probe counts.
        return before is not None and (before.servers != identity.servers or identity.split)

    def _servers(self) -> shared.Servers | None:
        if self.servers is None:
            self.servers = shared.servers()
        return self.servers

    # The layer --------------------------------------------------------------------------------------------

    async def join(self, key: str) -> bool:
        """Subscribe this process to user ``key``'s group, unless it is already."""
        async with self._lock(key):
            if key in self.subscribed:
                return True
            if key not in self.by_user:  # the socket ended while this waited
                return False
            try:
                # Longer than a push may wait: a burst of handshakes (a restart's sockets coming back) queues
                # thousands of SUBSCRIBEs on one connection, and a subscription that gave up too early would
                # only be made again later.
                async with asyncio.timeout(max(conf.get("PUSH_TIMEOUT"), JOIN_TIMEOUT)), self._turns:
                    layer, channel = await self._open()
                    await layer.group_add(protocol.user_group(key), channel)
                self.answered = True
            except Exception as error:  # the layer is down: the watchdog's retry subscribes once it is back
                logger.warning("Could not subscribe to the group of user %s: %r", key, error)
                self.failed.add(key)
                return False
            if channel != self.channel:  # the process left the layer meanwhile (its last socket ended)
                return False
            self.subscribed.add(key)
            self.failed.discard(key)
            return True

    async def retry(self) -> list[str]:
        """Subscribe every user with sockets here whose subscription failed (together); their keys."""
        keys = [key for key in list(self.by_user) if key not in self.subscribed]
        joined = await asyncio.gather(*(self.join(key) for key in keys))
        return [key for key, ok in zip(keys, joined, strict=True) if ok]

    async def rejoin(self) -> None:
        """After an outage: subscribe everything again (a Redis that restarted has forgotten every group)."""
        self.subscribed.clear()
        if self.channel is not None:
            await self._join_broadcast(self._layer(), self.channel)
        await self.retry()

    async def probe(self) -> bool | None:
        """Send a message to this process's channel and wait for it to come back: True if it did, False if the
        layer failed or did not answer in time, None if the process itself was too busy to tell (one turn of its
        event loop took longer than ``BUSY_TURN``: a burst of handshakes).

        A probe that went out but is late stays awaited: if it comes back after all, before a later one, it was
        only late and nothing was lost with it (see :meth:`lost`)."""
        self._probed += 1
        number = self._probed
        arrived = self._probes[number] = asyncio.get_running_loop().create_future()
        sent, deadline = False, asyncio.timeout(max(1.0, conf.get("LAYER_CHECK_INTERVAL")))
        try:
            async with deadline:
                layer, channel = await self._open()
                await layer.send(channel, protocol.probe(number))
                sent = True
                await asyncio.shield(arrived)
        except Exception as error:  # any failure of the layer (refused, reset, timed out) is "down"
            busy = isinstance(error, TimeoutError) and await _busy(deadline.when())
            if not sent:
                self._probes.pop(number, None)
                self._unsent = self._unsent or not busy
            if busy:
                return None
            self.answered = False
            return False
        self.answered = True
        return True

    def lost(self) -> bool:
        """Asked after a probe came back: whether a probe since the last one that came back could not be sent, or
        went out and never came back while this later one did (a channel delivers in order): frames may have
        been lost with it. Forgets them."""
        lost = self._unsent or bool(self._probes)
        for pending in self._probes.values():
            pending.cancel()
        self._probes.clear()
        self._unsent = False
        return lost

    def _layer(self) -> BaseChannelLayer:
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("No channel layer is configured (notifications.E001).")
        return layer

    async def _open(self) -> tuple[BaseChannelLayer, str]:
        """The layer and this process's channel on it, made and joined to the broadcast group on first use."""
        layer = self._layer()
        if self.channel is None:
            if self._opening is None or self._opening.done():
                self._opening = asyncio.ensure_future(self._new_channel(layer))
                # Its failure reaches whoever waits for it; with none left (they timed out), it is not an error
                # to log when the task is collected.
                self._opening.add_done_callback(lambda opening: opening.cancelled() or opening.exception())
            await asyncio.shield(self._opening)
        assert self.channel is not None
        return layer, self.channel

    async def _new_channel(self, layer: BaseChannelLayer) -> str:
        # Who the servers are before subscribing: a restart after this is noticed at the next probe.
        await self.restarted()
        # Bounded, and not shielded past its bound: with no socket timeout (redis-py before 6, or hosts that
        # set none) a Redis that never answers would hold this, and every later subscription, for good.
        async with asyncio.timeout(max(conf.get("PUSH_TIMEOUT"), JOIN_TIMEOUT)):
            channel: str = await layer.new_channel()
        self.channel = channel
        self._receiver = asyncio.create_task(self._receive(layer, channel), name="notifications-router")
        await self._join_broadcast(layer, channel)
        return channel

    async def _join_broadcast(self, layer: BaseChannelLayer, channel: str) -> None:
        try:
            async with asyncio.timeout(conf.get("PUSH_TIMEOUT")):
                await layer.group_add(protocol.broadcast_group(), channel)
        except Exception as error:  # joined again when the layer is back (rejoin)
            logger.warning("This process could not join the broadcast group: %r", error)

    async def _leave(self, key: str, channel: str | None) -> None:
        async with self._lock(key):
            if key in self.by_user or channel is None or channel != self.channel:
                return  # a socket of the user came back meanwhile, or the channel is gone and with it its groups
            self.subscribed.discard(key)
            try:
                async with asyncio.timeout(conf.get("PUSH_TIMEOUT")), self._turns:
                    await self._layer().group_discard(protocol.user_group(key), channel)
            except Exception as error:  # the layer is down; its subscriptions went with it
                logger.warning("Could not leave the group of user %s: %r", key, error)

    async def _stop(self) -> None:
        """The last socket has ended: leave the layer."""
        self.watchdog.stop()
        keys, self.subscribed = self.subscribed, set()
        channel, self.channel = self.channel, None
        if self._receiver is not None:
            self._receiver.cancel()
            self._receiver = None
        servers, self.servers, self.identity, self.answered = self.servers, None, None, False
        if servers is not None:
            await servers.close()
        if channel is None:
            return
        groups = [protocol.broadcast_group(), *(protocol.user_group(key) for key in keys)]
        with contextlib.suppress(Exception):  # the layer is down: its subscriptions went with it
            async with asyncio.timeout(conf.get("PUSH_TIMEOUT")):
                for group in groups:
                    await self._layer().group_discard(group, channel)

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def _receive(self, layer: BaseChannelLayer, channel: str) -> None:
        while True:
            try:
                message = await layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer is down; the watchdog's probes report it
                await asyncio.sleep(0.5)
                continue
            self.route(message)

    # Messages -------------------------------------------------------------------------------------------------

    def route(self, message: protocol.Message) -> None:
        """Hand ``message`` to the local sockets it is for."""
        if message["type"] == protocol.PROBE:
            arrived = self._probes.pop(message["n"], None)
            if arrived is not None and not arrived.done():
                arrived.set_result(None)
        elif message["type"] == protocol.PUSHES:
            for key in message["items"].keys() & self.by_user.keys():
                self._hand(self.by_user.get(key, ()), unpack(message, key))
        elif message["type"] == protocol.REFRESH:
            self._hand(self.sockets(), message)
        else:
            self._hand(self.by_user.get(message["user"], ()), message)

    def refresh(self, keys: list[str] | None = None) -> None:
        """Have these users' sockets (None: every socket here) re-read their bars."""
        sockets = self.sockets() if keys is None else (s for key in keys for s in self.by_user.get(key, ()))
        self._hand(sockets, protocol.refresh())

    @staticmethod
    def _hand(sockets: Any, message: protocol.Message) -> None:
        for socket in list(sockets):
            socket.inbox.put_nowait(message)


def unpack(message: protocol.Pushes, user: str) -> protocol.Push:
    """``user``'s own frame out of a :func:`protocol.pushes` message (one notify() to many users)."""
    pk, count = message["items"][user]
    html = rendering.fill_new_frame(message["html"], pk) + message["counts"][str(count)]
    return protocol.push(user, pk, html, count)


_routers: dict[asyncio.AbstractEventLoop, Router] = {}


def get() -> Router:
    """The running event loop's router."""
    loop = asyncio.get_running_loop()
    for old in [other for other in _routers if other.is_closed()]:
        del _routers[old]
    if loop not in _routers:
        _routers[loop] = Router()
    return _routers[loop]
