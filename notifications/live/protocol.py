"""The channel-layer protocol: group names, message types and their builders, close codes.

Group names carry a namespace that differs per deployment (derived from ``SECRET_KEY`` unless
``NOTIFICATIONS["NAMESPACE"]`` is set), because Redis pub/sub channels are global to a Redis server: two
projects on one Redis (any database number, default prefix) must never share a user's group.
"""

from __future__ import annotations

import datetime
import re
from functools import cache
from typing import Any, Final, Literal, NotRequired, TypedDict
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.crypto import salted_hmac

from .. import conf

# Close codes a browser can see. daphne (autobahn) sends only 1000 and 3000-4999, so they are 4xxx; htmx's ws
# extension does not reconnect after any of them. A server that goes away (a restart) is seen as 1006, sent by
# nobody, after which htmx reconnects with back-off.
CLOSE_UNAUTHENTICATED = 4401  # not logged in, logged out, session expired or deleted, password changed, deactivated
CLOSE_FRAME_TOO_LARGE = 4413  # a frame larger than MAX_FRAME_BYTES
CLOSE_UNSUPPORTED_DATA = 4415  # a binary frame: only text frames are understood
CLOSE_RATE_LIMITED = 4429  # more than ACTION_RATE_LIMIT actions from one user in ACTION_RATE_WINDOW seconds

# Message types (Channels maps "notification.push" to the consumer's notification_push handler).
PUSH: Final = "notification.push"  # one new item for a user: forwarded unless the tab's state holds it already
PUSHES: Final = "notification.pushes"  # one notify() to many users, to every process: each hands its sockets theirs
STATE: Final = "notification.state"  # a user's whole bar, after a change
CHANGE: Final = "notification.change"  # one item of a user's bar changed (read, dismissed)
COUNT: Final = "notification.count"  # the badge changed, nothing else (the panel was opened: seen)
CLOSE: Final = "notification.close"  # close the user's sockets (of one session, or all)
RECHECK: Final = "notification.recheck"  # re-check the login of the user's sockets now (the user row changed)
REFRESH: Final = "notification.refresh"  # every socket re-reads its bar
PROBE: Final = "notification.probe"  # a process's message to itself: the layer answers (see watchdog)


# The messages. Each is built by the function of its name below and read by the router (which socket gets it)
# and the consumer's handler of its type. ``user`` is the addressee's primary key as text: a process receives
# every user's messages on its one channel and hands each to that user's sockets.


class Push(TypedDict):
    type: Literal["notification.push"]
    user: str
    pk: int
    html: str
    count: int | None  # the unread count the frame shows: each tab adds its own title part


class Pushes(TypedDict):
    type: Literal["notification.pushes"]
    html: str  # the new-item frame with a stand-in id (rendering.fill_new_frame)
    counts: dict[str, str]  # the badge part per unread count
    items: dict[str, list[int]]  # per recipient: their item's pk and their unread count


class Focus(TypedDict):
    tab: str
    pk: int


class State(TypedDict):
    type: Literal["notification.state"]
    user: str
    pks: list[int]
    html: str
    count: int | None
    focus: NotRequired[Focus]
    wake: NotRequired[float]  # when the user's next snoozed item comes back (a POSIX timestamp)


class ChangeParts(TypedDict):
    """The rendered parts of one changed item's frame (``rendering.render_change_parts``)."""

    item: str  # the item itself
    count_html: str  # the badge
    tail_pk: int | None  # after a dismiss from a full bar: the item that moves up into it, and its part
    tail: str


class Change(ChangeParts):
    type: Literal["notification.change"]
    user: str
    pk: int
    pks: list[int]
    count: int


class Count(TypedDict):
    type: Literal["notification.count"]
    user: str
    html: str  # the badge part (and "Mark all read")
    count: int


class Close(TypedDict):
    type: Literal["notification.close"]
    user: str
    code: int
    session_key: str | None  # None: every session of the user


class Recheck(TypedDict):
    type: Literal["notification.recheck"]
    user: str


class Refresh(TypedDict):
    type: Literal["notification.refresh"]


class Probe(TypedDict):
    type: Literal["notification.probe"]
    n: int


#: A message for the sockets of one user.
UserMessage = Push | State | Change | Count | Close | Recheck
#: Anything sent over the channel layer.
Message = UserMessage | Pushes | Refresh | Probe

#: The header with which the bar's htmx requests name their tab (the bar's ``?tab=`` on its socket, too).
TAB_HEADER = "X-Notification-Tab"

_NAMESPACE_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def namespace() -> str:
    """This deployment's namespace: ``NOTIFICATIONS["NAMESPACE"]``, or a digest of ``SECRET_KEY``; then the
    Redis database number of the channel layer, when it is not 0.

    Redis pub/sub channels are global to a server, whatever database a client selected; a database number in
    ``REDIS_URL`` is an operator's way of saying "keep apart" (a staging copy of production with the same key and
    user ids on ``/1``), so it separates the groups too.
    """
    base = conf.get("NAMESPACE") or _digest(settings.SECRET_KEY)
    return base + "".join(f"-db{number}" for number in _databases())


@cache
def _databases() -> tuple[int, ...]:
    """The non-zero Redis database numbers the channel layer's hosts name (a URL's path or ``?db=``, a host
    dict's ``db``, a Sentinel entry's too); read once, again when ``CHANNEL_LAYERS`` changes."""
    layers = getattr(settings, "CHANNEL_LAYERS", {})
    hosts = layers.get("default", {}).get("CONFIG", {}).get("hosts", [])
    numbers = set()
    for host in hosts:
        address = host.get("address", "") if isinstance(host, dict) else host
        if isinstance(host, dict) and str(host.get("db", "")).isdigit():
            numbers.add(int(host["db"]))
        if isinstance(address, str) and "://" in address:
            parts = urlsplit(address)
            path, query = parts.path.strip("/"), parse_qs(parts.query).get("db", [""])[0]
            for value in (path, query):
                if value.isdigit():
                    numbers.add(int(value))
    return tuple(sorted(n for n in numbers if n))


@cache
def _digest(secret_key: str) -> str:
    # One-way: a group name shows nothing of the key. Rotating the key moves the namespace (see the README).
    digest = salted_hmac("notifications.live.protocol.namespace", "groups", secret=secret_key, algorithm="sha256")
    return digest.hexdigest()[:12]


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "CHANNEL_LAYERS":
        _databases.cache_clear()


_TAB_CHARS = re.compile(r"^[A-Za-z0-9_-]{8,32}$")


def valid_tab(value: object) -> bool:
    """A tab's name as the bar makes them (``secrets.token_urlsafe``), not anything a client could send."""
    return isinstance(value, str) and bool(_TAB_CHARS.match(value))


def valid_namespace(value: object) -> bool:
    return isinstance(value, str) and bool(_NAMESPACE_CHARS.match(value))


def user_group(user_pk: object) -> str:
    """The group holding every open socket (tab, device) of one user."""
    return f"notifications.{namespace()}.user.{user_pk}"


def broadcast_group() -> str:
    """The group of every server process (its watchdog): messages for every socket, and :func:`pushes`."""
    return f"notifications.{namespace()}.all"


def push(user_pk: object, pk: int, html: str, count: int | None = None) -> Push:
    """A new item's frame; ``count`` (the unread count it shows) lets each tab add its title part."""
    return {"type": PUSH, "user": str(user_pk), "pk": pk, "html": html, "count": count}


def pushes(html: str, count_parts: dict[int, str], items: dict[Any, tuple[int, int]]) -> Pushes:
    """One notify() to many users as one message to every process, instead of one per user: the new-item frame
    with a stand-in id (``html``, see ``rendering.fill_new_frame``), the count part per unread count, and per
    recipient the id of their item and their unread count. A process hands each socket only its own user's
    frame; the shared frame is the same for every recipient (one notify(), one content)."""
    return {
        "type": PUSHES,
        "html": html,
        "counts": {str(count): part for count, part in count_parts.items()},
        "items": {str(user_pk): [pk, count] for user_pk, (pk, count) in items.items()},
    }


def state(
    user_pk: object,
    pks: list[int],
    html: str,
    count: int | None = None,
    focus: tuple[str, int] | None = None,
    *,
    wake_at: datetime.datetime | None = None,
) -> State:
    """A user's whole bar; ``focus`` (a tab's name, an item's pk): that tab acted on that item, and gets its
    keyboard focus back on it; ``wake_at``: when the user's next snoozed item comes back (every process with
    a socket of the user wakes it then)."""
    message: State = {"type": STATE, "user": str(user_pk), "pks": pks, "html": html, "count": count}
    if focus is not None:
        message["focus"] = {"tab": focus[0], "pk": focus[1]}
    if wake_at is not None:
        message["wake"] = wake_at.timestamp()
    return message


def change(user_pk: object, pk: int, pks: list[int], count: int, parts: ChangeParts) -> Change:
    """One item changed: ``parts`` holds its frame part, the badge part and, after a dismiss, the item that
    moves up into the bar."""
    return {"type": CHANGE, "user": str(user_pk), "pk": pk, "pks": pks, "count": count, **parts}


def count(user_pk: object, html: str, count: int) -> Count:
    """Only the badge changed (what an open panel showed is seen now): no list to touch in any tab."""
    return {"type": COUNT, "user": str(user_pk), "html": html, "count": count}


def close(user_pk: object, session_key: str | None, code: int = CLOSE_UNAUTHENTICATED) -> Close:
    return {"type": CLOSE, "user": str(user_pk), "code": code, "session_key": session_key}


def recheck(user_pk: object) -> Recheck:
    return {"type": RECHECK, "user": str(user_pk)}


def refresh() -> Refresh:
    return {"type": REFRESH}


def probe(n: int) -> Probe:
    return {"type": PROBE, "n": n}
