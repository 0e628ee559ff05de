"""Who a session logs in, and whether the logins open sockets were made with still hold, for many at once.

After connect a session may be deleted (logout on another path, an admin clearing sessions), expire, or stop
matching its user (password changed), and the user may be deactivated by a queryset ``update()`` that sends
no signal. These are Django's own ``get_user()`` rules, without its side effects (a socket cannot set a
cookie, so nothing is flushed or rotated here), for many sockets at once: with the database session engine
and ``ModelBackend`` a batch costs two queries, whatever its size. The same rules authenticate a burst of
handshakes (:mod:`notifications.live.auth`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import import_module
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from ..store import UserPk

DB_ENGINE = "django.contrib.sessions.backends.db"


class Login(NamedTuple):
    """What a socket knows of its login: the user, and the session key (None without a session)."""

    user_pk: UserPk
    session_key: str | None
    has_session: bool = True


def login_holds(user_pk: UserPk, session_key: str | None, *, has_session: bool = True) -> bool:
    """True while ``session_key`` still logs in the user ``user_pk`` and that user may still log in.

    ``has_session=False`` is for sockets authenticated without a session (a project's own middleware):
    only the user is checked (exists, active).
    """
    return logins_hold([Login(user_pk, session_key, has_session)])[0]


def logins_hold(logins: Sequence[Login]) -> list[bool]:
    """:func:`login_holds` for each of ``logins``, in order."""
    by_session = session_users({login.session_key for login in logins if login.has_session and login.session_key})
    sessionless = _users({(None, str(login.user_pk)) for login in logins if not login.has_session})
    results = []
    for login in logins:
        if login.has_session:
            user = by_session.get(login.session_key or "")
        else:
            user = sessionless.get((None, str(login.user_pk)))
        results.append(user is not None and str(user.pk) == str(login.user_pk))
    return results


def session_users(session_keys: Iterable[str]) -> dict[str, AbstractBaseUser]:
    """The user each live session logs in now, by session key; a key that logs nobody in is left out."""
    sessions = _sessions(session_keys)
    wanted: dict[str, tuple[str | None, str]] = {}  # session key: (backend path, user pk)
    for key, data in sessions.items():
        path, pk = data.get(BACKEND_SESSION_KEY), data.get(SESSION_KEY)
        if pk is not None and isinstance(path, str) and path in settings.AUTHENTICATION_BACKENDS:
            wanted[key] = (path, str(pk))
    users = _users(set(wanted.values()))
    found: dict[str, AbstractBaseUser] = {}
    for key, want in wanted.items():
        user = users.get(want)
        if user is None:
            continue
        if hasattr(user, "get_session_auth_hash") and not _hash_matches(user, sessions[key].get(HASH_SESSION_KEY)):
            continue
        found[key] = user
    return found


def _sessions(keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each live (present, unexpired) session's data by key; missing keys are gone or expired."""
    keys = list(keys)
    engine = import_module(settings.SESSION_ENGINE)
    if settings.SESSION_ENGINE == DB_ENGINE and keys:
        store = engine.SessionStore()
        model = store.get_model_class()
        rows = model.objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
        return {row.session_key: store.decode(row.session_data) for row in rows}
    loaded = {key: engine.SessionStore(key).load() for key in keys}  # {} when gone or expired
    return {key: data for key, data in loaded.items() if data}


def _users(wanted: set[tuple[str | None, str]]) -> dict[tuple[str | None, str], AbstractBaseUser]:
    """The users each backend (None: no backend, just an active user) still returns for these pks."""
    found: dict[tuple[str | None, str], AbstractBaseUser] = {}
    model = get_user_model()
    for path in {path for path, _ in wanted}:
        pks = [pk for p, pk in wanted if p == path]
        backend = load_backend(path) if path else None
        if backend is None or type(backend).get_user is ModelBackend.get_user:
            # ModelBackend.get_user() for many users at once: the user, if the backend lets them log in.
            can = backend.user_can_authenticate if isinstance(backend, ModelBackend) else _is_active
            for user in model._default_manager.filter(pk__in=[model._meta.pk.to_python(pk) for pk in pks]):
                if can(user):
                    found[(path, str(user.pk))] = user
        else:
            for pk in pks:
                found_user = backend.get_user(pk)
                if found_user is not None:
                    found[(path, pk)] = found_user
    return found


def _is_active(user: AbstractBaseUser) -> bool:
    return getattr(user, "is_active", True)


def _hash_matches(user: AbstractBaseUser, session_hash: str | None) -> bool:
    if not session_hash:
        return False
    hashes = [user.get_session_auth_hash(), *getattr(user, "get_session_auth_fallback_hash", list)()]
    return any(constant_time_compare(session_hash, h) for h in hashes)
