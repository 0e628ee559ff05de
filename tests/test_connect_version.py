"""Cheap connects: a socket whose page already shows the database's state gets no state frame again."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import sync_to_async

from notifications import aarchive, amark_read, anotify, aresolve
from notifications.live import consumers, protocol
from notifications.models import Notification
from notifications.store import api, preferences
from notifications.store.state import load_state
from testing.communicators import connected
from testing.html import attr, badge, by_id, ids, text_of, with_class
from testing.templates import render_bar_tag

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


async def version(user: Any) -> str:
    return (await sync_to_async(load_state)(user)).version


def query(v: str) -> dict[str, bytes]:
    return {"query_string": f"v={v}".encode()}


def is_state_frame(frame: str) -> bool:
    return {"notification-count", "notification-list"} <= set(ids(frame))


async def test_the_page_version_is_the_database_version(alice: Any) -> None:
    await anotify(alice, "one")
    html = await sync_to_async(render_bar_tag)(alice)
    [v] = parse_qs(urlsplit(str(by_id(html, "notification-bar").attrs["ws-connect"])).query)["v"]
    assert v == await version(alice)


async def test_same_version_sends_no_state_but_the_socket_is_live(alice: Any, layer: Any) -> None:
    shown = await anotify(alice, "already on the page")
    async with connected(alice, **query(await version(alice))) as ws:
        assert not is_state_frame(ws.state) and badge(ws.state) is None
        assert "hidden" in by_id(ws.state, "notification-status").attrs  # only the live indicator (hides "paused")
        assert with_class(ws.state, "nb-synced")  # the bar can tell it is connected (the page render lacks it)
        assert "already on the page" not in ws.state
        n = await anotify(alice, "pushed after connect")
        frame = await ws.receive_from()
        assert f"notification-{n.pk}" in ids(frame) and badge(frame) == 2
        assert f"notification-{shown.pk}" not in ids(frame)


async def test_a_skipped_state_still_marks_the_items_as_shown(alice: Any, layer: Any) -> None:
    n = await anotify(alice, "on the page")
    async with connected(alice, **query(await version(alice))) as ws:
        assert not is_state_frame(ws.state)
        # A late new-item frame for an item the page shows is dropped; one for another item is forwarded.
        await ws.send_input(protocol.push(alice.pk, n.pk, "duplicate"))
        await ws.send_input(protocol.push(alice.pk, n.pk + 1000, "new one"))
        assert await ws.receive_from() == "new one"


@pytest.mark.parametrize("change", ["notify", "read", "archive", "read_all", "resolve_read"])
async def test_a_change_between_render_and_connect_sends_the_state(alice: Any, layer: Any, change: str) -> None:
    first = await anotify(alice, "first")
    v = await version(alice)
    if change == "notify":
        await anotify(alice, "arrived after the page rendered")
    elif change == "read":
        await amark_read(alice, first.pk)
    elif change == "archive":
        await aarchive(alice, first.pk)
    elif change == "resolve_read":  # an answer to an item already read changes only its resolution
        await amark_read(alice, first.pk)
        v = await version(alice)
        await aresolve(first, "Approved")
    else:
        await sync_to_async(api.mark_all_read)(alice)
    assert await version(alice) != v
    async with connected(alice, **query(v)) as ws:
        assert is_state_frame(ws.state)
        if change == "notify":
            assert "arrived after the page rendered" in ws.state
        if change == "archive":
            assert f"notification-{first.pk}" not in ids(ws.state)
        if change == "resolve_read":
            assert "Approved" in ws.state


async def test_a_grouped_item_counting_up_changes_the_version(alice: Any, layer: Any) -> None:
    await anotify(alice, "a comment", group_key="post-1")
    v = await version(alice)
    await anotify(alice, "another comment", group_key="post-1")
    assert await version(alice) != v
    async with connected(alice, **query(v)) as ws:
        assert is_state_frame(ws.state)


@pytest.mark.parametrize(
    "query_string", [b"", b"v=", b"v=garbage!", b"v=" + b"a" * 200, b"v=%ff%fe", b"x=1", b"v=%00", b"\xff\xfe"]
)
async def test_missing_or_garbage_version_sends_the_state(alice: Any, layer: Any, query_string: bytes) -> None:
    n = await anotify(alice, "mine")
    async with connected(alice, query_string=query_string) as ws:
        assert is_state_frame(ws.state) and f"notification-{n.pk}" in ids(ws.state)


async def test_another_users_version_never_matches_nor_leaks(alice: Any, bob: Any, layer: Any) -> None:
    # Both bars empty: the same counts and items, still different versions (the user is in the digest).
    assert await version(alice) != await version(bob)
    async with connected(alice, **query(await version(bob))) as ws:
        assert is_state_frame(ws.state)
    await anotify(bob, "bob's secret")
    mine = await anotify(alice, "alice's own")
    async with connected(alice, **query(await version(bob))) as ws:
        assert is_state_frame(ws.state)
        assert "bob's secret" not in ws.state and f"notification-{mine.pk}" in ids(ws.state)


async def test_paused_live_updates_send_the_state_even_with_the_same_version(alice: Any) -> None:
    # live=False (the layer is down): the page's bar claims to be live, so the state (with the notice) is sent.
    await anotify(alice, "one")
    pks, frame, *_ = await consumers.state_frames.get((alice.pk, False, await version(alice)))
    assert is_state_frame(frame) and attr(frame, "notification-status", "data-live") == "false"
    pks, frame, *_ = await consumers.state_frames.get((alice.pk, True, await version(alice)))
    assert not is_state_frame(frame) and len(pks) == 1


async def test_sockets_connecting_together_read_their_states_in_one_call(monkeypatch: Any) -> None:
    """Before: each socket read its own state (a thread hop and two queries per socket); a burst of
    handshakes now reads every state in one call, and each socket still gets its own user's bar."""
    from contextlib import AsyncExitStack

    from django.contrib.auth import get_user_model

    users = [await sync_to_async(get_user_model().objects.create_user)(f"user{i}") for i in range(8)]
    for user in users:
        await anotify(user, f"for {user.username}")
    calls: list[set[Any]] = []
    load_states = consumers.load_states

    def counting(user_ids: Any) -> Any:
        calls.append(set(user_ids))
        if len(calls) == 1:  # the first socket may ask alone (its join came back first, e.g. from Redis)
            time.sleep(0.5)  # while this call runs, the others ask, and go together in the next one
        return load_states(user_ids)

    monkeypatch.setattr(consumers, "load_states", counting)
    async with AsyncExitStack() as stack:
        sockets = await asyncio.gather(*(stack.enter_async_context(connected(user)) for user in users))
        for user, ws in zip(users, sockets, strict=True):
            shown = set(re.findall(r"\bfor (user\d+)\b", text_of(ws.state)))
            assert is_state_frame(ws.state) and shown == {user.username}
    assert len(calls) <= 2 and sorted(pk for call in calls for pk in call) == sorted(user.pk for user in users)


# Refreshes (a subscription made late, refresh_all(), the layer back after an outage) ---------------------------


async def refresh_all() -> None:
    await sync_to_async(api.refresh_all)()


def is_live_frame(frame: str) -> bool:
    return not is_state_frame(frame) and attr(frame, "notification-status", "data-live") == "true"


async def test_a_refresh_that_finds_the_same_state_sends_only_the_live_frame(alice: Any, layer: Any) -> None:
    """Before: every refresh rendered and sent the whole bar; a burst of handshakes whose subscriptions were
    made after JOIN_WAIT (7% of 5,000 in bench.connect) re-rendered the bar each had just been sent."""
    await anotify(alice, "on the page")
    async with connected(alice) as ws:
        assert is_state_frame(ws.state)
        await refresh_all()
        frame = await ws.receive_from(timeout=5)
        assert is_live_frame(frame) and with_class(frame, "nb-synced") and "on the page" not in frame


async def test_a_refresh_after_a_change_outside_the_api_sends_the_state(alice: Any, layer: Any) -> None:
    n = await anotify(alice, "old title")
    async with connected(alice, **query(await version(alice))) as ws:
        await sync_to_async(Notification.objects.filter(pk=n.pk).update)(title="new title")
        await refresh_all()
        frame = await ws.receive_from(timeout=5)
        assert is_state_frame(frame) and "new title" in frame


async def test_a_refresh_after_another_frame_sends_the_state(alice: Any, layer: Any) -> None:
    """A frame since the last state changed what the tab shows: its version says nothing any more, even
    when the database's state is the same as then."""
    await anotify(alice, "stored")
    async with connected(alice) as ws:
        await ws.send_input(protocol.push(alice.pk, 10**6, "a frame the database does not explain"))
        assert await ws.receive_from() == "a frame the database does not explain"
        await refresh_all()
        assert is_state_frame(await ws.receive_from(timeout=5))


async def test_a_refresh_after_the_reader_changed_sends_the_state(alice: Any, layer: Any) -> None:
    await anotify(alice, "stored")
    async with connected(alice) as ws:
        await sync_to_async(preferences.save_reader)(alice, "de", "")
        await refresh_all()
        frame = await ws.receive_from(timeout=5)
        assert is_state_frame(frame)
        await refresh_all()  # and then it shows that reader's state
        assert is_live_frame(await ws.receive_from(timeout=5))
