from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from typing import Any

import pytest
import redis
from django.db import OperationalError, transaction

from notifications import notify
from notifications.live import delivery, pushes
from notifications.models import Notification
from testing.processes import ROOT, RedisServer

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


@pytest.fixture
def redis_layer(pubsub_layer: str) -> None:
    """A layer that is not in-memory: pushes go through the process's outbox."""


@pytest.mark.outbox
def test_notify_returns_once_stored_and_the_push_follows_on_the_outbox(
    alice: Any, redis_layer: None, monkeypatch: Any
) -> None:
    """Before: notify() rendered, counted and published on the caller's thread after the commit (about 6 of its
    10 ms). Now the caller pays for storing; the push runs on the process's outbox thread, in order."""
    release, pushed = threading.Event(), []

    def new_items(created: list[Notification], who: Any = None) -> None:
        release.wait(10)
        pushed.append([n.message for n in created])

    monkeypatch.setattr(pushes, "new_items", new_items)
    notify(alice, "first")
    notify(alice, "second")
    assert Notification.objects.count() == 2 and pushed == []  # stored, and the caller did not wait for the push
    release.set()
    assert delivery.flush(timeout=10)
    assert pushed == [["first"], ["second"]]


@pytest.mark.outbox
def test_a_rolled_back_notify_pushes_nothing(alice: Any, redis_layer: None, monkeypatch: Any) -> None:
    pushed: list[Any] = []
    monkeypatch.setattr(pushes, "new_items", lambda created, who=None: pushed.append(created))
    with contextlib.suppress(RuntimeError), transaction.atomic():
        notify(alice, "never")
        raise RuntimeError
    assert delivery.flush(timeout=10)
    assert pushed == []


@pytest.mark.outbox
def test_a_push_that_cannot_read_the_database_is_tried_again_in_order(
    alice: Any, redis_layer: None, monkeypatch: Any
) -> None:
    """Found by the chaos soak: a notification committed just before PostgreSQL stopped had its push (which
    reads the rows, counts and reader) fail, was dropped with a log line, and its tab showed it only at its
    next state, 52 s later. Now the outbox tries it again, the pushes after it waiting their turn."""
    monkeypatch.setattr(delivery, "RETRY_FIRST", 0.01)
    failures, pushed = [OperationalError("the database system is shutting down")] * 2, []

    def new_items(created: list[Notification], who: Any = None) -> None:
        if failures:
            raise failures.pop()
        pushed.append([n.message for n in created])

    monkeypatch.setattr(pushes, "new_items", new_items)
    notify(alice, "committed as the database stopped")
    notify(alice, "after it")
    assert delivery.flush(timeout=10)
    assert pushed == [["committed as the database stopped"], ["after it"]]


def test_a_script_that_exits_right_after_notify_still_pushes(tmp_path: Any, redis_url: str) -> None:
    """The outbox is drained at exit (up to PUSH_TIMEOUT): a management command or a cron script that notifies
    and ends does not lose its push to the exit."""
    db, marker = tmp_path / "db.sqlite3", tmp_path / "pushed"
    script = f"""
import time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from notifications import notify
from notifications.live import pushes
def slow(created, who=None):
    time.sleep(0.5)
    open({str(marker)!r}, "w").write(created[0].message)
pushes.new_items = slow
notify(get_user_model().objects.create_user("alice"), "before exit")
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "demo.settings", "REDIS_URL": redis_url}
    env.update(DATABASE_URL=f"sqlite:///{db}", PYTHONPATH=f"{ROOT / 'site'}:{ROOT}")
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    assert marker.read_text() == "before exit"
