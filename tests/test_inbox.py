"""The inbox's states: seen and read, mark unread, archive and restore, snooze (store/api.py, store/state.py)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from notifications import (
    amark_seen,
    archive,
    asnooze,
    mark_read,
    mark_seen,
    mark_unread,
    notify,
    restore,
    snooze,
)
from notifications.models import Notification, Preferences
from notifications.store import preferences, readers
from notifications.store.state import badge_counts, load_state, unread_counts
from testing.communicators import connected
from testing.html import badge, pks

pytestmark = pytest.mark.django_db(transaction=True)


def test_seen_clears_the_badge_but_not_read(alice: Any, bob: Any, sent: list[Any]) -> None:
    first, second = notify(alice, "one"), notify(alice, "two")
    bobs = notify(bob, "bob's")
    assert badge_counts([alice.pk]) == {alice.pk: 2}
    sent.clear()
    assert mark_seen(alice, [first.pk, second.pk, bobs.pk]) == 2  # bob's item is not alice's to see
    assert badge_counts([alice.pk, bob.pk]) == {alice.pk: 0, bob.pk: 1}
    assert unread_counts([alice.pk]) == {alice.pk: 2}  # read stays per item
    [(_, message)] = sent  # every tab of alice's gets the badge (0), and nothing else: the list stays as it is
    assert message["type"] == "notification.count" and message["count"] == 0
    assert badge(message["html"]) == 0 and pks(message["html"]) == []
    sent.clear()
    assert mark_seen(alice, [first.pk]) == 0 and sent == []  # nothing new: no push


def test_the_badge_may_count_unread_instead(alice: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"BADGE_COUNTS": "unread"}
    n = notify(alice, "one")
    mark_seen(alice, [n.pk])
    assert load_state(alice).badge == 1
    mark_read(alice, n.pk)
    assert load_state(alice).badge == 0


def test_mark_unread_counts_it_again(alice: Any, bob: Any) -> None:
    n = notify(alice, "one")
    assert not mark_unread(alice, n.pk)  # unread already
    mark_seen(alice, [n.pk])
    mark_read(alice, n.pk)
    assert not mark_unread(bob, n.pk)  # not bob's
    assert mark_unread(alice, n.pk)
    n.refresh_from_db()
    assert (n.read_at, n.seen_at) == (None, None)
    assert load_state(alice).badge == 1


def test_archive_and_restore(alice: Any, bob: Any) -> None:
    n = notify(alice, "one")
    assert not restore(alice, n.pk)  # not archived
    assert archive(alice, n.pk)
    assert load_state(alice).pks == []
    assert not restore(bob, n.pk)
    assert restore(alice, n.pk)
    assert load_state(alice).pks == [n.pk]
    assert Notification.objects.get().is_read  # archived means read; restoring keeps that


def test_a_snoozed_item_leaves_the_bar_and_comes_back_as_new_on_top(alice: Any, bob: Any) -> None:
    old, newer = notify(alice, "snooze me"), notify(alice, "newer")
    mark_read(alice, old.pk)
    until = timezone.now() + datetime.timedelta(hours=1)
    assert not snooze(bob, old.pk, until)
    assert snooze(alice, old.pk, until)
    state = load_state(alice)
    assert state.pks == [newer.pk] and state.wake_at == until
    later = until + datetime.timedelta(seconds=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: later)
        state = load_state(alice)
    assert state.pks == [old.pk, newer.pk]  # on top, as new
    assert (state.unread_count, state.badge, state.wake_at) == (2, 2, None)


def test_snooze_refuses_the_past_and_unknown_choices(alice: Any) -> None:
    n = notify(alice, "one")
    with pytest.raises(ValueError, match="still to come"):
        snooze(alice, n.pk, timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(ValueError, match="unknown snooze choice"):
        snooze(alice, n.pk, "someday")


def test_snooze_choices_end_in_the_readers_time_zone(alice: Any) -> None:
    Preferences.objects.create(user=alice, time_zone="Asia/Tokyo")
    now = datetime.datetime(2026, 12, 9, 20, 0, tzinfo=datetime.UTC)  # Thursday 05:00 on the 10th in Tokyo
    tokyo = readers.zone("Asia/Tokyo")
    assert preferences.snooze_until("hour", "Asia/Tokyo", now) == now + datetime.timedelta(hours=1)
    assert preferences.snooze_until("tomorrow", "Asia/Tokyo", now) == datetime.datetime(2026, 12, 11, 9, tzinfo=tokyo)
    assert preferences.snooze_until("week", "Asia/Tokyo", now) == datetime.datetime(2026, 12, 14, 9, tzinfo=tokyo)
    n = notify(alice, "one")
    assert snooze(alice, n.pk, "tomorrow")
    n.refresh_from_db()
    assert n.snoozed_until.astimezone(tokyo).time() == datetime.time(9)


async def test_opening_the_panel_marks_what_it_shows_seen_in_every_tab(alice: Any) -> None:
    for text in ("one", "two"):
        await database_sync_to_async(notify)(alice, text)
    async with connected(alice) as first, connected(alice) as second:
        assert badge(first.state) == 2  # type: ignore[attr-defined]
        await first.send_json_to({"action": "seen"})  # the bell's ws-send: the socket names what it shows
        for ws in (first, second):
            assert badge(await ws.receive_from(timeout=5)) == 0
    assert await database_sync_to_async(lambda: Notification.objects.unseen().count())() == 0
    assert await amark_seen(alice, []) == 0


async def test_a_snooze_ends_live_in_every_open_tab_without_a_page_load(alice: Any) -> None:
    n = await database_sync_to_async(notify)(alice, "back soon")
    async with connected(alice) as first, connected(alice) as second:
        assert await asnooze(alice, n.pk, timezone.now() + datetime.timedelta(seconds=0.5))
        for ws in (first, second):
            assert pks(await ws.receive_from(timeout=5)) == []  # gone from the bar
        for ws in (first, second):  # and back, with nobody acting
            frame = await ws.receive_from(timeout=5)
            assert pks(frame) == [n.pk] and badge(frame) == 1


async def test_a_browser_may_snooze_only_to_an_offered_choice(alice: Any) -> None:
    n = await database_sync_to_async(notify)(alice, "one")
    async with connected(alice) as ws:
        await ws.send_json_to({"action": "snooze", "id": n.pk, "until": "2000-01-01T00:00:00Z"})
        await ws.send_json_to({"action": "snooze", "id": n.pk, "until": "tomorrow"})
        assert pks(await ws.receive_from(timeout=5)) == []
    row = await database_sync_to_async(Notification.objects.get)()
    assert row.snoozed_until is not None and row.snoozed_until > timezone.now() + datetime.timedelta(hours=1)
