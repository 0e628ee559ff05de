"""What each change pushes, and to whom: one frame per recipient, into that recipient's group only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from notifications import archive, notify
from notifications.live import protocol, pushes
from notifications.models import Notification
from testing.html import ids

pytestmark = pytest.mark.django_db(transaction=True)


async def member(layer: Any, group: str) -> str:
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return str(channel)


async def test_new_items_go_to_each_recipients_group_with_their_own_id_and_count(
    layer: Any, alice: Any, bob: Any
) -> None:
    alices, bobs = await member(layer, protocol.user_group(alice.pk)), await member(layer, protocol.user_group(bob.pk))
    await database_sync_to_async(notify)(alice, "earlier")
    await layer.receive(alices)
    rows = await database_sync_to_async(notify)([alice, bob], "hello")
    for_alice, for_bob = await layer.receive(alices), await layer.receive(bobs)
    assert (for_alice["type"], for_alice["pk"], for_alice["count"]) == (protocol.PUSH, rows[0].pk, 2)
    assert (for_bob["pk"], for_bob["count"]) == (rows[1].pk, 1)
    assert f"notification-{rows[0].pk}" in ids(for_alice["html"])
    assert f"notification-{rows[1].pk}" not in ids(for_alice["html"])


async def test_states_send_each_user_their_own_bar(layer: Any, alice: Any, bob: Any) -> None:
    await database_sync_to_async(Notification.objects.create)(recipient=alice, message="for alice")
    await database_sync_to_async(Notification.objects.create)(recipient=bob, message="for bob")
    alices, bobs = await member(layer, protocol.user_group(alice.pk)), await member(layer, protocol.user_group(bob.pk))
    await database_sync_to_async(pushes.states)([alice.pk, bob.pk])
    for_alice, for_bob = await layer.receive(alices), await layer.receive(bobs)
    assert for_alice["type"] == protocol.STATE and for_alice["count"] == 1
    assert "for alice" in for_alice["html"] and "for bob" not in for_alice["html"]
    assert "for bob" in for_bob["html"] and "for alice" not in for_bob["html"]


async def test_a_change_sends_only_that_item_and_the_badge(layer: Any, alice: Any) -> None:
    kept = await database_sync_to_async(notify)(alice, "kept")
    gone = await database_sync_to_async(notify)(alice, "dismissed")
    alices = await member(layer, protocol.user_group(alice.pk))
    await database_sync_to_async(archive)(alice, gone.pk)
    message = await layer.receive(alices)
    assert (message["type"], message["pk"], message["pks"], message["count"]) == (
        protocol.CHANGE,
        gone.pk,
        [kept.pk],
        1,
    )
    assert "kept" not in message["item"]


async def test_a_change_to_a_deleted_row_sends_nothing(layer: Any, alice: Any) -> None:
    alices = await member(layer, protocol.user_group(alice.pk))
    await database_sync_to_async(pushes.change)(alice.pk, 10**9)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(alices), 0.3)


async def test_a_notify_to_many_users_is_one_message_to_every_process(
    layer: Any, alice: Any, bob: Any, monkeypatch: Any
) -> None:
    """Before: one message per recipient's group (1,000 publishes for a notify_all to 1,000 users)."""
    monkeypatch.setattr(pushes, "FAN_OUT_FROM", 2)
    process = await member(layer, protocol.broadcast_group())
    alices = await member(layer, protocol.user_group(alice.pk))
    await database_sync_to_async(notify)(alice, "earlier")
    await layer.receive(alices)  # one recipient: its own group, as before
    rows = await database_sync_to_async(notify)([alice, bob], "hello")
    message = await layer.receive(process)
    assert message["type"] == protocol.PUSHES
    assert message["items"] == {str(alice.pk): [rows[0].pk, 2], str(bob.pk): [rows[1].pk, 1]}
    assert set(message["counts"]) == {"1", "2"} and "hello" in message["html"]
    assert f"notification-{rows[0].pk}" not in ids(message["html"])  # a stand-in id, filled in per recipient
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.2):
            await layer.receive(alices)


async def test_items_that_differ_go_to_each_recipients_group(
    layer: Any, alice: Any, bob: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(pushes, "FAN_OUT_FROM", 2)
    rows = await database_sync_to_async(lambda: [notify(alice, "for alice"), notify(bob, "for bob")])()
    alices, bobs = await member(layer, protocol.user_group(alice.pk)), await member(layer, protocol.user_group(bob.pk))
    await database_sync_to_async(pushes.new_items)(rows)
    assert "for alice" in (await layer.receive(alices))["html"]
    assert "for bob" in (await layer.receive(bobs))["html"]
