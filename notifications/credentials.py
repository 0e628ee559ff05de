"""Whether the login an open socket was made with still holds, checked against the database now.

The socket's user came from its session at connect; afterwards the session may be deleted (logout on another
path, an admin clearing sessions), expire, or stop matching the user (password changed), and the user may be
deactivated by a queryset ``update()`` that sends no signal. Django's own ``get_user()`` rules, without its
side effects (a socket cannot set a cookie, so nothing is flushed or rotated here).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.utils.crypto import constant_time_compare


def login_holds(user_pk: Any, session_key: str | None, *, has_session: bool = True) -> bool:
    """True while ``session_key`` still logs in the user ``user_pk`` and that user may still log in.

    ``has_session=False`` is for sockets authenticated without a session (a project's own middleware):
    only the user is checked (exists, active).
    """
    if not has_session:
        user = get_user_model()._default_manager.filter(pk=user_pk).first()
        return user is not None and getattr(user, "is_active", True)
    if not session_key:
        return False
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key).load()  # {} if gone or expired
    backend_path = data.get(BACKEND_SESSION_KEY)
    if str(data.get(SESSION_KEY)) != str(user_pk) or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    user = load_backend(backend_path).get_user(user_pk)  # None for an inactive user (ModelBackend)
    if user is None:
        return False
    if not hasattr(user, "get_session_auth_hash"):
        return True
    session_hash = data.get(HASH_SESSION_KEY)
    if not session_hash:
        return False
    hashes = [user.get_session_auth_hash(), *getattr(user, "get_session_auth_fallback_hash", list)()]
    return any(constant_time_compare(session_hash, h) for h in hashes)
