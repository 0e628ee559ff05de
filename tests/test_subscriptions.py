"""Things: notifications about objects, followers, read on visit, deleted targets (notifications.store.subscriptions,
notifications.web.visits and the target/actor fields of notify())."""

from __future__ import annotations

import io
from typing import Any

import pytest
from demo.models import Comment, Ticket
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db.models.signals import post_delete
from django.test import Client
from django.utils import timezone

from notifications import (
    anotify,
    anotify_subscribers,
    asubscribe,
    is_subscribed,
    mark_read_for,
    notify,
    notify_subscribers,
    subscribe,
    unsubscribe,
)
from notifications.live import protocol
from notifications.models import Notification, SentKey, Subscription
from notifications.store.state import load_state
from notifications.store.subscriptions import _forget
from testing.html import by_id, elements

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ticket(db: Any) -> Ticket:
    return Ticket.objects.create(title="Login broken")


@pytest.fixture
def carol(db: Any) -> Any:
    return get_user_model().objects.create_user("carol", password="carol")


def item(user: Any, pk: int) -> Any:
    """The bar item of notification ``pk`` as ``user``'s bar renders it."""
    from notifications.web import rendering

    html = rendering.render_bar(load_state(user))
    return by_id(html, f"notification-{pk}")


# Targets and actors -------------------------------------------------------------------------------------------


def test_a_notification_about_an_object_finds_it_by_target(alice: Any, ticket: Ticket, sent: list[Any]) -> None:
    n = notify(alice, "New comment", target=ticket, actor="bob")
    assert n.target == ticket and n.target_id == str(ticket.pk)
    assert list(Notification.objects.for_target(ticket)) == [n]
    assert list(Notification.objects.for_target(Ticket.objects.create(title="other"))) == []


def test_integer_uuid_and_string_keys_all_work(alice: Any, bob: Any, ticket: Ticket, sent: list[Any]) -> None:
    comment = Comment.objects.create(ticket=ticket, author=bob, body="me too")
    Client().force_login(bob)
    session = Session.objects.first()
    assert session is not None
    for target in (ticket, comment, session):
        notify(alice, "about it", target=target)
        [n] = Notification.objects.for_target(target)
        assert Notification.objects.get(pk=n.pk).target == target


def test_an_actor_may_be_a_user_or_a_name(alice: Any, bob: Any, ticket: Ticket, sent: list[Any]) -> None:
    by_bob = notify(alice, "commented", target=ticket, actor=bob)
    by_name = notify(alice, "commented", target=ticket, actor="The build bot")
    assert Notification.objects.get(pk=by_bob.pk).actor == bob and by_bob.actors == ["bob"]
    assert by_name.actor is None and by_name.actors == ["The build bot"]
    assert list(Notification.objects.for_actor(bob)) == [by_bob]


def test_the_item_links_to_the_target_and_shows_its_current_name(alice: Any, ticket: Ticket, sent: list[Any]) -> None:
    n = notify(alice, "New comment", target=ticket)
    ticket.title = "Login broken on Safari"
    ticket.save()
    shown = item(alice, n.pk)
    assert f"#{ticket.pk} Login broken on Safari" in shown.text
    assert shown.attrs["data-target-gone"] == "false"
    response = Client()
    response.force_login(alice)
    opened = response.post(f"/notifications/{n.pk}/open/")
    assert opened["Location"] == ticket.get_absolute_url()


def test_an_explicit_url_wins_over_the_targets(alice: Any, ticket: Ticket, sent: list[Any]) -> None:
    assert notify(alice, "x", target=ticket, url="/elsewhere/").link == "/elsewhere/"


@pytest.mark.parametrize(
    ("target", "error"),
    [
        (Ticket(title="unsaved"), ValueError),
        ("Ticket 3", TypeError),
        (object(), TypeError),
    ],
)
def test_bad_targets_are_refused_before_anything_is_stored(alice: Any, target: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        notify(alice, "x", target=target)
    with pytest.raises(error):
        subscribe(alice, target)
    assert not Notification.objects.exists() and not Subscription.objects.exists()


def test_a_denied_model_cannot_be_a_target(alice: Any, ticket: Ticket, settings: Any) -> None:
    settings.NOTIFICATIONS = {"DENIED_TARGET_MODELS": ["demo.Ticket"]}
    with pytest.raises(ValueError, match="DENIED_TARGET_MODELS"):
        notify(alice, "x", target=ticket)
    with pytest.raises(ValueError, match="DENIED_TARGET_MODELS"):
        subscribe(alice, ticket)
    assert not Notification.objects.exists()


def test_an_unsaved_actor_is_refused(alice: Any) -> None:
    with pytest.raises(ValueError, match="not saved"):
        notify(alice, "x", actor=get_user_model()(username="ghost"))
    assert not Notification.objects.exists()


# Followers ----------------------------------------------------------------------------------------------------


def test_subscribe_unsubscribe_is_subscribed(alice: Any, ticket: Ticket) -> None:
    assert not is_subscribed(alice, ticket)
    assert subscribe(alice, ticket) is True
    assert subscribe(alice, ticket) is False  # once only
    assert is_subscribed(alice, ticket)
    assert unsubscribe(alice, ticket) is True
    assert unsubscribe(alice, ticket) is False
    assert not is_subscribed(alice, ticket)


def test_notify_subscribers_reaches_every_follower_but_the_actor(
    alice: Any, bob: Any, carol: Any, ticket: Ticket, sent: list[Any]
) -> None:
    for user in (alice, bob, carol):
        subscribe(user, ticket)
    created = notify_subscribers(ticket, "New comment", actor=bob)
    assert sorted(n.recipient_id for n in created) == sorted([alice.pk, carol.pk])
    assert {group for group, _ in sent} == {protocol.user_group(alice.pk), protocol.user_group(carol.pk)}
    assert all(n.following and n.target == ticket for n in created)


def test_notify_subscribers_is_one_insert_whatever_the_followers(
    ticket: Ticket, sent: list[Any], django_assert_max_num_queries: Any
) -> None:
    users = get_user_model().objects.bulk_create([get_user_model()(username=f"u{i}") for i in range(30)])
    Subscription.objects.bulk_create(
        [Subscription(user=u, target_type_id=_ct(ticket), target_id=str(ticket.pk)) for u in users]
    )
    # followers, preferences, insert, unread counts (and SAVEPOINT/RELEASE around the atomic block)
    with django_assert_max_num_queries(7):
        created = notify_subscribers(ticket, "New comment")
    assert len(created) == 30


def test_an_item_about_a_followed_thing_offers_unfollow_and_it_shows_in_every_tab(
    alice: Any, ticket: Ticket, sent: list[Any]
) -> None:
    subscribe(alice, ticket)
    n = notify_subscribers(ticket, "New comment")[0]
    assert item(alice, n.pk).attrs["data-following"] == "true"
    client = Client()
    client.force_login(alice)
    sent.clear()
    response = client.post(f"/notifications/{n.pk}/unfollow/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert not is_subscribed(alice, ticket)
    # every tab: the user's whole bar, where the item now offers Follow
    [(group, message)] = sent
    assert group == protocol.user_group(alice.pk) and message["type"] == protocol.STATE
    shown = by_id(message["html"], f"notification-{n.pk}")
    assert shown.attrs["data-following"] == "false"
    assert client.post(f"/notifications/{n.pk}/follow/")["Location"]  # without JavaScript: a redirect back
    assert is_subscribed(alice, ticket)


def test_nobody_follows_through_someone_elses_notification(
    alice: Any, bob: Any, ticket: Ticket, sent: list[Any]
) -> None:
    n = notify(alice, "x", target=ticket)
    client = Client()
    client.force_login(bob)
    assert client.post(f"/notifications/{n.pk}/follow/").status_code == 404
    assert not Subscription.objects.exists()


async def test_async_twins(alice: Any, bob: Any, ticket: Ticket, sent: list[Any]) -> None:
    assert await asubscribe(alice, ticket)
    [n] = await anotify_subscribers(ticket, "async", actor=bob)
    assert n.recipient_id == alice.pk
    assert (await anotify(bob, "direct", target=ticket)).target_id == str(ticket.pk)


# Read on visit ------------------------------------------------------------------------------------------------


def test_mark_read_for_reads_only_that_users_notifications_about_it(
    alice: Any, bob: Any, ticket: Ticket, sent: list[Any]
) -> None:
    other = Ticket.objects.create(title="other")
    mine = notify(alice, "x", target=ticket)
    elsewhere = notify(alice, "y", target=other)
    theirs = notify(bob, "z", target=ticket)
    sent.clear()
    assert mark_read_for(alice, ticket) == 1
    assert [Notification.objects.get(pk=n.pk).is_read for n in (mine, elsewhere, theirs)] == [True, False, False]
    [(group, message)] = sent  # every tab of alice follows
    assert group == protocol.user_group(alice.pk) and message["count"] == 1


def test_mark_read_for_costs_one_query_when_nothing_is_unread(
    alice: Any, ticket: Ticket, sent: list[Any], django_assert_num_queries: Any
) -> None:
    mark_read_for(alice, ticket)  # warms the content type cache, as a running process has
    with django_assert_num_queries(1):
        assert mark_read_for(alice, ticket) == 0


def test_opening_the_page_of_a_thing_reads_its_notifications(alice: Any, ticket: Ticket, sent: list[Any]) -> None:
    n = notify(alice, "x", target=ticket)
    client = Client()
    client.force_login(alice)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert Notification.objects.get(pk=n.pk).is_read
    [badge] = elements(page, id="notification-count")
    assert badge.text.strip() == "0"  # the page's own bar already knows


def test_the_template_tag_and_the_decorator_read_too(alice: Any, ticket: Ticket, rf: Any, sent: list[Any]) -> None:
    from django.http import HttpResponse
    from django.template import engines

    from notifications.web.visits import marks_read

    n = notify(alice, "x", target=ticket)
    request = rf.get("/")
    request.user = alice
    engine = engines["django"]
    engine.from_string("{% load notifications %}{% mark_read_for ticket %}").render({"ticket": ticket}, request)
    assert Notification.objects.get(pk=n.pk).is_read

    m = notify(alice, "y", target=ticket)
    view = marks_read(Ticket)(lambda request, pk: HttpResponse("ok"))
    assert view(request, pk=ticket.pk).status_code == 200
    assert Notification.objects.get(pk=m.pk).is_read


# Idempotent sends ---------------------------------------------------------------------------------------------


def test_the_same_key_stores_and_pushes_once(alice: Any, bob: Any, sent: list[Any]) -> None:
    first = notify(alice, "Deploy 7 done", key="deploy-7")
    again = notify(alice, "Deploy 7 done", key="deploy-7")
    assert again.pk == first.pk and Notification.objects.count() == 1
    assert len(sent) == 1
    # another recipient, or another key, is another notification
    notify([alice, bob], "Deploy 7 done", key="deploy-7")
    notify(alice, "Deploy 8 done", key="deploy-8")
    assert Notification.objects.filter(recipient=bob).count() == 1
    assert Notification.objects.filter(recipient=alice).count() == 2


def test_a_key_is_free_again_after_its_window(alice: Any, settings: Any, sent: list[Any]) -> None:
    settings.NOTIFICATIONS = {"KEY_WINDOW": 60}
    notify(alice, "once", key="k")
    later = timezone.now() + timezone.timedelta(seconds=61)
    from unittest import mock

    with mock.patch("django.utils.timezone.now", return_value=later):
        notify(alice, "again", key="k")
    assert Notification.objects.count() == 2


# Deleted targets ----------------------------------------------------------------------------------------------


def test_a_deleted_target_leaves_a_readable_item_without_a_link(
    alice: Any, ticket: Ticket, sent: list[Any], settings: Any
) -> None:
    subscribe(alice, ticket)
    n = notify_subscribers(ticket, "New comment")[0]
    name = str(ticket)
    ticket.delete()
    assert not Subscription.objects.exists()  # its followers are cleaned up
    shown = item(alice, n.pk)
    assert shown.attrs["data-target-gone"] == "true"
    assert name in shown.text and "deleted" in shown.text
    assert not elements(shown_html(alice), action=f"/notifications/{n.pk}/open/")
    client = Client()
    client.force_login(alice)
    assert client.post(f"/notifications/{n.pk}/open/").status_code == 404
    assert client.get("/notifications/").status_code == 200
    admin = get_user_model().objects.create_superuser("root", password="root")
    client.force_login(admin)
    assert client.get(f"/admin/notifications/notification/{n.pk}/change/").status_code == 200
    assert client.get("/admin/notifications/notification/").status_code == 200


def shown_html(user: Any) -> str:
    from notifications.web import rendering

    return str(rendering.render_bar(load_state(user)))


def _ct(obj: Any) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk


def test_concurrent_callers_with_one_key_store_once_on_postgresql(alice: Any, sent: list[Any]) -> None:
    """Eight threads, eight connections, one key at the same moment: one row, and every caller gets it."""
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL (DATABASE_URL)")
    import threading

    start = threading.Barrier(8)
    results: list[int] = []

    def call() -> None:
        try:
            start.wait()
            results.append(notify(alice, "Payment received", key="payment-41").pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Notification.objects.count() == 1
    assert results == [Notification.objects.get().pk] * 8


def test_prune_removes_expired_keys_and_subscriptions_to_objects_deleted_unwatched(
    alice: Any, ticket: Ticket, sent: list[Any], settings: Any
) -> None:
    settings.NOTIFICATIONS = {"KEY_WINDOW": 0}
    notify(alice, "x", key="k")
    subscribe(alice, ticket)
    # Deleted by a process that never followed anything (no receiver there): the subscription stays behind.
    post_delete.disconnect(_forget, sender=Ticket, dispatch_uid="notifications.follow:demo.Ticket")
    Ticket.objects.filter(pk=ticket.pk).delete()
    assert Subscription.objects.exists() and SentKey.objects.exists()
    call_command("prune_notifications", stdout=io.StringIO())
    assert not Subscription.objects.exists() and not SentKey.objects.exists()
