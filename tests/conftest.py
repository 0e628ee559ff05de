from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.utils import translation

from notifications.live import db, delivery, shared

# Helpers live in testing/ (test modules import them from there, never from each other). Re-exported here only
# for the modules that still import them from this conftest (tests/test_protocol.py, tests/test_router.py).


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """tests/test_restyled.py's run: say that the restyled templates were searched first."""
    if os.environ.get("NOTIFICATIONS_RESTYLED_TEMPLATES"):
        terminalreporter.write_line(f"restyled templates first: {settings.TEMPLATES[0]['DIRS'][0]}")


@pytest.fixture(scope="session", autouse=True)
def close_worker_thread_connections(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """Async tests run ORM calls in asgiref's one thread-sensitive worker thread and in the consumer's pools;
    close their connections before the test database is dropped (PostgreSQL refuses to drop a database that
    has sessions)."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    db.close_connections()
    with django_db_blocker.unblock():  # the outbox thread's (tests marked "outbox"), on a thread of its own
        delivery.close_connections()


@pytest.fixture(autouse=True)
def default_language_afterwards() -> Iterator[None]:
    """A request's LocaleMiddleware leaves its language active on the thread: no test inherits it."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_action_budget() -> None:
    """Action budgets count per user across processes (in the layer's Redis) or in this process: no test
    inherits another's actions (user ids repeat from test to test)."""
    shared.local_budget.recent.clear()
    config = shared.layer_config()
    if config is not None and config[0]:
        from channels_redis.utils import decode_hosts

        host = decode_hosts(config[0])[0]
        if "address" in host:  # Sentinel entries: their tests use fresh prefixes
            with redis.Redis.from_url(host["address"]) as client:
                keys = list(client.scan_iter(f"{config[1]}:notifications:*:actions:*"))
                if keys:
                    client.delete(*keys)


@pytest.fixture
def alice(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", password="alice")


@pytest.fixture
def bob(db: Any) -> Any:
    return get_user_model().objects.create_user("bob", password="bob")


@pytest.fixture(autouse=True)
def pushes_inline(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pushes run on the caller's thread right after the commit (as with the in-memory layer), so a test reads
    them at once on any layer; tests marked ``outbox`` (tests/test_delivery.py) keep the process's outbox."""
    if request.node.get_closest_marker("outbox") is None:
        monkeypatch.setattr("notifications.live.delivery.after_commit", transaction.on_commit)


@pytest.fixture
def sent(monkeypatch: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every (group, message) the API hands to the channel layer."""
    messages: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("notifications.live.delivery.send", lambda batch: messages.extend(batch))
    return messages


@pytest.fixture
def pubsub_layer(settings: Any, redis_url: str) -> str:
    """channels-redis's pub/sub layer on the test session's Redis, under a prefix of its own; returns it."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": prefix},
        }
    }
    return prefix


@pytest.fixture
async def layer() -> AsyncIterator[Any]:
    """The configured channel layer, emptied before and after each test."""
    channel_layer = get_channel_layer()
    await channel_layer.flush()
    yield channel_layer
    await channel_layer.flush()
