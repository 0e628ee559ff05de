from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def test_notify_one_user(alice: Any, settings: Any) -> None:
    settings.CHANNEL_LAYERS = IN_MEMORY
    out, err = run("notify", "alice", "Build 42 finished", "--level", "success", "--url", "/builds/42/")
    n = Notification.objects.get()
    assert (n.recipient, n.message, n.level, n.url) == (alice, "Build 42 finished", "success", "/builds/42/")
    assert "Stored a notification for alice" in out
    assert "REDIS_URL" in err  # the in-memory layer cannot reach another process's sockets


def test_notify_says_nothing_more_with_a_shared_layer(alice: Any, settings: Any, redis_url: str) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }
    out, err = run("notify", "alice", "hello")
    assert "Stored a notification for alice" in out and err == ""


def test_notify_everyone(alice: Any, bob: Any) -> None:
    out, _ = run("notify", "--all", "Maintenance")
    assert Notification.objects.count() == 2 and "2 active user(s)" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("notify", "nobody", "hi"), "No user named 'nobody'."),
        # One positional argument fills ``message`` (``username`` is optional): no user and no --all.
        (("notify", "Maintenance"), "Give a username or --all (not both)."),
        (("notify", "alice", "hi", "--all"), "Give a username or --all (not both)."),
        (("notify", "alice", "hi", "--url", "javascript:alert(1)"), "url 'javascript:alert(1)' is not safe"),
        (("notify", "alice", ""), "message must not be empty"),
    ],
)
def test_notify_refuses_bad_input_plainly(alice: Any, args: tuple[str, ...], says: str) -> None:
    with pytest.raises(CommandError, match=re.escape(says)):
        run(*args)
    assert Notification.objects.count() == 0


def test_notify_grouped(alice: Any) -> None:
    for actor in ("bob", "carol"):
        run("notify", "alice", "commented", "--group-key", "k", "--actor", actor)
    n = Notification.objects.get()
    assert n.group_count == 2 and n.actors == ["carol", "bob"]


def test_prune_deletes_old_read_notifications_only(alice: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"RETENTION_DAYS": 30}
    long_ago = timezone.now() - timedelta(days=31)
    old_read = Notification.objects.create(recipient=alice, message="old read", read_at=long_ago)
    Notification.objects.create(recipient=alice, message="old unread", created_at=long_ago)
    Notification.objects.create(recipient=alice, message="recent read", read_at=timezone.now())
    out, _ = run("prune_notifications", "--dry-run")
    assert "Would delete 1" in out and Notification.objects.count() == 3
    out, _ = run("prune_notifications")
    assert "Deleted 1" in out
    assert not Notification.objects.filter(pk=old_read.pk).exists() and Notification.objects.count() == 2
    run("prune_notifications", "--days", "0")
    assert list(Notification.objects.values_list("message", flat=True)) == ["old unread"]
