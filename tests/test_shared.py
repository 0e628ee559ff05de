"""What server processes share through the layer's Redis: the servers' identity and the action budgets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from notifications.live import shared
from testing.processes import RedisServer

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def redis(settings: Any) -> AsyncIterator[RedisServer]:
    with RedisServer() as server:
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [server.url], "prefix": "shared-test"},
            }
        }
        yield server


async def test_a_restarted_server_has_another_identity(redis: RedisServer) -> None:
    servers = shared.servers()
    assert servers is not None
    before = await servers.identity()
    assert before == await servers.identity()
    redis.stop()
    redis.start()
    after = await servers.identity()
    assert len(after.servers) == 1 and after.servers != before.servers and not after.split
    await servers.close()


async def test_processes_share_one_budget_per_user(redis: RedisServer, settings: Any) -> None:
    """Two handles on the same Redis stand for two server processes: each counts into the same window."""
    settings.NOTIFICATIONS = {"ACTION_RATE_LIMIT": 5, "ACTION_RATE_WINDOW": 60}
    first, second = shared.servers(), shared.servers()
    assert first is not None and second is not None
    verdicts = [await process.over_limit(7) for process in (first, second, first, second, first)]
    assert verdicts == [False] * 5
    assert await second.over_limit(7)  # the sixth, on either process
    assert not await first.over_limit(8)  # another user's budget is their own
    for process in (first, second):
        await process.close()


def test_without_a_redis_layer_there_is_nothing_to_share(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert shared.servers() is None


def test_the_local_budget_is_a_sliding_window(settings: Any, monkeypatch: Any) -> None:
    settings.NOTIFICATIONS = {"ACTION_RATE_LIMIT": 2, "ACTION_RATE_WINDOW": 10}
    now = [100.0]
    monkeypatch.setattr(shared.time, "monotonic", lambda: now[0])
    budget = shared.LocalBudget()
    assert [budget.over_limit(1) for _ in range(3)] == [False, False, True]
    now[0] += 10.5  # the window has passed
    assert not budget.over_limit(1)
