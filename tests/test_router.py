"""The per-process router: one channel on the layer per process, one subscription per user, frames to inboxes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
import redis.asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from notifications.live import protocol, pushes, router
from notifications.live.consumers import NotificationConsumer
from notifications.store import api
from testing.communicators import connected, group_members
from testing.html import elements, pks

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


@pytest.fixture(params=["in-memory", "redis pub/sub"])
def either_layer(request: pytest.FixtureRequest, settings: Any, redis_url: str) -> None:
    if request.param == "in-memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        request.getfixturevalue("pubsub_layer")


def frame_items(frame: str) -> set[str]:
    """The ids of the new items in a frame (the toast names the item too: the same id is counted once)."""
    return {f"notification-{pk}" for pk in pks(frame)}


async def test_a_process_joins_the_broadcast_group_once_whatever_its_sockets(
    alice: Any, bob: Any, either_layer: None
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connected(user)) for user in (alice, alice, bob)]
        assert len(group_members(protocol.broadcast_group())) == 1
        await database_sync_to_async(api.refresh_all)()
        for ws in sockets:  # and every socket still re-reads its bar (unchanged: only the live frame comes)
            assert elements(await ws.receive_from(timeout=5), id="notification-status")
    assert group_members(protocol.broadcast_group()) == set()


async def test_a_user_is_subscribed_once_per_process_however_many_tabs(
    alice: Any, bob: Any, either_layer: None
) -> None:
    """Before: every socket had a channel of its own on the layer and joined its user's group with it (with
    Redis: a SUBSCRIBE for the channel and one for the group, per connect)."""
    async with contextlib.AsyncExitStack() as stack:
        alices = [await stack.enter_async_context(connected(alice)) for _ in range(3)]
        await stack.enter_async_context(connected(bob))
        members = group_members(protocol.user_group(alice.pk))
        assert len(members) == 1
        assert members == group_members(protocol.user_group(bob.pk))  # the process's one channel
        row = await database_sync_to_async(api.notify)(alice, "to every tab")
        for ws in alices:
            assert frame_items(await ws.receive_from(timeout=5)) == {f"notification-{row.pk}"}
    assert group_members(protocol.user_group(alice.pk)) == set()


async def test_a_user_group_is_left_with_the_users_last_socket_only(alice: Any, bob: Any, either_layer: None) -> None:
    async with connected(bob), connected(alice) as first:
        async with connected(alice):
            pass
        assert group_members(protocol.user_group(alice.pk)), "alice's other tab still needs her group"
        row = await database_sync_to_async(api.notify)(alice, "still here")
        assert frame_items(await first.receive_from(timeout=5)) == {f"notification-{row.pk}"}


async def test_the_process_leaves_its_redis_subscriptions_with_its_last_socket(
    alice: Any, pubsub_layer: str, redis_url: str
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    groups = [f"{pubsub_layer}__group__{g}" for g in (protocol.broadcast_group(), protocol.user_group(alice.pk))]
    try:
        async with connected(alice):
            assert await client.pubsub_numsub(*groups) == [(g.encode(), 1) for g in groups]
        async with asyncio.timeout(5):
            while await client.pubsub_numsub(*groups) != [(g.encode(), 0) for g in groups]:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        await client.aclose()


async def test_a_socket_opened_while_the_layer_is_down_is_accepted_and_told_updates_are_paused(
    alice: Any, settings: Any
) -> None:
    """Before: the handshake of a socket opened while Redis was down failed with HTTP 500 (Channels asked the
    layer for the socket's own channel first), and htmx backed off. Now the socket needs no channel: it is
    accepted, its bar says live updates are paused, and it is subscribed once the layer answers."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
        }
    }
    settings.NOTIFICATIONS = {"PUSH_TIMEOUT": 0.5}
    async with connected(alice) as ws:
        [status] = elements(ws.state, id="notification-status")  # type: ignore[attr-defined]
        assert status.attrs["data-live"] == "false"


async def test_a_subscription_that_failed_is_made_and_the_bar_refreshed_when_the_layer_answers(
    alice: Any, either_layer: None, monkeypatch: Any
) -> None:
    routing = router.get()
    original = routing.join
    failing = True

    async def join(key: str) -> bool:
        if failing:
            routing.failed.add(key)  # as a refused or timed-out subscription leaves it
            return False
        return await original(key)

    monkeypatch.setattr(routing, "join", join)
    async with connected(alice) as ws:
        [status] = elements(ws.state, id="notification-status")  # type: ignore[attr-defined]
        assert status.attrs["data-live"] == "false"
        failing = False
        routing.refresh(await routing.retry())  # what the watchdog does after each probe that came back
        [status] = elements(await ws.receive_from(timeout=5), id="notification-status")
        assert status.attrs["data-live"] == "true"


@pytest.mark.parametrize("answered", [True, False], ids=["layer answered", "layer not heard from"])
async def test_a_slow_subscription_holds_no_handshake_and_loses_no_frame(
    alice: Any, bob: Any, either_layer: None, monkeypatch: Any, answered: bool
) -> None:
    """Found by the rolling-restart bench: thousands of handshakes at once queue their SUBSCRIBEs on one
    connection; each waited for its own, timed out after PUSH_TIMEOUT, and the bars said "paused". Now the
    handshake is accepted at once. If the layer has answered lately (another user's subscription was made: a
    busy layer), the bar is read once the subscription is made, live: one read, nothing missed (reading it
    before, then again after, doubled the database's work in the burst). If it has not (a Redis that never
    answers), the bar is read after JOIN_WAIT, "paused", and again, live, once the subscription is made."""
    routing = router.get()
    original, release = routing.join, asyncio.Event()

    async def slow_join(key: str) -> bool:
        await release.wait()
        return await original(key)

    async with contextlib.AsyncExitStack() as stack:
        if answered:
            await stack.enter_async_context(connected(bob))
        monkeypatch.setattr(routing, "join", slow_join)
        ws = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
        ws.scope["user"] = alice
        async with asyncio.timeout(router.JOIN_WAIT + 2):
            ok, _ = await ws.connect()  # accepted without waiting for the subscription
        assert ok
        try:
            if answered:
                assert await ws.receive_nothing(timeout=router.JOIN_WAIT + 0.5)  # the bar waits for it
            else:
                [status] = elements(await ws.receive_from(timeout=2), id="notification-status")
                assert status.attrs["data-live"] == "false"
            row = await database_sync_to_async(api.notify)(alice, "sent before the subscription")
            release.set()
            frame = await ws.receive_from(timeout=5)  # the bar read (again): the item is in it, and live
            assert row.pk in pks(frame)
            [status] = elements(frame, id="notification-status")
            assert status.attrs["data-live"] == "true"
            assert await ws.receive_nothing(timeout=0.5)  # read once
        finally:
            await ws.disconnect()


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
            assert frame_items(frame) == {f"notification-{row.pk}"} and "hello" in frame
            assert [e.text.strip() for e in elements(frame, id="notification-count")] == ["1"]
        assert await carols.receive_nothing(timeout=0.3)


async def test_frames_reach_a_socket_in_order_one_handler_at_a_time(alice: Any, monkeypatch: Any) -> None:
    """Channels' own loop reads the socket's inbox: a frame that arrives while a handler runs waits for it."""
    entered, release = asyncio.Event(), asyncio.Event()
    original = NotificationConsumer.notification_recheck

    async def slow_recheck(self: NotificationConsumer, event: Any) -> None:
        entered.set()
        await release.wait()
        await original(self, event)

    monkeypatch.setattr(NotificationConsumer, "notification_recheck", slow_recheck)
    async with connected(alice) as ws:
        await database_sync_to_async(api.recheck_logins)(alice)
        await asyncio.wait_for(entered.wait(), 5)
        row = await database_sync_to_async(api.notify)(alice, "after the handler")
        assert await ws.receive_nothing(timeout=0.3)
        release.set()
        assert frame_items(await ws.receive_from(timeout=5)) == {f"notification-{row.pk}"}


async def test_a_burst_of_subscriptions_does_not_hold_the_process_own_probe(
    alice: Any, pubsub_layer: str, settings: Any
) -> None:
    """Found by the rolling-restart bench: channels-redis's pub/sub layer sends a process's SUBSCRIBEs and
    PUBLISHes under one lock, so the subscriptions of 2,500 sockets coming back from a restarted process held this
    process's probe past its time-out: its bars said "paused", then every one re-read its state. Subscriptions
    now wait their turn in the router (``LAYER_TURNS`` at a time), and the probe goes out among the first."""
    settings.NOTIFICATIONS = {"LAYER_CHECK_INTERVAL": 1}
    stop = asyncio.Event()

    async def busy() -> None:  # a loop with other work to do: every handover of the layer's lock takes a turn
        while not stop.is_set():
            time.sleep(0.002)  # noqa: ASYNC251 (a turn of the loop that takes its time)
            await asyncio.sleep(0)

    async with connected(alice):
        routing = router.get()
        keys = [f"burst-{n}" for n in range(2000)]
        routing.by_user.update({key: set() for key in keys})
        hog = asyncio.create_task(busy())
        joins = [asyncio.create_task(routing.join(key)) for key in keys]
        try:
            await asyncio.sleep(0)  # every subscription is on its way
            assert await routing.probe() is True
        finally:
            stop.set()
            await hog
            assert all(await asyncio.gather(*joins))
            for key in keys:
                del routing.by_user[key]
