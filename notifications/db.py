"""Database calls from the consumer and its watchdog, on thread pools of their own.

Channels' ``database_sync_to_async`` runs every call of a process on one thread, so one query stuck on a lock
would hold up every other socket's handshake. Reads (a bar's state, login checks) and writes (a user's
actions) get small pools of their own: a stuck write delays no connect and no other user's read. Each call
closes stale connections before and after, as ``database_sync_to_async`` does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar, cast

from channels.db import DatabaseSyncToAsync

P = ParamSpec("P")
R = TypeVar("R")

READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="notifications-read")
WRITES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notifications-write")


def reading(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``func`` as a coroutine function that runs on the read pool."""
    return cast("Callable[P, Awaitable[R]]", DatabaseSyncToAsync(func, thread_sensitive=False, executor=READS))


def writing(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``func`` as a coroutine function that runs on the write pool."""
    return cast("Callable[P, Awaitable[R]]", DatabaseSyncToAsync(func, thread_sensitive=False, executor=WRITES))
