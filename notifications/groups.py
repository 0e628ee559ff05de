"""The one place that names channel-layer groups."""

from __future__ import annotations

#: Every connected socket joins this group: frames meant for every user alike (e.g. closing all sockets).
BROADCAST = "notifications.broadcast"


def user_group(user_pk: object) -> str:
    """The group holding every open socket (tab, device) of one user."""
    return f"notifications.user.{user_pk}"
