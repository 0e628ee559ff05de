"""Sending rendered frames to channel-layer groups: best effort on top of the stored rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from . import conf

logger = logging.getLogger("notifications")

Message = tuple[str, dict[str, Any]]


async def asend(messages: Iterable[Message]) -> None:
    """``group_send`` each ``(group, message)``; a layer failure is logged (or raised, see RAISE_PUSH_ERRORS)."""
    layer = get_channel_layer()
    if layer is None:
        logger.warning("No channel layer configured: notifications are stored but not pushed.")
        return
    sent = 0
    try:
        for group, message in messages:
            await layer.group_send(group, message)
            sent += 1
    except Exception:
        # The rows are committed already: clients catch up from the database when they (re)connect.
        logger.exception("Pushing notifications failed after %d message(s); clients catch up on reconnect.", sent)
        if conf.get("RAISE_PUSH_ERRORS"):
            raise


def send(messages: Iterable[Message]) -> None:
    """Synchronous :func:`asend`, for ``transaction.on_commit`` callbacks and sync code."""
    async_to_sync(asend)(list(messages))
