"""The sockets' session authentication: Django's rules, and handshakes that arrive together share one lookup."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from notifications.live import auth, credentials

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


async def user_of(cookie: str | None) -> Any:
    """Who the stack puts in the scope of a handshake that carries this session cookie."""
    seen: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["user"]._wrapped)

    headers = [(b"cookie", f"sessionid={cookie}".encode())] if cookie else []
    await auth.AuthMiddlewareStack(inner)({"type": "websocket", "headers": headers}, None, None)
    return seen[0]


async def test_handshakes_arriving_together_load_their_users_in_one_call(monkeypatch: Any) -> None:
    """Before: Channels' stack made one database call per handshake, one after another on one thread."""
    users = [await sync_to_async(get_user_model().objects.create_user)(f"user{i}") for i in range(12)]
    cookies = [await sync_to_async(session_cookie)(user) for user in users]
    calls: list[list[str]] = []
    lookup = credentials.session_users

    def counting(keys: list[str]) -> dict[str, Any]:
        calls.append(list(keys))
        return lookup(keys)

    monkeypatch.setattr(credentials, "session_users", counting)
    seen = await asyncio.gather(*(user_of(cookie) for cookie in cookies))
    assert [user.pk for user in seen] == [user.pk for user in users]  # each handshake its own user
    assert len(calls) == 1 and sorted(calls[0]) == sorted(cookies)


async def test_a_fresh_login_is_its_user(alice: Any) -> None:
    user = await user_of(await sync_to_async(session_cookie)(alice))
    assert user.is_authenticated and user.pk == alice.pk


@pytest.mark.parametrize("cookie", [None, "", "not-a-session-key-of-anyone-here"])
async def test_no_session_or_an_unknown_one_is_anonymous(cookie: str | None) -> None:
    assert not (await user_of(cookie)).is_authenticated


async def test_a_session_that_no_longer_verifies_is_anonymous(alice: Any) -> None:
    cookies = [await sync_to_async(session_cookie)(alice) for _ in range(3)]

    def revoke() -> None:
        Session.objects.filter(session_key=cookies[0]).delete()  # logged out elsewhere
        get_user_model().objects.filter(pk=alice.pk).update(password="changed")  # other sessions' hash

    await sync_to_async(revoke)()
    assert [(await user_of(cookie)).is_authenticated for cookie in cookies] == [False, False, False]


async def test_an_inactive_user_is_anonymous(alice: Any) -> None:
    cookie = await sync_to_async(session_cookie)(alice)
    await sync_to_async(get_user_model().objects.filter(pk=alice.pk).update)(is_active=False)
    assert not (await user_of(cookie)).is_authenticated


async def test_a_rotated_secret_key_keeps_sessions_made_with_the_old_one(alice: Any, settings: Any) -> None:
    cookie = await sync_to_async(session_cookie)(alice)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    assert (await user_of(cookie)).pk == alice.pk
