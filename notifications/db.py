"""Database calls from the consumer and its watchdog, on thread pools of their own.

Channels' ``database_sync_to_async`` runs every call of a process on one thread, so one query stuck on a lock
would hold up every other socket's handshake. Reads (a bar's state, login checks) and writes (a user's
actions) get small pools of their own: a stuck write delays no connect and no other user's read.

The pools' threads live as long as the process, so each keeps its database connection between calls
(``CONN_MAX_AGE`` aside: Django's advice to disable persistent connections under ASGI is about threads made
per request, and these are six per process). A connection is closed after a call that broke it, or left a
transaction open. Opening one per call was about a fifth of a connect's CPU on SQLite (py-spy, ``bench.connect``).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar, cast

from asgiref.sync import SyncToAsync
from django.db import connections

P = ParamSpec("P")
R = TypeVar("R")

READ_THREADS, WRITE_THREADS = 4, 2
READS = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="notifications-read")
WRITES = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="notifications-write")


class _PoolCall(SyncToAsync[..., Any]):
    """A call on a pool thread that keeps its connection (``database_sync_to_async`` closes it each time)."""

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().thread_handler(loop, *args, **kwargs)  # type: ignore[no-untyped-call]
        finally:
            _close_unusable_connections()


def _close_unusable_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        left_open = connection.in_atomic_block or not connection.get_autocommit()
        if left_open or (connection.errors_occurred and not connection.is_usable()):
            connection.close()
        else:
            connection.errors_occurred = False


def reading(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``func`` as a coroutine function that runs on the read pool."""
    return cast("Callable[P, Awaitable[R]]", _PoolCall(func, thread_sensitive=False, executor=READS))


def writing(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``func`` as a coroutine function that runs on the write pool."""
    return cast("Callable[P, Awaitable[R]]", _PoolCall(func, thread_sensitive=False, executor=WRITES))


def close_connections() -> None:
    """Close every pool thread's database connections (e.g. before a test run drops its database)."""
    for pool, size in ((READS, READ_THREADS), (WRITES, WRITE_THREADS)):
        barrier = threading.Barrier(size)  # holds each task until all run, so each runs on its own thread

        def close(barrier: threading.Barrier = barrier) -> None:
            barrier.wait(timeout=10)
            connections.close_all()

        for future in [pool.submit(close) for _ in range(size)]:
            future.result()
