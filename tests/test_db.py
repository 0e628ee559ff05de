"""The consumer's database pools: threads of their own that keep their connections."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, connections

from notifications import db

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


def _fail_then_ask() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


async def test_a_call_that_fails_leaves_the_thread_a_working_connection(alice: Any) -> None:
    for _ in range(db.WRITE_THREADS + 1):
        with pytest.raises(DatabaseError):
            await db.writing(_fail_then_ask)()
    assert (await db.writing(_count_users)())[1] == 1
