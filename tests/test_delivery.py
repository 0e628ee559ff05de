from __future__ import annotations

from typing import Any

import pytest
import redis

from notifications import delivery, notify
from testing.processes import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


async def test_messages_of_one_group_keep_their_order(layer: Any) -> None:
    channel = await layer.new_channel()
    await layer.group_add("g1", channel)
    batch = [("g1", {"type": "t", "n": i}) for i in range(20)] + [("g2", {"type": "t", "n": 99})]
    await delivery.asend(batch)
    assert [(await layer.receive(channel))["n"] for _ in range(20)] == list(range(20))


def test_sync_callers_reuse_one_redis_connection(alice: Any, settings: Any) -> None:
    """A worker calling notify() in a loop must not open a Redis connection (and a thread) per call."""
    with RedisServer() as private:  # its own: a shared Redis counts other clients' connections too
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [private.url]}}
        }
        client = redis.Redis.from_url(private.url)

        def connections() -> int:
            return int(client.info("stats")["total_connections_received"])

        notify(alice, "warm up")
        before = connections()
        for i in range(20):
            notify(alice, f"n{i}")
        assert connections() - before <= 1
        client.close()
