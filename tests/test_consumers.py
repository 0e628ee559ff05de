from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.utils import timezone

from notifications import anotify
from notifications.live import consumers, protocol
from notifications.live.consumers import NotificationConsumer
from notifications.live.protocol import (
    CLOSE_FRAME_TOO_LARGE,
    CLOSE_RATE_LIMITED,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNSUPPORTED_DATA,
)
from notifications.models import Notification
from notifications.store import api
from notifications.web.views import acting_tab
from testing.communicators import connected, group_members, login_session
from testing.html import ANY, attr, badge, by_id, elements, ids, items, submits, swap, swaps

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
        assert f"notification-{mine.pk}" in ids(ws.state)
        assert badge(ws.state) == 1
        assert "not for alice" not in ws.state


async def test_a_notification_reaches_every_tab_of_its_user_only(alice: Any, bob: Any, layer: Any) -> None:
    async with connected(alice) as tab1, connected(alice) as tab2, connected(bob) as bobs:
        n = await anotify(alice, "Build 42 finished", level="success")
        for tab in (tab1, tab2):
            frame = await tab.receive_from()
            assert f"notification-{n.pk}" in ids(frame)
            assert badge(frame) == 1
        assert await bobs.receive_nothing(timeout=0.3)


async def test_everyone_gets_their_own_item_and_badge(alice: Any, bob: Any, layer: Any) -> None:
    await anotify(alice, "alice has one already")
    async with connected(alice) as a, connected(bob) as b:
        await database_sync_to_async(api.notify_all)("to everyone")
        mine = await Notification.objects.aget(recipient=alice, message="to everyone")
        bobs = await Notification.objects.aget(recipient=bob, message="to everyone")
        frame_a, frame_b = await a.receive_from(), await b.receive_from()
        assert f"notification-{mine.pk}" in ids(frame_a) and f"notification-{bobs.pk}" not in ids(frame_a)
        assert f"notification-{bobs.pk}" in ids(frame_b) and f"notification-{mine.pk}" not in ids(frame_b)
        assert badge(frame_a) == 2 and badge(frame_b) == 1
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
            assert items(frame) == [(n.pk, "true")] and badge(frame) == 0


async def test_read_all_and_archive_over_the_socket(alice: Any, layer: Any) -> None:
    first = await anotify(alice, "one")
    await anotify(alice, "two")
    async with connected(alice) as ws:
        await ws.send_json_to({"action": "archive", "id": first.pk})
        frame = await ws.receive_from()
        assert f"delete:#notification-{first.pk}" in swaps(frame) and badge(frame) == 1
        await ws.send_json_to({"action": "read_all"})
        assert badge(await ws.receive_from()) == 0


async def test_a_state_whose_focus_cannot_be_read_goes_out_without_it_and_the_socket_stays(
    alice: Any, layer: Any, monkeypatch: Any
) -> None:
    """Found by CI (a PostgreSQL restart under load): the state after "Mark all read" reads the acting tab's focus
    from the database; with the database gone the error ended the socket (1011). Now the state goes out without
    the focus, and the socket stays."""
    from django.db import OperationalError

    await anotify(alice, "newest")

    def database_gone(*args: Any) -> str:
        raise OperationalError("connection refused")

    monkeypatch.setattr(consumers, "_focus_frame", database_gone)
    async with connected(alice) as acting:
        await acting.send_json_to({"action": "read_all"})
        frame = await acting.receive_from()
        assert badge(frame) == 0 and elements(frame, autofocus=None) == []
        later = await anotify(alice, "later")
        assert f"notification-{later.pk}" in ids(await acting.receive_from())


async def test_the_tab_that_marks_all_read_gets_its_focus_back_and_no_other_tab_does(alice: Any, layer: Any) -> None:
    """Before: "Mark all read" vanished with the count and the keyboard focus fell to the page; now the frame
    that shows the change to the tab that asked moves its focus to the first item's Dismiss."""
    await anotify(alice, "older")
    newest = await anotify(alice, "newest")
    async with connected(alice) as acting, connected(alice) as other:
        await acting.send_json_to({"action": "read_all"})
        frame, elsewhere = await acting.receive_from(), await other.receive_from()
        [focused] = elements(frame, autofocus=None)
        assert submits(focused) == f"/notifications/{newest.pk}/archive/"  # its Dismiss
        slot = swap(frame, f"innerHTML:#notification-{newest.pk}-controls")
        assert by_id(frame, "notification-list").position < slot.position
        assert elements(elsewhere, autofocus=None) == [] and badge(elsewhere) == 0
        # Only that one frame: a later change in another tab moves nobody's focus.
        await anotify(alice, "later")
        await acting.receive_from(), await other.receive_from()  # its new-item frame
        await other.send_json_to({"action": "read_all"})
        assert elements(await acting.receive_from(), autofocus=None) == []


async def test_only_the_tab_that_answered_an_action_gets_its_focus_back(alice: Any, layer: Any) -> None:
    """Before: Approve/Decline left with the answer and the keyboard focus fell to the page. The answering
    view passes its tab (views.acting_tab: the X-Notification-Tab header) to resolve(); that tab gets the focus on the
    item's Dismiss, with the frame that shows the outcome."""
    n = await anotify(alice, "Deploy?", actions=[{"label": "Approve", "url": "/a/"}])
    tabs = {"acting": "tab-acting-0001", "other": "tab-other-00001"}
    async with (
        connected(alice, query_string=f"tab={tabs['acting']}".encode()) as acting,
        connected(alice, query_string=f"tab={tabs['other']}".encode()) as other,
    ):
        request = RequestFactory().post("/a/", headers={protocol.TAB_HEADER: tabs["acting"]})
        assert await api.aresolve(n, "Approved", tab=acting_tab(request))
        frame, elsewhere = await acting.receive_from(), await other.receive_from()
        [focused] = elements(frame, autofocus=None)
        assert submits(focused) == f"/notifications/{n.pk}/archive/"  # its Dismiss
        assert swap(frame, f"innerHTML:#notification-{n.pk}-controls")
        assert elements(elsewhere, autofocus=None) == [] and "Approved" in elsewhere
        # A name no tab has (or none: resolve() without a tab) moves nobody's focus.
        n2 = await anotify(alice, "Again?", actions=[{"label": "Approve", "url": "/a/"}])
        await acting.receive_from(), await other.receive_from()  # its new-item frame
        stranger = RequestFactory().post("/a/", headers={protocol.TAB_HEADER: "tab-nobody-0001"})
        assert await api.aresolve(n2, "Approved", tab=acting_tab(stranger))
        assert elements(await acting.receive_from(), autofocus=None) == []


async def test_someone_elses_id_changes_nothing_and_answers_nothing(alice: Any, bob: Any, layer: Any) -> None:
    n = await anotify(alice, "alice's")
    async with connected(bob) as ws:
        for bad in (n.pk, str(n.pk), 10**12, -1, "x", None, [1], {"a": 1}):
            await ws.send_json_to({"action": "read", "id": bad})
            await ws.send_json_to({"action": "archive", "id": bad})
        assert await ws.receive_nothing(timeout=0.3)
    await n.arefresh_from_db()
    assert not n.is_read and not n.is_archived


NESTED = '{"action":"read","id":' + "[" * 1000 + "]" * 1000 + "}"
GARBAGE = {
    "not json": "not json",
    "a list": "[1, 2]",
    "a string": '"text"',
    "no action": "{}",
    "unknown action": '{"action": "drop_tables"}',
    "null": "null",
    "nested deeper than the parser's stack": NESTED,
    "nested objects": '{"":' * 800 + "1" + "}" * 800,
    "lone surrogates": "\ud800" + '{"action": "read_all"}',
    "a huge number": '{"action": "read", "id": ' + "9" * 4000 + "}",
}


@pytest.mark.parametrize("frame", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_is_ignored_and_the_socket_stays_open(alice: Any, layer: Any, frame: str, caplog: Any) -> None:
    async with connected(alice) as ws:
        await ws.send_to(text_data=frame)
        assert await ws.receive_nothing(timeout=0.2)
        n = await anotify(alice, "still live")
        assert f"notification-{n.pk}" in ids(await ws.receive_from())
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]  # no traceback


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
        await layer.group_send(protocol.user_group(alice.pk), protocol.push(alice.pk, n.pk, "dup"))
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
        # A change outside the API (unchanged, a bar gets only the live frame: test_connect_version.py).
        await database_sync_to_async(Notification.objects.create)(recipient=alice, title="made in bulk")
        await database_sync_to_async(api.refresh_all)()
        frame = await ws.receive_from()
        assert "notification-list" in ids(frame) and "made in bulk" in frame


async def test_a_refresh_the_database_refuses_is_tried_again(alice: Any, layer: Any, monkeypatch: Any) -> None:
    """Found by CI's Sentinel test: the refresh after the layer came back met SQLite's lock, was dropped with a
    log line, and the tabs never got what was sent during the failover. Now it is tried again."""
    from django.db import OperationalError

    from notifications.live import consumers

    async with connected(alice) as ws:
        await database_sync_to_async(Notification.objects.create)(recipient=alice, title="sent meanwhile")
        refused, get = [OperationalError("database table is locked")], consumers.state_frames.get

        async def locked_once(key: Any) -> Any:
            if refused:
                raise refused.pop()
            return await get(key)

        monkeypatch.setattr(consumers.state_frames, "get", locked_once)
        await database_sync_to_async(api.refresh_all)()
        frame = await ws.receive_from(timeout=5)
        assert "sent meanwhile" in frame and not refused


# Revoked logins ---------------------------------------------------------------------------------------------


def _delete_session(user: Any, session: Any) -> None:
    Session.objects.filter(session_key=session.session_key).delete()


def _expire_session(user: Any, session: Any) -> None:
    Session.objects.filter(session_key=session.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))


def _deactivate_by_update(user: Any, session: Any) -> None:
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)


def _change_password_by_update(user: Any, session: Any) -> None:
    get_user_model().objects.filter(pk=user.pk).update(password=make_password("new"))


@pytest.mark.parametrize(
    "revoke",
    [_delete_session, _expire_session, _deactivate_by_update, _change_password_by_update],
    ids=lambda f: f.__name__.strip("_"),
)
async def test_a_revoked_login_stops_delivery_without_any_signal(
    alice: Any, layer: Any, settings: Any, revoke: Any
) -> None:
    """Paths that send no signal: the periodic re-check (SESSION_CHECK_INTERVAL) closes the socket."""
    settings.NOTIFICATIONS = {"SESSION_CHECK_INTERVAL": 0.2}
    session = await database_sync_to_async(login_session)(alice)
    async with connected(alice, session=session) as ws:
        await database_sync_to_async(revoke)(alice, session)
        assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
        await anotify(alice, "never delivered")
        assert await ws.receive_nothing(timeout=0.3)
        assert group_members(protocol.user_group(alice.pk)) == set()


async def test_saving_a_new_password_closes_the_users_sockets_at_once(alice: Any, layer: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"SESSION_CHECK_INTERVAL": 3600}
    session = await database_sync_to_async(login_session)(alice)
    async with connected(alice, session=session) as ws:
        alice.set_password("changed")
        await alice.asave()
        assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


async def test_an_action_after_revocation_is_refused_at_once(alice: Any, layer: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"SESSION_CHECK_INTERVAL": 3600}  # no periodic check: the action itself checks
    n = await anotify(alice, "stays unread")
    session = await database_sync_to_async(login_session)(alice)
    async with connected(alice, session=session) as ws:
        await database_sync_to_async(_delete_session)(alice, session)
        await ws.send_json_to({"action": "read_all"})
        assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}
    await n.arefresh_from_db()
    assert not n.is_read


async def test_the_users_other_sessions_keep_working(alice: Any, layer: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"SESSION_CHECK_INTERVAL": 0.2}
    laptop = await database_sync_to_async(login_session)(alice)
    phone = await database_sync_to_async(login_session)(alice)
    async with connected(alice, session=laptop) as on_laptop, connected(alice, session=phone) as on_phone:
        await database_sync_to_async(_delete_session)(alice, laptop)
        assert (await on_laptop.receive_output(timeout=5))["code"] == CLOSE_UNAUTHENTICATED
        n = await anotify(alice, "still on the phone")
        assert f"notification-{n.pk}" in ids(await on_phone.receive_from())
        await asyncio.sleep(0.5)  # a few more re-checks: the phone's login still holds
        await on_phone.send_json_to({"action": "read", "id": n.pk})
        assert (n.pk, "true") in items(await on_phone.receive_from())


# Hostile frames ---------------------------------------------------------------------------------------------


async def test_a_users_sockets_share_one_action_budget(alice: Any, layer: Any, settings: Any) -> None:
    """Opening more sockets does not multiply what one user may make the server do."""
    settings.NOTIFICATIONS = {"ACTION_RATE_LIMIT": 5, "ACTION_RATE_WINDOW": 60}
    async with connected(alice) as a, connected(alice) as b:
        for _ in range(5):
            await a.send_json_to({"action": "nothing"})
        assert await a.receive_nothing(timeout=0.2)  # within the budget: ignored, still open
        await b.send_json_to({"action": "nothing"})
        assert (await b.receive_output())["code"] == CLOSE_RATE_LIMITED


async def test_a_consumer_that_fails_leaves_no_subscription_in_redis(
    alice: Any, pubsub_layer: str, redis_url: str, monkeypatch: Any
) -> None:
    """Whatever ends a consumer (here a bug in an action), its groups are left: Redis holds no subscriber."""

    def broken(user: Any, data: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(consumers.ACTIONS, "read", broken)
    client = redis.asyncio.Redis.from_url(redis_url)
    channel = f"{pubsub_layer}__group__{protocol.user_group(alice.pk)}"
    ws = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    ws.scope["user"] = alice
    assert (await ws.connect())[0]
    await ws.receive_from()
    assert await client.pubsub_numsub(channel) == [(channel.encode(), 1)]
    await ws.send_json_to({"action": "read", "id": 1})
    with pytest.raises(RuntimeError):
        await ws.receive_output(timeout=5)
    assert await client.pubsub_numsub(channel) == [(channel.encode(), 0)]
    await client.aclose()


async def test_a_socket_that_cannot_join_its_groups_is_told_updates_are_paused(
    alice: Any, layer: Any, monkeypatch: Any
) -> None:
    async def refuse(group: str, channel: str) -> None:
        raise ConnectionError("the layer is down")

    monkeypatch.setattr(layer, "group_add", refuse)
    await anotify(alice, "already stored")
    async with connected(alice) as ws:
        assert "already stored" in ws.state  # the truth, from the database
        assert attr(ws.state, "notification-status", "data-live") == "false"
        assert "Live updates paused" in ws.state


async def test_every_socket_gets_a_heartbeat_frame_each_interval(alice: Any, layer: Any, settings: Any) -> None:
    """Before: nothing told an open page its server was still there, so a dead one looked live."""
    settings.NOTIFICATIONS = {"HEARTBEAT_INTERVAL": 0.05}
    async with connected(alice) as ws:
        assert elements(ws.state, data_stale_after="0.1s")  # the state frame resets the clock too (2.5 x 0.05 s)
        for _ in range(2):
            beat = await ws.receive_from(timeout=2)
            assert swaps(beat) == ["innerHTML:#notification-heartbeat-slot"]
            assert elements(beat, hx_trigger="every 0.1s") and len(beat) < 400


async def test_heartbeats_off_send_nothing(alice: Any, layer: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"HEARTBEAT_INTERVAL": 0}
    async with connected(alice) as ws:
        assert elements(ws.state, data_stale_after=ANY) == []  # no clock to say "Reconnecting…"
        assert await ws.receive_nothing(timeout=0.3)


async def test_a_tab_that_sent_its_title_gets_the_count_in_it(alice: Any, layer: Any) -> None:
    await anotify(alice, "one")
    async with connected(alice, query_string=b"title=My%20site") as ws:
        assert swap(ws.state, "innerHTML:title").text == "(1) My site"
        await anotify(alice, "two")
        assert swap(await ws.receive_from(), "innerHTML:title").text == "(2) My site"


async def test_a_frame_that_meets_a_closing_tab_is_dropped_not_an_error(alice: Any) -> None:
    """Before: daphne's "Attempt to send on a closed protocol" (autobahn's Disconnected) escaped the handler and
    was logged as "Exception inside application" with a traceback, for an ordinary race."""
    from autobahn.exception import Disconnected

    async def closed(message: dict[str, Any]) -> None:
        raise Disconnected("Attempt to send on a closed protocol")

    consumer = NotificationConsumer()
    consumer.user, consumer.base_send = alice, closed
    await consumer.send(text_data="<div>a frame</div>")  # no exception
