from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from notifications import anotify, api, protocol
from notifications.consumers import NotificationConsumer
from notifications.models import Notification
from notifications.protocol import (
    CLOSE_FRAME_TOO_LARGE,
    CLOSE_RATE_LIMITED,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNSUPPORTED_DATA,
)

from .conftest import connected

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


async def test_anonymous_socket_is_accepted_then_closed_with_4401(layer: Any) -> None:
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = AnonymousUser()
    ok, _ = await communicator.connect()
    assert ok  # accepted first, so the browser sees 4401 rather than a failed handshake (1006, retried)
    assert await communicator.receive_output() == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


async def test_inactive_user_is_refused(alice: Any, layer: Any) -> None:
    alice.is_active = False
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = alice
    await communicator.connect()
    assert (await communicator.receive_output())["code"] == CLOSE_UNAUTHENTICATED


async def test_connect_sends_the_current_state(alice: Any, bob: Any, layer: Any) -> None:
    mine = await anotify(alice, "waiting for you")
    await anotify(bob, "not for alice")
    async with connected(alice) as ws:
        assert f'id="notification-{mine.pk}"' in ws.state
        assert 'id="notification-count"' in ws.state and ">1</span>" in ws.state
        assert "not for alice" not in ws.state


async def test_a_notification_reaches_every_tab_of_its_user_only(alice: Any, bob: Any, layer: Any) -> None:
    async with connected(alice) as tab1, connected(alice) as tab2, connected(bob) as bobs:
        n = await anotify(alice, "Build 42 finished", level="success")
        for tab in (tab1, tab2):
            frame = await tab.receive_from()
            assert f'id="notification-{n.pk}"' in frame
            assert ">1</span>" in frame
        assert await bobs.receive_nothing(timeout=0.3)


async def test_everyone_gets_their_own_item_and_badge(alice: Any, bob: Any, layer: Any) -> None:
    await anotify(alice, "alice has one already")
    async with connected(alice) as a, connected(bob) as b:
        await database_sync_to_async(api.notify_all)("to everyone")
        mine = await Notification.objects.aget(recipient=alice, message="to everyone")
        bobs = await Notification.objects.aget(recipient=bob, message="to everyone")
        frame_a, frame_b = await a.receive_from(), await b.receive_from()
        assert f'id="notification-{mine.pk}"' in frame_a and f"notification-{bobs.pk}" not in frame_a
        assert f'id="notification-{bobs.pk}"' in frame_b and f"notification-{mine.pk}" not in frame_b
        assert ">2</span>" in frame_a and ">1</span>" in frame_b
        assert "to everyone" in frame_a and "to everyone" in frame_b


async def test_rolled_back_notify_sends_nothing(alice: Any, layer: Any) -> None:
    @database_sync_to_async
    def notify_and_roll_back() -> None:
        from django.db import transaction

        with pytest.raises(RuntimeError), transaction.atomic():
            api.notify(alice, "never")
            raise RuntimeError

    async with connected(alice) as ws:
        await notify_and_roll_back()
        assert await ws.receive_nothing(timeout=0.3)
    assert await Notification.objects.acount() == 0


async def test_read_in_one_tab_pushes_the_new_state_to_all(alice: Any, layer: Any) -> None:
    n = await anotify(alice, "read me")
    async with connected(alice) as tab1, connected(alice) as tab2:
        await tab1.send_to(text_data=json.dumps({"action": "read", "id": str(n.pk), "HEADERS": {}}))
        for tab in (tab1, tab2):
            frame = await tab.receive_from()
            assert 'data-read="true"' in frame and ">0</span>" in frame


async def test_read_all_and_archive_over_the_socket(alice: Any, layer: Any) -> None:
    first = await anotify(alice, "one")
    await anotify(alice, "two")
    async with connected(alice) as ws:
        await ws.send_json_to({"action": "archive", "id": first.pk})
        frame = await ws.receive_from()
        assert f"notification-{first.pk}" not in frame and ">1</span>" in frame
        await ws.send_json_to({"action": "read_all"})
        assert ">0</span>" in await ws.receive_from()


async def test_someone_elses_id_changes_nothing_and_answers_nothing(alice: Any, bob: Any, layer: Any) -> None:
    n = await anotify(alice, "alice's")
    async with connected(bob) as ws:
        for bad in (n.pk, str(n.pk), 10**12, -1, "x", None, [1], {"a": 1}):
            await ws.send_json_to({"action": "read", "id": bad})
            await ws.send_json_to({"action": "archive", "id": bad})
        assert await ws.receive_nothing(timeout=0.3)
    await n.arefresh_from_db()
    assert not n.is_read and not n.is_archived


@pytest.mark.parametrize("frame", ["not json", "[1, 2]", '"text"', "{}", '{"action": "drop_tables"}', "null"])
async def test_garbage_is_ignored_and_the_socket_stays_open(alice: Any, layer: Any, frame: str) -> None:
    async with connected(alice) as ws:
        await ws.send_to(text_data=frame)
        assert await ws.receive_nothing(timeout=0.2)
        n = await anotify(alice, "still live")
        assert f"notification-{n.pk}" in await ws.receive_from()


async def test_binary_frame_closes_with_4415(alice: Any, layer: Any) -> None:
    async with connected(alice) as ws:
        await ws.send_to(bytes_data=b"\x00\x01")
        assert (await ws.receive_output())["code"] == CLOSE_UNSUPPORTED_DATA


async def test_huge_frame_closes_with_4413(alice: Any, layer: Any) -> None:
    async with connected(alice) as ws:
        await ws.send_to(text_data=json.dumps({"action": "read", "id": "1" * 5000}))
        assert (await ws.receive_output())["code"] == CLOSE_FRAME_TOO_LARGE


async def test_flood_closes_with_4429(alice: Any, layer: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"ACTION_RATE_LIMIT": 5, "ACTION_RATE_WINDOW": 60}
    async with connected(alice) as ws:
        for _ in range(6):
            await ws.send_json_to({"action": "nothing"})
        assert (await ws.receive_output())["code"] == CLOSE_RATE_LIMITED


async def test_new_item_already_in_the_state_is_not_sent_twice(alice: Any, layer: Any) -> None:
    n = await anotify(alice, "once")
    async with connected(alice) as ws:
        # As if the push for n had been queued while the state (which holds n) was being read.
        await layer.group_send(protocol.user_group(alice.pk), protocol.push(n.pk, "dup"))
        assert await ws.receive_nothing(timeout=0.2)


async def test_logout_closes_that_sessions_sockets_only(alice: Any, layer: Any) -> None:
    class Session:
        def __init__(self, key: str) -> None:
            self.session_key = key

    async with (
        connected(alice, session=Session("a")) as mine,
        connected(alice, session=Session("b")) as other,
    ):
        await database_sync_to_async(api.disconnect)(alice, session_key="a")
        assert (await mine.receive_output())["code"] == CLOSE_UNAUTHENTICATED
        assert await other.receive_nothing(timeout=0.2)


async def test_deactivation_closes_every_socket(alice: Any, layer: Any) -> None:
    async with connected(alice) as ws:
        alice.is_active = False
        await alice.asave()
        assert (await ws.receive_output())["code"] == CLOSE_UNAUTHENTICATED


async def test_refresh_resends_the_state(alice: Any, layer: Any) -> None:
    async with connected(alice) as ws:
        await database_sync_to_async(api.refresh_all)()
        assert 'id="notification-list"' in await ws.receive_from()
