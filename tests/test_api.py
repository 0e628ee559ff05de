from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from notifications import archive, mark_all_read, mark_read, notify, notify_all
from notifications.live import delivery, protocol
from notifications.models import Notification
from notifications.store.readers import site_reader
from notifications.store.state import load_state, load_states
from testing.html import badge, elements, item, items, swaps

# transaction=True: on_commit callbacks run for real, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def test_notify_stores_then_pushes_to_the_recipients_group(alice: Any, sent: list[Any]) -> None:
    n = notify(alice, "Build 42 finished", level="success", url="/builds/42/")
    assert Notification.objects.get() == n
    assert (n.recipient, n.level, n.url, n.is_read) == (alice, "success", "/builds/42/", False)
    [(group, message)] = sent
    assert group == protocol.user_group(alice.pk)
    assert message["type"] == "notification.push"
    assert message["pk"] == n.pk
    assert "Build 42 finished" in message["html"]


def test_notify_many_is_one_insert_and_no_query_per_recipient(
    db: Any, sent: list[Any], django_assert_max_num_queries: Any
) -> None:
    users = get_user_model().objects.bulk_create([get_user_model()(username=f"user{i}") for i in range(50)])
    # 7: on SQLite the insert goes in two statements (its 999-parameter limit over the row's 23 columns).
    with django_assert_max_num_queries(7):
        created = notify(get_user_model().objects.all(), "hello all")
    assert len(created) == 50 == Notification.objects.count()
    # 50 recipients (pushes.FAN_OUT_FROM): one message to every process, naming each recipient's item
    [(group, message)] = sent
    assert (group, message["type"]) == (protocol.broadcast_group(), protocol.PUSHES)
    assert sorted(message["items"]) == sorted(str(u.pk) for u in users)


def test_notify_all_reaches_active_users_only(alice: Any, bob: Any, sent: list[Any]) -> None:
    bob.is_active = False
    bob.save()
    created = notify_all("maintenance at 22:00")
    assert [n.recipient for n in created] == [alice]


def test_rolled_back_notify_sends_nothing(alice: Any, sent: list[Any]) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(alice, "never")
        raise RuntimeError
    assert sent == []
    assert Notification.objects.count() == 0


def test_push_waits_for_commit(alice: Any, sent: list[Any]) -> None:
    with transaction.atomic():
        notify(alice, "later")
        assert sent == []
    assert len(sent) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"message": ""}, ValueError, "message must not be empty"),
        ({"message": "x" * 1001}, ValueError, "message is 1001 characters long; the limit is 1000"),
        ({"message": 42}, TypeError, "message must be a str, not int"),
        (
            {"message": "ok", "level": "loud"},
            ValueError,
            "level must be one of info, success, warning, error",
        ),
        ({"message": "ok", "url": "javascript:alert(1)"}, ValueError, "url 'javascript:alert(1)' is not safe"),
        ({"message": "ok", "url": "https://evil.example/"}, ValueError, "url 'https://evil.example/' is not safe"),
        ({"message": "ok", "url": "//evil.example/"}, ValueError, "url '//evil.example/' is not safe"),
        (
            {"message": "ok", "actions": [{"label": "Go"}]},
            ValueError,
            "each action must be a mapping",
        ),
        (
            {"message": "ok", "actions": [{"label": "Go", "url": "javascript:x"}]},
            ValueError,
            "action url 'javascript:x' is not safe",
        ),
    ],
)
def test_bad_input_is_refused_before_anything_is_stored(alice: Any, kwargs: Any, error: type, says: str) -> None:
    message = kwargs.pop("message")
    with pytest.raises(error, match=re.escape(says)):
        notify(alice, message, **kwargs)
    assert Notification.objects.count() == 0


def test_allowed_hosts_setting_admits_absolute_links(alice: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"ALLOWED_URL_HOSTS": ["ci.example.com"]}
    assert notify(alice, "ok", url="https://ci.example.com/b/1").url == "https://ci.example.com/b/1"


def test_recipients_must_be_saved_users(alice: Any) -> None:
    for bad in (["alice"], [alice.pk], [alice, None]):
        with pytest.raises(TypeError):
            notify(bad, "hi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsaved"):
        notify(get_user_model()(username="ghost"), "hi")
    assert Notification.objects.count() == 0


def test_mark_read_only_touches_the_owners_row(alice: Any, bob: Any, sent: list[Any]) -> None:
    n = notify(alice, "mine")
    sent.clear()
    for bad in (n.pk, str(n.pk), 999999, -1, "abc", None, True, "1e3", 2**70):
        assert mark_read(bob, bad) is False
    assert not Notification.objects.get().is_read
    assert sent == []
    assert mark_read(alice, str(n.pk)) is True
    assert Notification.objects.get().is_read
    assert mark_read(alice, n.pk) is False  # already read: nothing to push
    [(group, message)] = sent
    assert group == protocol.user_group(alice.pk)
    # Only the changed item goes out (the rest of the list, and the focus in it, stay as they are).
    assert message["type"] == "notification.change"
    assert items(message["item"]) == [(n.pk, "true")] and message["pk"] == n.pk
    assert f"delete:#notification-{n.pk} ~ #notification-{n.pk}" in swaps(message["item"])  # the old copy
    assert badge(message["count_html"]) == 0


def test_archive_hides_from_the_bar_and_marks_read(alice: Any, bob: Any, sent: list[Any]) -> None:
    n = notify(alice, "dismiss me")
    assert archive(bob, n.pk) is False
    assert archive(alice, n.pk) is True
    n.refresh_from_db()
    assert n.is_archived and n.is_read
    assert load_state(alice) == load_state(alice).__class__(0, [])


def test_mark_all_read(alice: Any, bob: Any, sent: list[Any]) -> None:
    notify([alice, bob], "one")
    notify(alice, "two")
    assert mark_all_read(alice) == 2
    assert load_state(alice).unread_count == 0
    assert load_state(bob).unread_count == 1


def test_grouping_counts_up_one_item(alice: Any, sent: list[Any]) -> None:
    first = notify(alice, "commented on Build 42", group_key="build-42", actor="bob")
    notify(alice, "commented on Build 42", group_key="build-42", actor="carol")
    notify(alice, "commented on Build 42", group_key="build-42", actor="bob")
    last = notify(alice, "commented on Build 42", group_key="build-42", actor="dave")
    assert last.pk == first.pk and Notification.objects.count() == 1
    last.refresh_from_db()
    assert last.group_count == 4
    assert last.actors == ["dave", "bob", "carol"]
    assert [m["type"] for _, m in sent] == ["notification.push"] + ["notification.state"] * 3
    assert "dave and 2 others commented on Build 42" in sent[-1][1]["html"]


def test_a_read_group_starts_a_new_item(alice: Any, sent: list[Any]) -> None:
    first = notify(alice, "x", group_key="k")
    mark_read(alice, first.pk)
    assert notify(alice, "x", group_key="k").pk != first.pk


@pytest.mark.outbox
def test_push_failure_keeps_the_row_and_is_logged(alice: Any, monkeypatch: Any, caplog: Any, settings: Any) -> None:
    class BrokenLayer:
        async def group_send(self, group: str, message: Any) -> None:
            raise ConnectionError("redis is down")

    monkeypatch.setattr("notifications.live.delivery.get_channel_layer", lambda: BrokenLayer())
    with caplog.at_level(logging.ERROR, logger="notifications"):
        notify(alice, "stored anyway")
        assert delivery.flush()  # the push runs after the commit, on the process's outbox thread
    assert Notification.objects.count() == 1
    assert "Pushing notifications failed" in caplog.text
    settings.NOTIFICATIONS = {"RAISE_PUSH_ERRORS": True}
    with pytest.raises(ConnectionError):
        notify(alice, "raises now")
    assert Notification.objects.count() == 2


def test_load_states_matches_load_state(alice: Any, bob: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"BAR_SIZE": 3}
    for i in range(5):
        notify(alice, f"a{i}")
    notify(bob, "b0")
    mark_read(alice, Notification.objects.filter(recipient=alice).first().pk)
    states = load_states([alice.pk, bob.pk])
    assert states[alice.pk] == load_state(alice)
    assert states[bob.pk] == load_state(bob)
    assert len(states[alice.pk].items) == 3 and states[alice.pk].unread_count == 4


async def test_anotify_from_async_code(alice: Any, sent: list[Any]) -> None:
    from notifications import anotify

    n = await anotify(alice, "from async")
    assert n.message == "from async"
    assert len(sent) == 1


def test_resolve_answers_once_and_pushes_the_outcome(alice: Any, monkeypatch: Any) -> None:
    """Before: an action could be answered again and again; nothing recorded or showed the outcome."""
    from notifications import resolve
    from notifications.live import pushes
    from notifications.store.state import load_state
    from notifications.web import rendering

    n = notify(alice, "Approve the release?", actions=[{"label": "Approve", "url": "/a/"}])
    pushed: list[Any] = []
    monkeypatch.setattr(pushes, "states", lambda pks, focus=None: pushed.append((pks, focus)))
    assert resolve(n, "Approved") is True
    assert pushed == [([alice.pk], None)]  # the new state goes to every tab (no request: no tab to refocus)
    assert resolve(n, "Declined") is False  # the second answer is refused
    n.refresh_from_db()
    assert n.resolution == "Approved" and n.is_read
    html = rendering.render_state_frame(load_state(alice), reader=site_reader())
    assert "Approved" in html and not elements(html, hx_post="/a/")
    assert item(html, n.pk).attrs["data-resolved"] == "true"


async def test_aresolve_is_the_async_twin(alice: Any) -> None:
    from asgiref.sync import sync_to_async

    from notifications import aresolve

    n = await sync_to_async(notify)(alice, "Approve?", actions=[{"label": "Approve", "url": "/a/"}])
    assert await aresolve(n, "Approved") is True
    assert await aresolve(n, "Approved") is False
