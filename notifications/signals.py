"""Close sockets that must not stay open: on logout (that session's tabs) and when the user row changes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

from .store import api


@receiver(user_logged_out)
def close_sockets_on_logout(
    sender: type[object], request: HttpRequest | None, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    # Channels' logout(scope) sends request=None, and user=None (sender: NoneType) for an anonymous scope.
    if user is not None:
        session = getattr(request, "session", None)
        api.disconnect(user, session_key=getattr(session, "session_key", None) or "")


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def recheck_sockets_on_user_change(
    sender: type[AbstractBaseUser],
    instance: AbstractBaseUser,
    created: bool,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    """A saved user may be deactivated or have a new password: their sockets check their login at once."""
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return  # a new user has no sockets; logging in changes nothing a socket relies on
    api.recheck_logins(instance)
