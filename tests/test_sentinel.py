"""Redis Sentinel: the channel layer follows a failover, and open sockets converge with nothing missing.

A real deployment on loopback (``testing.sentinel``): one master, one replica, three sentinels. Notifications
flow continuously while the master is SIGKILLed; every socket must get live frames again and hold every stored
notification within 15 s of the kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import OperationalError

from notifications import notify
from notifications.models import Notification
from testing.communicators import connected
from testing.html import ids, pks
from testing.sentinel import SentinelCluster

pytestmark = [
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server (Debian: redis-server)"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
    # channels-redis makes a redis-py Sentinel per layer and never closes its clients of the sentinels (redis-py
    # 8.2 has Sentinel.aclose(), nothing calls it): they close when collected, with a ResourceWarning. This test
    # has them collected before it ends (``cluster``), so these filters cover them and nothing of other tests.
    pytest.mark.filterwarnings("ignore:unclosed:ResourceWarning", "ignore:loop is closed:ResourceWarning"),
]

#: Seconds from the kill within which every socket must hold every stored notification (issue 26).
CONVERGE_WITHIN = 15.0
#: Seconds between two notify() calls of the stream (alternating between the users).
SEND_EVERY = 0.05


@pytest.fixture
async def cluster(settings: Any) -> AsyncIterator[SentinelCluster]:
    """The deployment, as the channel layer's one host; afterwards, what the layers hold of it is closed now
    rather than during a later test (see pytestmark)."""
    with SentinelCluster() as cluster:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [cluster.host_entry()]},
            }
        }
        yield cluster
        await get_channel_layer().flush()  # this loop's layer lets go of its pool and Sentinel
        gc.collect()  # the delivery thread's layer keeps its own while the process lives (its loop never ends)


@dataclass
class Tab:
    """What one socket shows: the items of its bar, as its frames leave it (a state frame replaces the list)."""

    user: Any
    ws: WebsocketCommunicator
    changed: asyncio.Event  # shared by the tabs: set after each frame
    shown: set[int] = field(default_factory=set)
    pushed: set[int] = field(default_factory=set)  # the items that came one by one (not within a state)
    pushes: list[float] = field(default_factory=list)  # when each of those frames arrived
    states: list[float] = field(default_factory=list)  # when each state frame (the list replaced) arrived

    def __post_init__(self) -> None:
        self.shown = set(pks(self.ws.state))

    async def read(self) -> None:
        while True:
            frame = await self.ws.receive_from(timeout=60)
            items = set(pks(frame))
            if "notification-list" in ids(frame):
                self.shown = items
                self.states.append(time.monotonic())
            elif items:
                self.shown |= items
                self.pushed |= items
                self.pushes.append(time.monotonic())
            self.changed.set()


async def send(user: Any, message: str) -> int:
    """notify() from this async test; the pk of what it stored.

    The unit tests' in-memory SQLite shares one cache between connections, where a write that meets the
    sockets' reads of their bars fails at once with "database table is locked" (no busy timeout applies) and
    stores nothing: it is sent again, as a caller would (PostgreSQL has no such lock)."""
    for _ in range(50):
        try:
            pk: int = (await database_sync_to_async(notify)(user, message)).pk
            return pk
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            await asyncio.sleep(0.01)
    raise AssertionError(f"notify({user}, {message!r}) found the database locked 50 times")


def stored(user: Any) -> set[int]:
    return set(Notification.objects.filter(recipient=user).values_list("pk", flat=True))


async def test_open_sockets_converge_through_a_failover(
    alice: Any, bob: Any, cluster: SentinelCluster, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A bar as large as the stream, so "converged" is "holds every stored notification".
    settings.NOTIFICATIONS = {"LAYER_CHECK_INTERVAL": 0.5, "BAR_SIZE": 1000}
    changed = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        tabs = [Tab(u, await stack.enter_async_context(connected(u)), changed) for u in (alice, bob) for _ in range(3)]
        readers = [asyncio.create_task(tab.read()) for tab in tabs]
        sending = True

        async def stream() -> None:
            n = 0
            while sending:
                n += 1
                await send((alice, bob)[n % 2], f"stream {n}")
                await asyncio.sleep(SEND_EVERY)

        sender = asyncio.create_task(stream())
        await asyncio.sleep(1.5)
        old = await asyncio.to_thread(cluster.kill_master)
        killed, killed_at = time.monotonic(), time.time()
        new = await asyncio.to_thread(cluster.wait_for_failover, CONVERGE_WITHIN)
        promoted = time.monotonic()
        await asyncio.sleep(2)  # the stream goes on through and after the failover
        sending = False
        await sender
        # One more each after the stream: it reaches every tab too.
        last = {user.pk: await send(user, "after the failover") for user in (alice, bob)}
        want = {user.pk: await database_sync_to_async(stored)(user) for user in (alice, bob)}

        async def converge() -> None:
            while True:
                changed.clear()
                if all(want[tab.user.pk] <= tab.shown for tab in tabs):
                    return
                await changed.wait()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(converge(), CONVERGE_WITHIN - (time.monotonic() - killed))
        converged = time.monotonic() - killed
        for task in readers:
            task.cancel()

        # What happened, for the log of a run (-s): the failover, the app's view of it, how the tabs caught up.
        print(f"\nmaster {old} SIGKILLed; the sentinels promoted {new} {promoted - killed:.2f}s later")
        logged: dict[str, list[float]] = {}  # each message, when it was logged (a failed push: once per push)
        for record in caplog.records:
            if record.name.startswith(("notifications", "channels_redis")) and record.created >= killed_at:
                message = f"{record.levelname} {record.name}: {record.getMessage()}"
                logged.setdefault(message, []).append(record.created - killed_at)
        for message, times in sorted(logged.items(), key=lambda item: item[1][0]):
            span = f" to +{times[-1]:.2f}s, {len(times)} times" if len(times) > 1 else ""
            print(f"  +{times[0]:.2f}s{span}: {message}")
        for tab in tabs:
            after = [f"+{t - killed:.2f}s" for t in tab.states if t > killed]
            print(
                f"  {tab.user}'s tab: state frames at {after}, {len(want[tab.user.pk] - tab.pushed)} item(s) not pushed"
            )
        print(f"{sum(len(w) for w in want.values())} notifications; converged {converged:.2f}s after the kill")
        caplog.clear()  # the outage's logged tracebacks hold pools and Sentinels in their frames: see pytestmark

        for tab in tabs:
            missing = sorted(want[tab.user.pk] - tab.shown)
            assert not missing, f"{tab.user}'s tab misses {missing} {CONVERGE_WITHIN}s after the kill"
            assert last[tab.user.pk] in tab.shown
            assert any(t > promoted for t in tab.pushes), f"{tab.user}'s tab got no pushed frame after the failover"
