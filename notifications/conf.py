"""The app's settings: one namespaced ``NOTIFICATIONS`` dict, read lazily, with documented defaults.

Modelled on django-debug-toolbar's settings module: ``get("KEY")`` merges the project's
``settings.NOTIFICATIONS`` over :data:`DEFAULTS`, and the cache is dropped on ``setting_changed``
so ``override_settings`` works in tests.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # Items rendered in the bar (on page load, on every (re)connect, after every state change).
    "BAR_SIZE": 10,
    # What the badge (and the tab title's "(N)") counts: "unseen" (what no open panel has shown yet; opening the
    # panel clears it in every tab) or "unread" (every unread item, until each is read).
    "BADGE_COUNTS": "unseen",
    # Items per page on the history page (/notifications/).
    "PAGE_SIZE": 20,
    # Longest message accepted by notify(); longer input raises ValueError.
    "MAX_MESSAGE_LENGTH": 1000,
    # Longest title accepted by notify().
    "MAX_TITLE_LENGTH": 200,
    # prune_notifications deletes read notifications older than this many days.
    "RETENTION_DAYS": 90,
    # Path the bar's ws-connect points at; must match the route you include (notifications.routing).
    "WEBSOCKET_PATH": "/ws/notifications/",
    # When the channel layer fails during a push, log it (False) or raise (True). The row is stored either way.
    # True also pushes on the caller's thread, after the commit, instead of the process's outbox thread.
    "RAISE_PUSH_ERRORS": False,
    # Largest text frame the consumer accepts from a browser, in bytes; larger frames close the socket.
    "MAX_FRAME_BYTES": 4096,
    # Actions (mark read, dismiss...) a user's sockets may send per ACTION_RATE_WINDOW seconds, counted across
    # every server process in the channel layer's Redis (in each process alone with the in-memory layer, or
    # while Redis does not answer); the socket that goes over is closed.
    "ACTION_RATE_LIMIT": 30,
    "ACTION_RATE_WINDOW": 10,
    # Hosts an absolute notification url (or action url) may point at; relative urls are always allowed.
    "ALLOWED_URL_HOSTS": [],
    # Prefix of this deployment's channel-layer groups. None: derived from SECRET_KEY, so two projects sharing
    # one Redis never share a group. Set it (letters, digits, - and _) to keep it fixed across key rotation.
    "NAMESPACE": None,
    # Seconds between re-checks of each open socket's login (session still there and unexpired, same user,
    # still active, password unchanged). Actions are checked every time; a user's save re-checks at once.
    "SESSION_CHECK_INTERVAL": 15,
    # Seconds between probes of the channel layer. After an outage every open socket re-reads its bar.
    "LAYER_CHECK_INTERVAL": 2,
    # Longest a push may wait on the channel layer (a Redis that accepts connections but never answers).
    "PUSH_TIMEOUT": 3,
    # Seconds between the small heartbeat frames each server process sends its open sockets. A bar that gets
    # no frame for 2.5 times this shows "Reconnecting…" and fetches itself again (a new socket at once).
    # 0 turns heartbeats, the indicator and the quick reconnect off.
    "HEARTBEAT_INTERVAL": 15,
    # The template the history page extends: your site's layout, with a {% block content %} (and a
    # {% block title %}). The default is a bare page with the bar.
    "BASE_TEMPLATE": "notifications/base.html",
    # Notification kinds: {"comment": {"label": "Comments", "level": "info", "template": "partials/...",
    # "group_by": None | "kind" | "url" | "target", "email": True, "bar_default": True, "email_default": True,
    # "tab": False (True: a tab of its own on the history page)}, ...}.
    # Every key of a kind is optional; see notifications/store/kinds.py and the documentation (docs/howto/kinds.md).
    "KINDS": {},
    # send_digests emails unread, un-emailed notifications at least this many seconds old.
    "DIGEST_DELAY": 3600,
    # Most notifications listed in one digest (the rest are counted, and claimed, all the same).
    "DIGEST_MAX_ITEMS": 50,
    # Sender of digests; None: settings.DEFAULT_FROM_EMAIL.
    "DIGEST_FROM_EMAIL": None,
    # Scheme and host put in front of the links in emails (no request there to build them from).
    "BASE_URL": "http://localhost:8000",
    # Models that may not be a notification's target or be followed, as "app_label.ModelName" (e.g. a model
    # whose name should never appear in a notification); notify() and subscribe() raise ValueError.
    "DENIED_TARGET_MODELS": [],
    # Seconds a notify(..., key=...) keeps its key: the same key for the same recipient within it stores and
    # pushes nothing (a retried task, a double-clicked form).
    "KEY_WINDOW": 24 * 3600,
    # Days an unsubscribe link keeps working.
    "UNSUBSCRIBE_MAX_AGE_DAYS": 90,
}


@cache
def _merged() -> dict[str, Any]:
    user = getattr(settings, "NOTIFICATIONS", {})
    unknown = set(user) - set(DEFAULTS)
    if unknown:
        # Also reported by the notifications.E003 system check; raising here keeps typos from passing silently.
        raise KeyError(f"Unknown NOTIFICATIONS setting(s): {', '.join(sorted(unknown))}")
    return {**DEFAULTS, **user}


def get(name: str) -> Any:
    """Return the value of ``NOTIFICATIONS[name]``, or its default."""
    return _merged()[name]


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "NOTIFICATIONS":
        _merged.cache_clear()
