"""Sending rendered frames to channel-layer groups: best effort on top of the stored rows."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Coroutine, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from . import conf, protocol

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

    async def send_all() -> list[Any]:
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
