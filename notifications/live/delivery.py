"""Sending rendered frames to channel-layer groups: best effort on top of the stored rows, off the caller's path.

:func:`after_commit` is how the API schedules a push: once the transaction commits, the push (counting,
rendering, publishing) runs on this process's outbox thread, in order, and the caller has paid for storing
the rows only. Jobs left at exit are drained (for up to ``PUSH_TIMEOUT`` seconds). A push that is lost still
loses nothing: the rows are the truth, and every bar re-reads them on (re)connect. With the in-memory layer
(one process, development and tests) or ``RAISE_PUSH_ERRORS`` the push runs on the caller's thread, as that
layer lives on the consumers' event loop, and as a caller who asks to see failures must wait for them.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import DatabaseError, connections, transaction

from .. import conf
from . import db, protocol

logger = logging.getLogger("notifications")

#: A channel-layer message and the group it goes to.
Addressed = tuple[str, protocol.Message]

#: group_send calls in flight at once (a broadcast to 5,000 users does not wait for 5,000 round trips in turn).
CONCURRENCY = 64


async def asend(messages: Iterable[Addressed]) -> None:
    """``group_send`` each ``(group, message)``; a layer failure is logged (or raised, see RAISE_PUSH_ERRORS).

    Groups are sent to concurrently; the messages of one group keep their order. The whole send waits at most
    ``PUSH_TIMEOUT`` seconds, so a layer that accepts connections but never answers cannot hold up a caller.
    """
    layer = get_channel_layer()
    if layer is None:
        logger.warning("No channel layer configured: notifications are stored but not pushed.")
        return
    by_group: dict[str, list[protocol.Message]] = defaultdict(list)
    for group, message in messages:
        by_group[group].append(message)
    slots = asyncio.Semaphore(CONCURRENCY)

    async def send_group(group: str, batch: list[protocol.Message]) -> None:
        async with slots:
            for message in batch:
                await layer.group_send(group, message)

    async def send_all() -> list[BaseException | None]:
        return await asyncio.gather(*(send_group(g, b) for g, b in by_group.items()), return_exceptions=True)

    try:
        results = await asyncio.wait_for(send_all(), conf.get("PUSH_TIMEOUT"))
    except TimeoutError as error:
        results = [error]
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        # The rows are committed already: open sockets re-read them when the layer answers again (the watchdog),
        # others when they (re)connect.
        logger.error(
            "Pushing notifications failed for %d of %d group(s); open bars catch up when the layer is back.",
            len(errors),
            len(by_group),
            exc_info=errors[0],
        )
        if conf.get("RAISE_PUSH_ERRORS"):
            raise errors[0]


def send(messages: Iterable[Addressed]) -> None:
    """Synchronous :func:`asend`, for ``transaction.on_commit`` callbacks and sync code."""
    batch = list(messages)
    if not batch:
        return
    if isinstance(get_channel_layer(), InMemoryChannelLayer):
        # The in-memory layer is not thread-safe: it must run on the loop that serves the consumers, which
        # async_to_sync reaches from a sync view (and which does not exist in a lone sync process anyway).
        async_to_sync(asend)(batch)
    else:
        # A plain async_to_sync from sync code (a worker, a command, a cron job) starts a thread, an event loop
        # and so a new Redis connection on every call; one long-lived loop per process keeps its connection.
        _loop().run(asend(batch))


class _LoopThread:
    """An event loop running forever in a daemon thread; :meth:`run` waits for a coroutine on it."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="notifications-delivery", daemon=True).start()

    def run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()


_loop_thread: _LoopThread | None = None
_loop_lock = threading.Lock()


def _loop() -> _LoopThread:
    """This process's delivery loop (made anew after a fork: a loop thread does not survive one)."""
    global _loop_thread
    with _loop_lock:
        if _loop_thread is None or _loop_thread.pid != os.getpid():
            _loop_thread = _LoopThread()
        return _loop_thread


def after_commit(job: Callable[[], None]) -> None:
    """Run ``job`` (a push) once the current transaction commits, on the outbox thread; at once if there is no
    transaction. Never if it rolls back."""
    transaction.on_commit(lambda: _outbox().put(job))


#: Seconds a push that cannot read the database is tried again (first after RETRY_FIRST, then doubling to 4 s).
RETRY_FOR = 30.0
RETRY_FIRST = 0.25


class _Outbox:
    """Jobs run in order on one daemon thread, each with the thread's database connection kept between jobs."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        threading.Thread(target=self._work, name="notifications-outbox", daemon=True).start()

    def put(self, job: Callable[[], None]) -> None:
        # The in-memory layer lives on the caller's event loop (see send); RAISE_PUSH_ERRORS: the caller
        # wants to see the failure.
        if conf.get("RAISE_PUSH_ERRORS") or isinstance(get_channel_layer(), InMemoryChannelLayer):
            job()
        else:
            self.jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                self._run(job)
            except Exception:
                logger.exception("A push failed after its commit; open bars catch up on their next state.")
            try:
                db.close_unusable_connections()
            except Exception:  # the thread lives on: the next push opens a connection of its own
                logger.exception("Could not close the outbox thread's broken database connection.")
            self.jobs.task_done()

    @staticmethod
    def _run(job: Callable[[], None]) -> None:
        """Run ``job``; while it cannot read the database (a restart), again after a pause, for up to
        ``RETRY_FOR`` seconds, the jobs after it waiting in order. A push given up on reaches no open tab until
        its next state, which may be long: nothing else tells a tab that a row came."""
        deadline, pause = time.monotonic() + RETRY_FOR, RETRY_FIRST
        while True:
            db.close_dead_connections()  # kept since the last job: the database may have restarted meanwhile
            try:
                job()
                return
            except DatabaseError as error:
                if time.monotonic() + pause > deadline:
                    raise
                logger.warning("A push could not read the database (%r); trying again in %.2f s.", error, pause)
            with contextlib.suppress(DatabaseError):
                db.close_unusable_connections()
            time.sleep(pause)
            pause = min(pause * 2, 4.0)

    def drain(self, timeout: float) -> bool:
        """Wait until every job so far has run (at most ``timeout`` seconds); whether they all did."""
        deadline = time.monotonic() + timeout
        while self.jobs.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.jobs.unfinished_tasks


_outbox_instance: _Outbox | None = None


def _outbox() -> _Outbox:
    """This process's outbox (made anew after a fork: a thread does not survive one)."""
    global _outbox_instance
    with _loop_lock:
        if _outbox_instance is None or _outbox_instance.pid != os.getpid():
            _outbox_instance = _Outbox()
        return _outbox_instance


def flush(timeout: float | None = None) -> bool:
    """Wait for the pushes scheduled so far in this process (at most ``timeout`` seconds, default
    ``PUSH_TIMEOUT``); whether all have run. Called at exit; useful to a script that exits right after notify()."""
    outbox = _outbox_instance
    if outbox is None or outbox.pid != os.getpid():
        return True
    return outbox.drain(conf.get("PUSH_TIMEOUT") if timeout is None else timeout)


def close_connections() -> None:
    """Close the outbox thread's database connections (e.g. before a test run drops its database)."""
    outbox = _outbox_instance
    if outbox is not None and outbox.pid == os.getpid():
        outbox.jobs.put(connections.close_all)
        outbox.drain(conf.get("PUSH_TIMEOUT"))


atexit.register(flush)
