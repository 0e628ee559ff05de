from __future__ import annotations

import datetime
from typing import Any

import django
import pytest
from django.test import Client
from django.utils import timezone

from notifications import notify
from notifications.models import Notification, Preferences
from notifications.store import preferences
from notifications.store.kinds import ITEM_TEMPLATE, get_kind, item_template
from notifications.store.state import load_state, unread_counts
from testing.checks import check_ids
from testing.html import elements, ids

pytestmark = pytest.mark.django_db(transaction=True)

KINDS = {
    "comment": {"label": "Comments", "group_by": "url"},
    "build": {"label": "Builds", "level": "success"},
    "invite": {"template": "partials/notification_invite.html", "level": "warning"},
    "summary": {"bar_default": False},
}


@pytest.fixture(autouse=True)
def kinds(settings: Any) -> None:
    settings.NOTIFICATIONS = {"KINDS": KINDS, "DIGEST_DELAY": 0}


def test_notify_without_kinds_keeps_working(alice: Any, settings: Any, sent: list[Any]) -> None:
    settings.NOTIFICATIONS = {}
    n = notify(alice, "Plain")
    m = notify(alice, "Tagged", kind="comment")
    assert (n.kind, n.level, m.kind, m.level, m.muted) == ("", "info", "comment", "info", False)
    assert m.item_template == ITEM_TEMPLATE
    assert len(sent) == 2


def test_a_kind_gives_level_grouping_and_partial(alice: Any, sent: list[Any]) -> None:
    first = notify(alice, "bob commented", kind="comment", url="/posts/1/", actor="bob")
    second = notify(alice, "carol commented", kind="comment", url="/posts/1/", actor="carol")
    assert second.pk == first.pk and second.group_count == 2
    assert notify(alice, "other post", kind="comment", url="/posts/2/").pk != first.pk
    assert notify(alice, "Build 7", kind="build").level == "success"
    assert notify(alice, "Build 8 failed", kind="build", level="error").level == "error"
    assert get_kind("invite").label == "Invite"
    assert item_template("invite") == "partials/notification_invite.html"
    assert item_template("build") == ITEM_TEMPLATE


def test_a_kind_off_for_the_bar_is_stored_but_not_pushed_nor_counted(alice: Any, bob: Any, sent: list[Any]) -> None:
    preferences.save_choices(alice, bar={"comment": False}, email={})
    [for_alice, for_bob] = notify([alice, bob], "bob commented", kind="comment")
    assert (for_alice.muted, for_bob.muted) == (True, False)
    assert [group for group, _ in sent] == [g for g, _ in sent if str(bob.pk) in g]  # only bob's group
    assert len(sent) == 1
    assert unread_counts([alice.pk, bob.pk]) == {alice.pk: 0, bob.pk: 1}
    assert load_state(alice).items == [] and load_state(alice).unread_count == 0
    assert Notification.objects.filter(recipient=alice).count() == 1  # stored, in the history
    # Other kinds still arrive.
    notify(alice, "Build 9", kind="build")
    assert unread_counts([alice.pk]) == {alice.pk: 1} and len(sent) == 2


def test_mute_everything_for_a_while(alice: Any, sent: list[Any]) -> None:
    preferences.mute(alice, "1h")
    assert notify(alice, "quiet", kind="build").muted is True
    assert notify(alice, "quiet too").muted is True
    assert sent == []
    Preferences.objects.filter(user=alice).update(muted_until=timezone.now() - datetime.timedelta(seconds=1))
    assert notify(alice, "loud again").muted is False and len(sent) == 1


def test_mute_choices() -> None:
    now = timezone.make_aware(datetime.datetime(2026, 3, 1, 22, 30))
    assert preferences.mute_until("1h", now) == now + datetime.timedelta(hours=1)
    assert preferences.mute_until("8h", now) == now + datetime.timedelta(hours=8)
    assert preferences.mute_until("tomorrow", now) == timezone.make_aware(datetime.datetime(2026, 3, 2))
    with pytest.raises(ValueError):
        preferences.mute_until("forever", now)


def test_default_off_kind_is_muted_until_the_user_turns_it_on(alice: Any, sent: list[Any]) -> None:
    assert notify(alice, "weekly", kind="summary").muted is True
    preferences.save_choices(alice, bar={"summary": True}, email={})
    assert notify(alice, "weekly", kind="summary").muted is False


def test_preferences_page_without_javascript(alice: Any, client: Client) -> None:
    assert client.get("/notifications/preferences/").status_code == 302  # login first
    client.force_login(alice)
    page = client.get("/notifications/preferences/")
    assert page.status_code == 200
    html = page.content.decode()
    for label in ("Comments", "Builds", "Invite", "Summary"):
        assert label in html
    [box] = elements(html, name="bar_comment")
    assert (box.attrs["aria-label"], "checked" in box.attrs) == ("Comments in the bar", True)
    response = client.post(
        "/notifications/preferences/", {"action": "save", "bar_build": "on", "email_comment": "on", "digest": "on"}
    )
    assert response.status_code == 302 and response["Location"] == "/notifications/preferences/?saved=1"
    prefs = Preferences.objects.get(user=alice)
    assert prefs.bar == {"comment": False, "build": True, "invite": False, "summary": False}
    assert prefs.email == {"comment": True, "build": False, "invite": False, "summary": False}
    assert prefs.digest is True
    client.post("/notifications/preferences/", {"action": "mute:8h"})
    assert preferences.is_muted(Preferences.objects.get(user=alice))
    assert "Muted until" in client.get("/notifications/preferences/").content.decode()
    client.post("/notifications/preferences/", {"action": "unmute"})
    assert not preferences.is_muted(Preferences.objects.get(user=alice))
    assert client.post("/notifications/preferences/", {"action": "mute:year"}).status_code == 400


def test_preferences_page_with_htmx_answers_in_place(alice: Any, client: Client) -> None:
    client.force_login(alice)
    response = client.post("/notifications/preferences/", {"action": "save"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "nb-preferences" in ids(response.content.decode())
    assert Preferences.objects.get(user=alice).bar["comment"] is False


def test_admin_shows_a_users_choices(alice: Any, admin_client: Client) -> None:
    preferences.save_choices(alice, bar={"comment": False}, email={})
    page = admin_client.get("/admin/notifications/preferences/")
    assert page.status_code == 200 and "alice" in page.content.decode()


def test_bad_kinds_fail_the_system_check(settings: Any) -> None:
    assert "notifications.E010" not in check_ids()
    settings.NOTIFICATIONS = {"KINDS": {"bad name": {}, "x": {"level": "loud", "colour": 1, "template": "nope.html"}}}
    assert "notifications.E010" in check_ids()


@pytest.mark.skipif(django.VERSION < (6, 0), reason="django.tasks is Django 6")
def test_digest_runs_as_a_django_task(alice: Any, settings: Any, mailoutbox: Any) -> None:
    from notifications.mail.tasks import send_digests_task

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    alice.email = "alice@example.test"
    alice.save()
    notify(alice, "bob commented", kind="comment")
    result = send_digests_task.enqueue()
    assert result.return_value == {"emails": 1, "notifications": 1, "skipped": 0}
    assert [m.to for m in mailoutbox] == [["alice@example.test"]]
