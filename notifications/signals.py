"""Close sockets that must not stay open: on logout (that session's tabs) and on deactivation (all)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver

from . import api


@receiver(user_logged_out)
def close_sockets_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        session = getattr(request, "session", None)
        api.disconnect(user, session_key=getattr(session, "session_key", None) or "")


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def close_sockets_on_deactivation(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created and not instance.is_active:
        api.disconnect(instance)
