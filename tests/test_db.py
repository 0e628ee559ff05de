"""The consumer's database pools: threads of their own that keep their connections."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, connections

from notifications.live import db

pytestmark = pytest.mark.django_db(transaction=True)


def _count_users() -> tuple[int, int]:
    return threading.get_ident(), get_user_model().objects.count()


async def test_a_pool_thread_keeps_its_connection_between_calls(alice: Any, monkeypatch: Any) -> None:
    """Before: every call closed its connection and the next opened one (about a fifth of a connect's CPU
    on SQLite). Counted as close() calls: an in-memory SQLite database ignores them, a real one does not."""
    closed: list[object] = []
    wrapper = type(connections["default"])
    close = wrapper.close

    def counting_close(self: Any) -> None:
        closed.append(self)
        close(self)

    monkeypatch.setattr(wrapper, "close", counting_close)
    for _ in range(20):
        assert (await db.reading(_count_users)())[1] == 1
    assert closed == []


async def test_reads_that_come_at_once_share_one_connection(alice: Any) -> None:
    """Before: four read threads, so reads that overlapped (a connect burst's session and state batches, the
    watchdog's login checks) opened up to four connections, each with its own cache (SQLite: up to 2 MiB)."""

    def slow_count() -> tuple[int, int]:
        threading.Event().wait(0.05)  # still running when the next read is asked for
        return _count_users()

    answers = await asyncio.gather(*(db.reading(slow_count)() for _ in range(6)))
    assert {thread for thread, _ in answers} == {answers[0][0]}
    assert [count for _, count in answers] == [1] * 6


def _fail_then_ask() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


async def test_a_call_that_fails_leaves_the_thread_a_working_connection(alice: Any) -> None:
    for _ in range(db.WRITE_THREADS + 1):
        with pytest.raises(DatabaseError):
            await db.writing(_fail_then_ask)()
    assert (await db.writing(_count_users)())[1] == 1


async def test_keys_asked_together_go_in_one_call_and_keys_asked_meanwhile_in_the_next() -> None:
    calls: list[list[int]] = []
    started, release = threading.Event(), threading.Event()

    def squares(keys: list[int]) -> dict[int, int]:
        calls.append(sorted(keys))
        if len(calls) == 1:
            started.set()
            release.wait(timeout=10)  # the first call is still running while more keys arrive
        return {key: key * key for key in keys}

    batched = db.Batched(squares)
    first = [asyncio.ensure_future(batched.get(key)) for key in (1, 2, 2)]
    await asyncio.to_thread(started.wait, 10)
    later = [asyncio.ensure_future(batched.get(key)) for key in (3, 4)]
    await asyncio.sleep(0.01)
    release.set()
    assert await asyncio.gather(*first, *later) == [1, 4, 4, 9, 16]
    assert calls == [[1, 2], [3, 4]]


async def test_a_failed_call_reaches_every_key_in_it_and_the_next_call_works() -> None:
    def lookup(keys: list[str]) -> dict[str, str]:
        if "bad" in keys:
            raise DatabaseError("gone")
        return {key: key.upper() for key in keys}

    batched = db.Batched(lookup)
    results = await asyncio.gather(batched.get("bad"), batched.get("ok"), return_exceptions=True)
    assert [type(r) for r in results] == [DatabaseError, DatabaseError]
    assert await batched.get("ok") == "OK"


async def test_a_call_takes_at_most_limit_keys() -> None:
    calls: list[int] = []

    def lookup(keys: list[int]) -> dict[int, int]:
        calls.append(len(keys))
        return {key: key for key in keys}

    batched = db.Batched(lookup, limit=3)
    assert await asyncio.gather(*(batched.get(key) for key in range(7))) == list(range(7))
    assert calls == [3, 3, 1]


async def test_a_waiter_that_gives_up_does_not_stop_the_others() -> None:
    release = threading.Event()

    def lookup(keys: list[int]) -> dict[int, int]:
        release.wait(timeout=10)
        return {key: -key for key in keys}

    batched = db.Batched(lookup)
    gives_up = asyncio.ensure_future(batched.get(1))
    stays = asyncio.ensure_future(batched.get(2))
    await asyncio.sleep(0.01)
    gives_up.cancel()
    release.set()
    assert await stays == -2
    assert gives_up.cancelled()
