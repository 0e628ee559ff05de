"""Database calls from the consumer and its watchdog, on thread pools of their own.

Channels' ``database_sync_to_async`` runs every call of a process on one thread, so one query stuck on a lock
would hold up every other socket's handshake. Reads (a bar's state, login checks) and writes (a user's
actions) get small pools of their own: a stuck write delays no connect and no other user's read. Each call
closes stale connections before and after, as ``database_sync_to_async`` does.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar, cast

from channels.db import DatabaseSyncToAsync
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")

READ_THREADS, WRITE_THREADS = 4, 2
READS = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="notifications-read")
WRITES = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="notifications-write")


def reading(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``func`` as a coroutine function that runs on the read pool."""
    return cast("Callable[P, Awaitable[R]]", DatabaseSyncToAsync(func, thread_sensitive=False, executor=READS))


def writing(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``func`` as a coroutine function that runs on the write pool."""
    return cast("Callable[P, Awaitable[R]]", DatabaseSyncToAsync(func, thread_sensitive=False, executor=WRITES))


def close_connections() -> None:
    """Close every pool thread's database connections (e.g. before a test run drops its database)."""
    for pool, size in ((READS, READ_THREADS), (WRITES, WRITE_THREADS)):
        barrier = threading.Barrier(size)  # holds each task until all run, so each runs on its own thread

        def close(barrier: threading.Barrier = barrier) -> None:
            barrier.wait(timeout=10)
            connections.close_all()

        for future in [pool.submit(close) for _ in range(size)]:
            future.result()
