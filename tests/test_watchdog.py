"""The per-process watchdog: one member of the broadcast group for all of a process's sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model

from notifications import api, protocol, pushes, watchdog

from .conftest import connected, elements, group_members

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


@pytest.fixture(params=["in-memory", "redis pub/sub"])
def either_layer(request: pytest.FixtureRequest, settings: Any, redis_url: str) -> None:
    if request.param == "in-memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        request.getfixturevalue("pubsub_layer")


async def test_a_process_joins_the_broadcast_group_once_whatever_its_sockets(
    alice: Any, bob: Any, either_layer: None
) -> None:
    """Before: every socket joined the broadcast group, and refresh_all() had each read its bar alone; now the
    process's watchdog is its one member and re-reads its sockets' bars in batches."""
    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connected(user)) for user in (alice, alice, bob)]
        assert len(group_members(protocol.broadcast_group())) == 1
        await database_sync_to_async(api.refresh_all)()
        for ws in sockets:  # and every socket still gets its bar again
            assert 'id="notification-list"' in await ws.receive_from(timeout=5)
    assert group_members(protocol.broadcast_group()) == set()  # the last socket gone, the process leaves too


async def test_the_process_leaves_its_redis_subscription_with_its_last_socket(
    alice: Any, pubsub_layer: str, redis_url: str
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    channel = f"{pubsub_layer}__group__{protocol.broadcast_group()}"
    try:
        async with connected(alice):
            assert await client.pubsub_numsub(channel) == [(channel.encode(), 1)]
        # The watchdog's receiver unsubscribes as its cancellation runs: a few loop turns after the last socket
        # left (on a loaded machine, more than the one turn this test used to allow).
        async with asyncio.timeout(5):
            while await client.pubsub_numsub(channel) != [(channel.encode(), 0)]:  # noqa: ASYNC110 (Redis, not us)
                await asyncio.sleep(0.01)
    finally:
        await client.aclose()


async def test_a_socket_that_ended_during_a_resync_is_not_joined_again(
    alice: Any, either_layer: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: the watchdog's re-join after a layer outage went through its list of sockets as it was when the
    layer came back; a socket that had ended meanwhile joined its user's group again and nobody ever left
    it (on Redis: a RuntimeError logged per socket, 49 MB of log in a 5,000-socket restart)."""
    dog = watchdog.get()
    async with connected(alice):
        [socket] = list(dog.sockets)
    assert group_members(protocol.user_group(alice.pk)) == set()
    await dog.resync([socket], rejoin=True)
    assert group_members(protocol.user_group(alice.pk)) == set()
    assert not await socket.join()
    assert "could not join" not in caplog.text


async def test_a_notify_to_many_users_reaches_each_of_their_sockets_with_their_own_frame(
    alice: Any, bob: Any, either_layer: None, monkeypatch: Any
) -> None:
    """The process gets one message and hands each socket its own user's frame; nobody else gets any."""
    monkeypatch.setattr(pushes, "FAN_OUT_FROM", 2)
    carol = await database_sync_to_async(get_user_model().objects.create_user)("carol")
    async with contextlib.AsyncExitStack() as stack:
        alices = [await stack.enter_async_context(connected(alice)) for _ in range(2)]
        bobs = await stack.enter_async_context(connected(bob))
        carols = await stack.enter_async_context(connected(carol))
        rows = await database_sync_to_async(api.notify)([alice, bob], "hello")
        for ws, row in ((alices[0], rows[0]), (alices[1], rows[0]), (bobs, rows[1])):
            frame = await ws.receive_from(timeout=5)
            ids = {e.attrs.get("id") for e in elements(frame, "li") if "nb-item" in (e.attrs.get("class") or "")}
            assert ids == {f"notification-{row.pk}"} and "hello" in frame
            assert [e.text.strip() for e in elements(frame, id="notification-count")] == ["1"]
        assert await carols.receive_nothing(timeout=0.3)


async def test_a_frame_handed_over_during_a_handler_waits_for_it(alice: Any, monkeypatch: Any) -> None:
    """Channels runs one handler of a consumer at a time; the watchdog's hand-over keeps that order."""
    monkeypatch.setattr(pushes, "FAN_OUT_FROM", 1)
    dog = watchdog.get()
    async with connected(alice) as ws:
        [socket] = list(dog.sockets)
        socket.dispatching = True  # as if a handler were running
        row = await database_sync_to_async(api.notify)(alice, "handed over")
        assert await ws.receive_nothing(timeout=0.3)
        await ws.send_to(text_data="not an action")  # the next handler runs; the frame follows it
        assert f'id="notification-{row.pk}"' in await ws.receive_from(timeout=5)


@contextlib.asynccontextmanager
async def heartbeat_round(log: list[str], tabs: int = 300) -> AsyncIterator[asyncio.Event]:
    """A watchdog beating ``tabs`` stand-in sockets, each beat logged as "beat" in ``log``. Entered once the
    first beat is out; the event it gives is set when every tab has had its beat."""
    started, finished = asyncio.Event(), asyncio.Event()

    class Tab:
        reader = None  # the site's language

        async def send(self, text_data: str) -> None:
            log.append("beat")
            started.set()
            if log.count("beat") == tabs:
                finished.set()

    dog = watchdog.Watchdog()
    dog.sockets = {Tab() for _ in range(tabs)}  # type: ignore[misc]
    beating = asyncio.create_task(dog._beat())
    await started.wait()
    try:
        yield finished
    finally:
        beating.cancel()


async def test_a_heartbeat_to_many_sockets_lets_other_work_run_in_between(settings: Any) -> None:
    """Before: the watchdog sent every socket its heartbeat in one go, so a push that came meanwhile waited
    for all of them (at 50-90 µs a send, 5,000 sockets held the loop 0.3-0.45 s)."""
    settings.NOTIFICATIONS = {"HEARTBEAT_INTERVAL": 0.01}
    sent: list[str] = []
    async with heartbeat_round(sent) as finished:
        sent.append("push")  # other work on the loop, as soon as it gets a turn after the heartbeat started
        await finished.wait()
    assert sent.index("push") < len(sent) - 1, "the push waited for every heartbeat"


async def test_a_push_that_comes_during_a_heartbeat_waits_for_one_slice_at_most(settings: Any) -> None:
    """A push crosses the event loop in several steps (Redis, the layer's queue, the consumer). Before: the
    heartbeat's slices came back to back, each step waited for a whole slice, and at 1,000 sockets the push
    p99 was 63 ms against 17 ms with no heartbeat. Now a round's slices are spread over the interval."""
    settings.NOTIFICATIONS = {"HEARTBEAT_INTERVAL": 0.3}
    sent: list[str] = []

    async def push(steps: int = 5) -> None:
        for _ in range(steps):
            await asyncio.sleep(0)  # one step through the loop, as each of the push's callbacks is
        sent.append("push")

    async with heartbeat_round(sent) as finished:
        pushing = asyncio.create_task(push())
        await finished.wait()
    await pushing
    assert sent.index("push") <= watchdog.BEAT_SLICE, "each of the push's steps waited for a slice of beats"
    assert sent.count("beat") == 300  # every socket still had its beat in the round


async def test_a_socket_that_opens_while_a_round_waits_gets_its_beat_in_that_round(settings: Any) -> None:
    """Its bar says "stale" 2.5 intervals after its last frame: a first beat one round late would come close."""
    settings.NOTIFICATIONS = {"HEARTBEAT_INTERVAL": 0.2}
    beats: list[str] = []
    done = asyncio.Event()

    class Tab:
        reader = None  # the site's language

        def __init__(self, name: str) -> None:
            self.name = name

        async def send(self, text_data: str) -> None:
            beats.append(self.name)
            done.set()

    dog = watchdog.Watchdog()
    dog.sockets = {Tab("old")}  # type: ignore[misc]
    beating = asyncio.create_task(dog._beat())
    await asyncio.sleep(0)  # the round has begun its wait
    dog.sockets.add(Tab("new"))  # type: ignore[arg-type]
    await done.wait()
    await asyncio.sleep(0)
    beating.cancel()
    assert sorted(beats) == ["new", "old"]
