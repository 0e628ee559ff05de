"""Database calls from the consumer and its watchdog, on thread pools of their own.

Channels' ``database_sync_to_async`` runs every call of a process on one thread, so one query stuck on a lock
would hold up every other socket's handshake. Reads (a bar's state, login checks) and writes (a user's
actions) get pools of their own: a stuck write delays no connect and no other user's read.

The pools' threads live as long as the process, so each keeps its database connection between calls
(``CONN_MAX_AGE`` aside: Django's advice to disable persistent connections under ASGI is about threads made
per request, and these are three per process). A connection is closed after a call that broke it, or left a
transaction open, and before a call if it no longer answers (the database restarted meanwhile): Django's
health check, whatever ``CONN_HEALTH_CHECKS`` says, since the pools keep connections the settings did not ask
to keep. Opening one per call was about a fifth of a connect's CPU on SQLite (py-spy, ``bench.connect``).

:class:`Batched` turns a lookup of many keys into a lookup of one: the keys asked for while a call is on its
way go together in the next call, so a burst of handshakes (a page load storm, a restarted server's sockets
coming back) costs a few database calls, not a few per socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import weakref
from collections.abc import Awaitable, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connections

P = ParamSpec("P")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# One read thread: reads come in batches (see Batched) that would take turns anyway, and every connection
# keeps a cache of its own. SQLite's is up to 2 MiB of pages per connection, filled with the sessions, users
# and items of everyone who connects: with four read threads, 5,000 sockets cost 14 MB of SQLite memory and
# connected no faster (``bench/results/memory.md``). Writes wait on locks, so they get two.
READ_THREADS, WRITE_THREADS = 1, 2
READS = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="notifications-read")
WRITES = ThreadPoolExecutor(max_workers=WRITE_THREADS, thread_name_prefix="notifications-write")


def _keeping_connection(func: Callable[P, R]) -> Callable[P, R]:
    """``func``, leaving its thread's connection open for the next call unless the call broke it
    (``database_sync_to_async`` closes it each time)."""

    @functools.wraps(func)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        close_dead_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_unusable_connections()

    return call


def close_dead_connections() -> None:
    """Close this thread's kept connections that no longer answer, before a call uses them.

    A database restart ends every session: a connection kept from before would fail the next call once (a
    user's action lost, a push not sent) and only then be closed. Checked as Django's ``CONN_HEALTH_CHECKS``
    checks a request's connection (one ``SELECT 1``; nothing on SQLite); the call then opens a new one.
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
            with contextlib.suppress(DatabaseError):  # closing a dead session may fail; it is dropped either way
                connection.close()


def close_unusable_connections() -> None:
    """Close this thread's connections that a call broke or left in a transaction; keep the others."""
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
    return sync_to_async(_keeping_connection(func), thread_sensitive=False, executor=READS)


def writing(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``func`` as a coroutine function that runs on the write pool."""
    return sync_to_async(_keeping_connection(func), thread_sensitive=False, executor=WRITES)


def close_connections() -> None:
    """Close every pool thread's database connections (e.g. before a test run drops its database)."""
    for pool, size in ((READS, READ_THREADS), (WRITES, WRITE_THREADS)):
        barrier = threading.Barrier(size)  # holds each task until all run, so each runs on its own thread

        def close(barrier: threading.Barrier = barrier) -> None:
            barrier.wait(timeout=10)
            connections.close_all()

        for future in [pool.submit(close) for _ in range(size)]:
            future.result()


class Batched(Generic[K, V]):
    """``lookup(keys) -> {key: value}`` on the read pool, asked one key at a time by many coroutines.

    The first key starts a call on the next turn of the event loop, with every key asked for until then;
    keys asked for while a call runs wait for it and go in the next one (at most ``limit`` per call). One call
    per event loop runs at a time, so a lookup never takes more than one of the pool's threads. The lookup
    answers every key it is given; an exception reaches every key of its call.
    """

    def __init__(self, lookup: Callable[[list[K]], dict[K, V]], *, limit: int = 500) -> None:
        self.lookup = reading(lookup)
        self.limit = limit
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[K, V]] = weakref.WeakKeyDictionary()

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _Queue())
        future: asyncio.Future[V] = loop.create_future()
        queue.waiting.setdefault(key, []).append(future)
        if queue.task is None:
            queue.task = loop.create_task(self._drain(queue), name="notifications-batch")
        return await future

    async def _drain(self, queue: _Queue[K, V]) -> None:
        batch: dict[K, list[asyncio.Future[V]]] = {}
        try:
            while queue.waiting:
                batch = {key: queue.waiting.pop(key) for key in list(queue.waiting)[: self.limit]}
                try:
                    found = await self.lookup(list(batch))
                except Exception as error:
                    for future in _pending(batch):
                        future.set_exception(error)
                else:
                    for key, futures in batch.items():
                        for future in futures:
                            if not future.done():  # its socket went away meanwhile
                                future.set_result(found[key])
        finally:
            queue.task = None
            # Only when this task was cancelled (its loop is closing): nobody waits for an answer forever.
            for future in _pending({**batch, **queue.waiting}):
                future.cancel()
            queue.waiting.clear()


def _pending(batch: dict[K, list[asyncio.Future[V]]]) -> list[asyncio.Future[V]]:
    return [future for futures in batch.values() for future in futures if not future.done()]


class _Queue(Generic[K, V]):
    def __init__(self) -> None:
        self.waiting: dict[K, list[asyncio.Future[V]]] = {}
        self.task: asyncio.Task[None] | None = None
