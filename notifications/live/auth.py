"""Session authentication for the bar's sockets: Channels' ``AuthMiddlewareStack``, with the users of
handshakes that arrive together loaded in one database call.

Channels loads each socket's session and user with one call of its own on the one thread every
``database_sync_to_async`` call of the process shares: a restarted server's sockets, all coming back at once,
queue there one by one. This stack asks :func:`credentials.session_users` on the read pool instead, for every
handshake waiting at that moment (two queries with the database session engine and ``ModelBackend``). Who
gets in is decided by Django's rules, as ``django.contrib.auth.get_user()`` does (with
``SECRET_KEY_FALLBACKS``); a session that does not verify is not flushed, since a socket cannot set a cookie.

Use it in place of Channels' stack (``from notifications.live.auth import AuthMiddlewareStack``); the consumer
works behind either.
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddleware as ChannelsAuthMiddleware
from channels.middleware import BaseMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.contrib.auth.base_user import AbstractBaseUser

from . import credentials, db


def _users(session_keys: list[str]) -> dict[str, AbstractBaseUser | None]:
    """Each session's user (None: the session logs nobody in)."""
    found = credentials.session_users(session_keys)
    return {key: found.get(key) for key in session_keys}


_session_users: db.Batched[str, AbstractBaseUser | None] = db.Batched(_users)


class AuthMiddleware(ChannelsAuthMiddleware):  # type: ignore[misc]  # channels publishes no types
    """Puts ``scope["user"]`` from the session, loading the users of concurrent handshakes together."""

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        from django.contrib.auth.models import AnonymousUser  # not at import: the app registry may not be ready

        key = scope["session"].session_key
        user = await _session_users.get(key) if key else None
        scope["user"]._wrapped = user if user is not None else AnonymousUser()


def AuthMiddlewareStack(inner: Any) -> BaseMiddleware:  # Channels' name, so it drops in
    """Cookies, session and user for ``inner``, like ``channels.auth.AuthMiddlewareStack``."""
    return CookieMiddleware(SessionMiddleware(AuthMiddleware(inner)))
