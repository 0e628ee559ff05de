"""A real-time notification bar for Django: stored, rendered once, pushed over Channels, swapped by htmx.

Public API (imported lazily, so ``import notifications`` works before the app registry is ready)::

    from notifications import notify, anotify, notify_all, anotify_all
    notify(user, "Build 42 finished", level="success", url="/builds/42/")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "aarchive",
    "adisconnect",
    "amark_all_read",
    "amark_read",
    "amute",
    "anotify",
    "anotify_all",
    "apush_state",
    "archive",
    "arecheck_logins",
    "arefresh_all",
    "aresolve",
    "asend_digests",
    "aunmute",
    "disconnect",
    "get_preferences",
    "mark_all_read",
    "mark_read",
    "mute",
    "notify",
    "notify_all",
    "push_state",
    "recheck_logins",
    "refresh_all",
    "resolve",
    "save_choices",
    "send_digests",
    "unmute",
]

#: Names that live outside api.py, and their module.
_ELSEWHERE = {
    "amute": "preferences",
    "aunmute": "preferences",
    "get_preferences": "preferences",
    "mute": "preferences",
    "save_choices": "preferences",
    "unmute": "preferences",
    "send_digests": "digests",
    "asend_digests": "digests",
}

if TYPE_CHECKING:
    from .api import (
        aarchive,
        adisconnect,
        amark_all_read,
        amark_read,
        anotify,
        anotify_all,
        apush_state,
        archive,
        arecheck_logins,
        arefresh_all,
        aresolve,
        disconnect,
        mark_all_read,
        mark_read,
        notify,
        notify_all,
        push_state,
        recheck_logins,
        refresh_all,
        resolve,
    )
    from .digests import asend_digests, send_digests
    from .preferences import amute, aunmute, get_preferences, mute, save_choices, unmute


def __getattr__(name: str) -> Any:
    if name in __all__:
        from importlib import import_module

        return getattr(import_module(f".{_ELSEWHERE.get(name, 'api')}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
