"""Whether a socket's login still holds: every way a login is revoked, and what must keep working."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from notifications.live.credentials import Login, login_holds, logins_hold

pytestmark = pytest.mark.django_db


def session_key(user: Any) -> str:
    """A real login, as the browser's cookie holds it."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_a_fresh_login_holds(alice: Any) -> None:
    assert login_holds(alice.pk, session_key(alice))


def test_logout_by_deleting_the_session_row(alice: Any) -> None:
    key = session_key(alice)
    Session.objects.filter(session_key=key).delete()
    assert not login_holds(alice.pk, key)


def test_expired_session(alice: Any) -> None:
    key = session_key(alice)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert not login_holds(alice.pk, key)


def test_password_change_revokes_every_session(alice: Any) -> None:
    first, second = session_key(alice), session_key(alice)
    alice.set_password("new")
    alice.save()
    assert not login_holds(alice.pk, first) and not login_holds(alice.pk, second)


def test_deactivation_by_queryset_update_sends_no_signal_and_still_revokes(alice: Any) -> None:
    key = session_key(alice)
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert not login_holds(alice.pk, key)


def test_deleted_user(alice: Any) -> None:
    key = session_key(alice)
    pk = alice.pk
    alice.delete()
    assert not login_holds(pk, key)


def test_a_session_of_another_user_is_not_this_users_login(alice: Any, bob: Any) -> None:
    assert not login_holds(alice.pk, session_key(bob))


def test_no_session_key_or_a_made_up_one(alice: Any) -> None:
    assert not login_holds(alice.pk, None)
    assert not login_holds(alice.pk, "x" * 32)


def test_one_sessions_logout_leaves_the_others(alice: Any) -> None:
    laptop, phone = session_key(alice), session_key(alice)
    Session.objects.filter(session_key=laptop).delete()
    assert login_holds(alice.pk, phone)


def test_a_rotated_secret_key_keeps_sessions_made_with_the_old_one(alice: Any, settings: Any) -> None:
    key = session_key(alice)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert login_holds(alice.pk, key)  # as Django's own get_user() accepts it


def test_sockets_without_a_session_check_the_user_only(alice: Any) -> None:
    assert login_holds(alice.pk, None, has_session=False)
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert not login_holds(alice.pk, None, has_session=False)


def test_many_logins_are_checked_in_two_queries(alice: Any, bob: Any, django_assert_num_queries: Any) -> None:
    carol = get_user_model().objects.create_user("carol", password="carol")
    logins = [Login(u.pk, session_key(u)) for u in (alice, bob, carol, alice)]
    Session.objects.filter(session_key=logins[1].session_key).delete()
    get_user_model().objects.filter(pk=carol.pk).update(is_active=False)
    logins.append(Login(bob.pk, logins[0].session_key))  # alice's session is not bob's login
    with django_assert_num_queries(2):
        assert logins_hold(logins) == [True, False, False, True, False]


def test_a_backend_of_the_projects_own_is_asked_user_by_user(alice: Any, settings: Any) -> None:
    settings.AUTHENTICATION_BACKENDS = ["tests.test_credentials.NobodyBackend"]
    client = Client()
    client.force_login(alice, backend="tests.test_credentials.NobodyBackend")
    assert not login_holds(alice.pk, client.cookies["sessionid"].value)


class NobodyBackend(ModelBackend):
    """A project's backend that lets nobody back in (get_user overridden)."""

    def get_user(self, user_id: Any) -> None:
        return None


def test_other_session_engines_are_read_key_by_key(alice: Any, settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    key = session_key(alice)
    assert login_holds(alice.pk, key)
    alice.set_password("changed")
    alice.save()
    assert not login_holds(alice.pk, key)
