"""A real-time notification bar for Django: stored, rendered once, pushed over Channels, swapped by htmx.

Public API (imported lazily, so ``import notifications`` works before the app registry is ready)::

    from notifications import notify, notify_subscribers, subscribe, mark_read_for
    notify(user, "Build 42 finished", level="success", url="/builds/42/")
    subscribe(user, ticket)
    notify_subscribers(ticket, "New comment", actor=request.user)   # every follower but the commenter
"""

from __future__ import annotations

from typing import TYPE_CHECKING

#: The release (pyproject.toml reads it from here; CHANGELOG.md says what each one brought).
__version__ = "0.2.0.dev0"

__all__ = [
    "aarchive",
    "adisconnect",
    "ais_subscribed",
    "amark_all_read",
    "amark_all_read_undoable",
    "amark_read",
    "amark_read_for",
    "amark_seen",
    "amark_unread",
    "amark_unread_many",
    "amute",
    "anotify",
    "anotify_all",
    "anotify_subscribers",
    "apush_state",
    "archive",
    "arecheck_logins",
    "arefresh_all",
    "aresolve",
    "arestore",
    "asend_digests",
    "asend_unread_emails",
    "asnooze",
    "asubscribe",
    "aunmute",
    "aunsubscribe",
    "disconnect",
    "get_preferences",
    "is_subscribed",
    "mark_all_read",
    "mark_all_read_undoable",
    "mark_read",
    "mark_read_about",
    "mark_read_for",
    "mark_seen",
    "mark_unread",
    "mark_unread_many",
    "mute",
    "notify",
    "notify_all",
    "notify_subscribers",
    "push_state",
    "recheck_logins",
    "refresh_all",
    "resolve",
    "restore",
    "save_choices",
    "send_digests",
    "send_unread_emails",
    "snooze",
    "subscribe",
    "unmute",
    "unsubscribe",
]

#: Names that live outside api.py, and their module.
_ELSEWHERE = {
    "amute": "store.preferences",
    "aunmute": "store.preferences",
    "get_preferences": "store.preferences",
    "mute": "store.preferences",
    "save_choices": "store.preferences",
    "unmute": "store.preferences",
    "send_digests": "mail.digests",
    "asend_digests": "mail.digests",
    "send_unread_emails": "mail.unread",
    "asend_unread_emails": "mail.unread",
    "subscribe": "store.subscriptions",
    "unsubscribe": "store.subscriptions",
    "is_subscribed": "store.subscriptions",
    "asubscribe": "store.subscriptions",
    "aunsubscribe": "store.subscriptions",
    "ais_subscribed": "store.subscriptions",
}

if TYPE_CHECKING:
    from .mail.digests import asend_digests, send_digests
    from .mail.unread import asend_unread_emails, send_unread_emails
    from .store.api import (
        aarchive,
        adisconnect,
        amark_all_read,
        amark_all_read_undoable,
        amark_read,
        amark_read_for,
        amark_seen,
        amark_unread,
        amark_unread_many,
        anotify,
        anotify_all,
        anotify_subscribers,
        apush_state,
        archive,
        arecheck_logins,
        arefresh_all,
        aresolve,
        arestore,
        asnooze,
        disconnect,
        mark_all_read,
        mark_all_read_undoable,
        mark_read,
        mark_read_about,
        mark_read_for,
        mark_seen,
        mark_unread,
        mark_unread_many,
        notify,
        notify_all,
        notify_subscribers,
        push_state,
        recheck_logins,
        refresh_all,
        resolve,
        restore,
        snooze,
    )
    from .store.preferences import amute, aunmute, get_preferences, mute, save_choices, unmute
    from .store.subscriptions import ais_subscribed, asubscribe, aunsubscribe, is_subscribed, subscribe, unsubscribe


def __getattr__(name: str) -> object:
    if name in __all__:
        from importlib import import_module

        return getattr(import_module(f".{_ELSEWHERE.get(name, 'store.api')}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
