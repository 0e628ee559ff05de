"""In-process sockets for the unit tests: channels' WebsocketCommunicator on the consumer, logins, groups.

Needs configured Django settings (the unit tests' pytest-django does that)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib import import_module
from typing import Any

from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client


def login_session(user: Any) -> Any:
    """A real login's session (as AuthMiddlewareStack puts it in a socket's scope)."""
    client = Client()
    client.force_login(user)
    return import_module(settings.SESSION_ENGINE).SessionStore(client.cookies["sessionid"].value)


@contextlib.asynccontextmanager
async def connected(user: Any, **scope: Any) -> AsyncIterator[WebsocketCommunicator]:
    """A socket of ``user`` that has connected and consumed its state-on-connect frame (``.state``)."""
    from notifications.live.consumers import NotificationConsumer

    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = user
    communicator.scope.update(scope)
    ok, _ = await communicator.connect()
    assert ok
    communicator.state = await communicator.receive_from()
    try:
        yield communicator
    finally:
        await communicator.disconnect()


def group_members(group: str) -> set[str]:
    """The channels of this process subscribed to ``group`` (in-memory or channels-redis pub/sub layer)."""
    layer = get_channel_layer()
    if hasattr(layer, "_layers"):  # RedisPubSubChannelLayer: one loop layer per event loop
        members: set[str] = set()
        for loop_layer in layer._layers.values():
            members |= loop_layer.groups.get(loop_layer._get_group_channel_name(group), set())
        return members
    return set(layer.groups.get(group, {}))
