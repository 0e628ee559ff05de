"""Faults with real components: Redis going away while views notify, and coming back."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from e2e.processes import RedisServer
from notifications import notify
from notifications.models import Notification

from .conftest import connected

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


@pytest.fixture
def redis(settings: Any) -> Iterator[RedisServer]:
    """A private Redis that the test may stop and start, used as the channel layer."""
    with RedisServer() as server:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [server.url]},
            }
        }
        yield server


def test_view_keeps_working_and_stores_while_redis_is_down(alice: Any, redis: RedisServer, caplog: Any) -> None:
    redis.stop()
    client = Client()
    client.force_login(alice)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="notifications"):
        response = client.post("/send/", {"recipient": "alice", "message": "while Redis is down", "level": "info"})
    assert response.status_code == 302
    assert time.monotonic() - started < 10
    assert Notification.objects.get().message == "while Redis is down"
    assert "Pushing notifications failed" in caplog.text


def test_raise_setting_makes_the_failure_visible(alice: Any, redis: RedisServer, settings: Any) -> None:
    redis.stop()
    settings.NOTIFICATIONS = {"RAISE_PUSH_ERRORS": True}
    with pytest.raises(Exception):  # noqa: B017 - whatever redis-py raises for a refused connection
        notify(alice, "raise")
    assert Notification.objects.count() == 1  # stored before the push, committed


async def test_clients_catch_up_once_redis_is_back(alice: Any, redis: RedisServer) -> None:
    redis.stop()
    await database_sync_to_async(notify)(alice, "stored while Redis was down")
    redis.start()
    async with connected(alice) as ws:
        assert "stored while Redis was down" in ws.state
        n = await database_sync_to_async(notify)(alice, "live again")
        assert f"notification-{n.pk}" in await ws.receive_from()
