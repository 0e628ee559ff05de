"""The notify API: store first; the push (rendered frames) follows the commit, off the caller's path (``delivery``).

Sync functions are for views, signals, management commands and workers; each has an ``a``-prefixed twin for
async code. A push that fails loses nothing: the rows are the truth and every socket re-reads them on connect.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, ParamSpec, TypedDict, TypeVar, Unpack, cast, overload

from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import conf
from ..live import delivery, protocol, pushes
from ..models import Level, Notification, ref
from . import UserPk, keys, preferences, subscriptions
from .kinds import get_kind
from .readers import Reader, readers
from .state import chunks
from .validation import clean_actions, clean_choice, clean_object, clean_params, clean_text, clean_url, parse_pk

P = ParamSpec("P")
R = TypeVar("R")
#: A user's primary key: an int for Django's User, whatever the project's user model uses otherwise.
Recipients = AbstractBaseUser | QuerySet[AbstractBaseUser] | Iterable[AbstractBaseUser]


class Fields(TypedDict, total=False):
    """What :func:`~notifications.notify` takes besides the recipients and the message."""

    level: str
    title: str
    url: str
    actions: Iterable[Mapping[str, str]] | None
    group_key: str
    actor: str | Model | None
    kind: str
    target: Model | None
    key: str
    params: Mapping[str, Any] | None


@overload
def notify(recipients: AbstractBaseUser, message: str = "", **fields: Unpack[Fields]) -> Notification: ...
@overload
def notify(
    recipients: QuerySet[AbstractBaseUser] | Iterable[AbstractBaseUser], message: str = "", **fields: Unpack[Fields]
) -> list[Notification]: ...


def notify(
    recipients: Recipients,
    message: str = "",
    *,
    level: str = "",
    title: str = "",
    url: str = "",
    actions: Iterable[Mapping[str, str]] | None = None,
    group_key: str = "",
    actor: str | Model | None = None,
    kind: str = "",
    target: Model | None = None,
    key: str = "",
    params: Mapping[str, Any] | None = None,
) -> Notification | list[Notification]:
    """Store a notification for one user (returns it) or for many (returns the list), then push it live.

    ``message`` is free text shown as given; leave it out when ``kind`` declares a ``message`` template, which
    is rendered in each reader's language with ``params`` (and ``{actor}``, ``{target}``). ``level`` is info,
    success, warning or error; ``url`` must be relative or on an allowed host; ``actions`` are buttons
    (``{"label", "url"}``) that POST to your URLs. ``target`` is the model instance it is about: the item shows
    its current name and links to its ``get_absolute_url()`` when no ``url`` is given. ``actor`` is who did it
    (a user, any model instance, or a name). A non-empty ``group_key`` collapses this notification into the
    recipient's unread one with the same key, which counts up ("alice and 3 others ..."). ``key`` makes the
    call idempotent: the same key for the same recipient within ``KEY_WINDOW`` stores and pushes nothing and
    returns what the first call stored. ``kind`` names one of ``NOTIFICATIONS["KINDS"]`` (any short string
    works): a declared kind gives the default level and grouping, and recipients who turned it off for the bar
    (or muted everything) get the row stored muted: not pushed, not counted. Raises ``ValueError``/``TypeError``
    on bad input, before storing. When the database cannot be reached (or restarts during the call), Django's
    ``OperationalError`` (a ``DatabaseError``) reaches the caller, naming what failed, and nothing is stored for
    any recipient: the rows are written in one transaction. Retrying is safe with ``key``.
    """
    fields = _clean(
        message,
        level=level,
        title=title,
        url=url,
        actions=actions,
        group_key=group_key,
        actor=actor,
        kind=kind,
        target=target,
        key=key,
        params=params,
    )
    if isinstance(recipients, AbstractBaseUser):
        return _store([_saved_pk(recipients)], fields)[0]
    if isinstance(recipients, QuerySet):
        ids = list(recipients.values_list("pk", flat=True))
    else:
        ids = [_saved_pk(user) for user in recipients]
    return _store(list(dict.fromkeys(ids)), fields)


def notify_subscribers(obj: Model, message: str = "", **fields: Unpack[Fields]) -> list[Notification]:
    """Notify everyone who follows ``obj`` (see :func:`subscribe`), except the ``actor`` when it is a user,
    about ``obj``: one bulk write and one render per distinct frame. Same fields as :func:`notify`."""
    if fields.get("target") is not None:
        raise TypeError("notify_subscribers() takes the target as its first argument, not target=")
    fields["target"] = obj
    cleaned = _clean(message, **fields)
    ids = subscriptions.followers(obj).order_by("user_id").values_list("user_id", flat=True)
    actor = fields.get("actor")
    if isinstance(actor, AbstractBaseUser):
        ids = ids.exclude(user_id=actor.pk)
    return _store(list(ids), cleaned, following=True)


def notify_all(message: str = "", **fields: Unpack[Fields]) -> list[Notification]:
    """Notify every active user (one bulk insert, one push per user's group). Same fields as :func:`notify`."""
    users = get_user_model()._default_manager.filter(is_active=True).order_by("pk")
    return notify(users, message, **fields)


def mark_read(user: AbstractBaseUser, pk: object) -> bool:
    """Mark one of ``user``'s notifications read. False (and nothing changes) unless it is theirs and unread."""
    now = timezone.now()
    return _change(user, pk, Notification.objects.unread(), read_at=now, seen_at=Coalesce("seen_at", Value(now)))


def archive(user: AbstractBaseUser, pk: object) -> bool:
    """Dismiss one of ``user``'s notifications (it leaves the bar, stays in history). Dismissed means read."""
    now = timezone.now()
    return _change(user, pk, Notification.objects.active(), archived_at=now, read_at=Coalesce("read_at", Value(now)))


def mark_unread(user: AbstractBaseUser, pk: object) -> bool:
    """Mark one of ``user``'s read notifications unread again (and unseen: the badge counts it again)."""
    changed = _update(user, pk, Notification.objects.read().active(), read_at=None, seen_at=None)
    if changed:
        push_state(user)
    return changed


def restore(user: AbstractBaseUser, pk: object) -> bool:
    """Bring one of ``user``'s archived notifications back into the bar (read, as it was archived)."""
    changed = _update(user, pk, Notification.objects.archived(), archived_at=None)
    if changed:
        push_state(user)
    return changed


def snooze(user: AbstractBaseUser, pk: object, until: datetime.datetime | str) -> bool:
    """Take one of ``user``'s notifications out of the bar until ``until``.

    ``until``: an aware time to come, or a name of :data:`~notifications.store.preferences.SNOOZE_CHOICES` in the
    user's time zone. It comes back then as new (unread, unseen, on top) in every open tab, without a page
    load: each server process wakes its users' snoozes itself."""
    if isinstance(until, str):
        until = preferences.snooze_until(until, readers([_user_pk(user)])[_user_pk(user)].time_zone)
    if timezone.is_naive(until) or until <= timezone.now():
        raise ValueError("a snooze must end at an aware time still to come")
    start = Notification.objects.active()
    changed = _update(user, pk, start, snoozed_until=until, updated_at=until, read_at=None, seen_at=None)
    if changed:
        push_state(user)
    return changed


def mark_seen(user: AbstractBaseUser, pks: Iterable[object]) -> int:
    """Mark those of ``pks`` (what an open panel shows) seen, if they are ``user``'s; every tab's badge follows."""
    ids = [pk for pk in (parse_pk(value) for value in list(pks)[:MAX_SEEN]) if pk is not None]
    if not ids:
        return 0
    changed = Notification.objects.filter(recipient_id=user.pk, pk__in=ids).unseen().update(seen_at=timezone.now())
    if changed:  # only the badge: the open panel's list (its "just now", the keyboard focus in it) stays as it is
        delivery.after_commit(partial(pushes.count, _user_pk(user)))
    return changed


#: Most items one "seen" marks (a panel shows BAR_SIZE, plus what "Load more" added).
MAX_SEEN = 500


def mark_all_read(user: AbstractBaseUser) -> int:
    """Mark all of ``user``'s notifications read; returns how many changed."""
    changed = Notification.objects.filter(recipient_id=user.pk).unread().update(read_at=timezone.now())
    if changed:
        push_state(user)
    return changed


#: Most items one Undo of "Mark all read" (or one :func:`mark_unread_many`) brings back: the newest ones.
MAX_UNDO = 500


def mark_all_read_undoable(user: AbstractBaseUser, *, tab: str = "") -> list[int]:
    """:func:`mark_all_read`, telling every tab what changed with an Undo (see :func:`mark_unread_many`).

    Returns the ids it marked read (the newest ``MAX_UNDO`` (500) of them), which is what the Undo brings back.
    ``tab``: the acting tab's name (``acting_tab(request)``), whose keyboard focus goes on to the first item.
    """
    unread = Notification.objects.filter(recipient_id=user.pk).unread()
    ids = list(unread.order_by("-updated_at", "-id").values_list("pk", flat=True)[:MAX_UNDO])
    if not ids:
        return []
    # Every unread row, as mark_all_read does; the Undo names the newest MAX_UNDO of them.
    changed = unread.update(read_at=timezone.now())
    if changed:
        first = _first_in_bar(user)
        focus = (tab, first) if protocol.valid_tab(tab) and first is not None else None
        delivery.after_commit(partial(pushes.states, [_user_pk(user)], focus))
        push_outcome(user, "read_all", ids, total=changed)
    return ids


def mark_unread_many(user: AbstractBaseUser, pks: Iterable[object]) -> int:
    """Mark those of ``pks`` (at most ``MAX_UNDO`` (500)) that are ``user``'s, read and not archived, unread and
    unseen again: the Undo of "Mark all read". Every tab shows the new state and says what was undone."""
    ids = [pk for pk in (parse_pk(value) for value in list(pks)[:MAX_UNDO]) if pk is not None]
    if not ids:
        return 0
    start = Notification.objects.filter(recipient_id=user.pk, pk__in=ids).read().active()
    changed = start.update(read_at=None, seen_at=None)
    if changed:
        push_state(user)
        push_outcome(user, "unread", [], total=changed)
    return changed


def push_outcome(user: AbstractBaseUser | int, outcome: str, pks: Sequence[int], *, total: int = 0) -> None:
    """After the commit, tell every tab of ``user`` what an action did, in the panel's announced outcome
    (``outcome``: one of ``rendering.OUTCOMES``; ``pks``: the items it names or undoes)."""
    delivery.after_commit(partial(pushes.outcome, _user_pk(user), outcome, list(pks), total or len(pks)))


def _first_in_bar(user: AbstractBaseUser) -> int | None:
    """The id of the first item of ``user``'s bar (where the focus goes on after "Mark all read")."""
    rows = Notification.objects.filter(recipient_id=user.pk).visible().active().awake()
    return rows.order_by("-updated_at", "-id").values_list("pk", flat=True).first()


def resolve(notification: Notification, outcome: str, *, tab: str = "") -> bool:
    """Answer a notification's actions once: ``outcome`` ("Approved") replaces its buttons in every tab.

    Call it from the view an action posts to. False, and nothing changes, when it was answered already (a
    second click, another tab, another device): refuse that request. Resolving also marks it read. Pass the
    answering tab's name (``notifications.web.views.acting_tab(request)``): that tab then keeps the keyboard focus
    on the item (its button is gone).
    """
    outcome = clean_text(outcome, field="outcome", max_length=200, required=True)
    now = timezone.now()
    changed = (
        Notification.objects.filter(pk=notification.pk, resolution="").update(
            resolution=outcome, read_at=Coalesce("read_at", Value(now))
        )
        > 0
    )
    if changed:
        notification.resolution = outcome
        focus = (tab, notification.pk) if protocol.valid_tab(tab) else None
        delivery.after_commit(partial(pushes.states, [notification.recipient_id], focus))
    return changed


def mark_read_for(user: AbstractBaseUser, obj: Model) -> int:
    """Mark ``user``'s notifications about ``obj`` read (the page of ``obj`` calls it); returns how many.

    One query when nothing is unread; every open tab of ``user`` follows when something changed.
    """
    content_type, pk = subscriptions.target_ref(obj)
    return _mark_read_about(user, content_type, pk)


def mark_read_about(user: AbstractBaseUser, model: type[Model], pk: object) -> int:
    """:func:`mark_read_for` by the object's model and primary key, without loading it."""
    return _mark_read_about(user, ContentType.objects.get_for_model(model), str(pk))


def _mark_read_about(user: AbstractBaseUser, content_type: ContentType, pk: str) -> int:
    if not getattr(user, "is_authenticated", False):  # AnonymousUser on a public page
        return 0
    about = Notification.objects.filter(recipient_id=user.pk, target_type=content_type, target_id=pk)
    changed = about.unread().update(read_at=timezone.now())
    if changed:
        push_state(user)
    return changed


def open_notification(user: AbstractBaseUser, pk: object) -> Notification | None:
    """Mark read and return the notification whose link the user follows, or None if it is not theirs."""
    pk = parse_pk(pk)
    notification = Notification.objects.filter(recipient_id=user.pk, pk=pk).first() if pk else None
    if notification is not None:
        mark_read(user, pk)
    return notification


def push_state(user: AbstractBaseUser | int) -> None:
    """After the transaction commits, send ``user``'s whole current bar to all of their tabs."""
    delivery.after_commit(partial(pushes.states, [_user_pk(user)]))


def refresh_all() -> None:
    """Ask every open socket to re-read its bar (after bulk changes made outside this API, e.g. pruning)."""
    delivery.after_commit(partial(pushes.to_everyone, protocol.refresh()))


def disconnect(
    user: AbstractBaseUser | int, *, session_key: str | None = None, code: int = protocol.CLOSE_UNAUTHENTICATED
) -> None:
    """Close ``user``'s open sockets (only those of ``session_key`` when given), e.g. on logout."""
    _send_on_commit(protocol.close(_user_pk(user), session_key, code))


def recheck_logins(user: AbstractBaseUser | int) -> None:
    """Make ``user``'s open sockets check their login now (done for you whenever the user is saved).

    Sockets also re-check every ``SESSION_CHECK_INTERVAL`` seconds and before every action, which covers
    changes no signal reports (a queryset ``update()``, deleted or expired sessions).
    """
    _send_on_commit(protocol.recheck(_user_pk(user)))


# Async twins. database_sync_to_async (not plain sync_to_async) closes the worker thread's stale connections
# around each call, as long-lived async processes (consumers, workers) need.


def _in_thread(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    return cast("Callable[P, Awaitable[R]]", database_sync_to_async(func))


@overload
async def anotify(recipients: AbstractBaseUser, message: str = "", **fields: Unpack[Fields]) -> Notification: ...
@overload
async def anotify(
    recipients: QuerySet[AbstractBaseUser] | Iterable[AbstractBaseUser], message: str = "", **fields: Unpack[Fields]
) -> list[Notification]: ...


async def anotify(
    recipients: Recipients, message: str = "", **fields: Unpack[Fields]
) -> Notification | list[Notification]:
    """Async :func:`notify`."""
    return await _in_thread(notify)(recipients, message, **fields)


async def anotify_subscribers(obj: Model, message: str = "", **fields: Unpack[Fields]) -> list[Notification]:
    """Async :func:`notify_subscribers`."""
    return await _in_thread(notify_subscribers)(obj, message, **fields)


async def amark_read_for(user: AbstractBaseUser, obj: Model) -> int:
    """Async :func:`mark_read_for`."""
    return await _in_thread(mark_read_for)(user, obj)


async def anotify_all(message: str = "", **fields: Unpack[Fields]) -> list[Notification]:
    """Async :func:`notify_all`."""
    return await _in_thread(notify_all)(message, **fields)


async def amark_read(user: AbstractBaseUser, pk: object) -> bool:
    """Async :func:`mark_read`."""
    return await _in_thread(mark_read)(user, pk)


async def aarchive(user: AbstractBaseUser, pk: object) -> bool:
    """Async :func:`archive`."""
    return await _in_thread(archive)(user, pk)


async def amark_unread(user: AbstractBaseUser, pk: object) -> bool:
    """Async :func:`mark_unread`."""
    return await _in_thread(mark_unread)(user, pk)


async def arestore(user: AbstractBaseUser, pk: object) -> bool:
    """Async :func:`restore`."""
    return await _in_thread(restore)(user, pk)


async def asnooze(user: AbstractBaseUser, pk: object, until: datetime.datetime | str) -> bool:
    """Async :func:`snooze`."""
    return await _in_thread(snooze)(user, pk, until)


async def amark_seen(user: AbstractBaseUser, pks: Iterable[object]) -> int:
    """Async :func:`mark_seen`."""
    return await _in_thread(mark_seen)(user, pks)


async def amark_all_read(user: AbstractBaseUser) -> int:
    """Async :func:`mark_all_read`."""
    return await _in_thread(mark_all_read)(user)


async def amark_all_read_undoable(user: AbstractBaseUser, *, tab: str = "") -> list[int]:
    """Async :func:`mark_all_read_undoable`."""
    return await _in_thread(mark_all_read_undoable)(user, tab=tab)


async def amark_unread_many(user: AbstractBaseUser, pks: Iterable[object]) -> int:
    """Async :func:`mark_unread_many`."""
    return await _in_thread(mark_unread_many)(user, pks)


async def aresolve(notification: Notification, outcome: str, *, tab: str = "") -> bool:
    """Async :func:`resolve`."""
    return await _in_thread(resolve)(notification, outcome, tab=tab)


async def apush_state(user: AbstractBaseUser | int) -> None:
    """Async :func:`push_state`."""
    await _in_thread(push_state)(user)


async def arefresh_all() -> None:
    """Async :func:`refresh_all`."""
    await _in_thread(refresh_all)()


async def adisconnect(
    user: AbstractBaseUser | int, *, session_key: str | None = None, code: int = protocol.CLOSE_UNAUTHENTICATED
) -> None:
    """Async :func:`disconnect`."""
    await _in_thread(disconnect)(user, session_key=session_key, code=code)


async def arecheck_logins(user: AbstractBaseUser | int) -> None:
    """Async :func:`recheck_logins`."""
    await _in_thread(recheck_logins)(user)


# Internals ------------------------------------------------------------------------------------------------


def _saved_pk(user: object) -> UserPk:
    if not isinstance(user, AbstractBaseUser):
        raise TypeError(f"recipients must be users (or a queryset of users), not {type(user).__name__}")
    if user.pk is None:
        raise ValueError("cannot notify an unsaved user")
    pk: UserPk = user.pk  # an int, a UUID or a str at run time: whatever the project's user model uses
    return pk


def _user_pk(user: AbstractBaseUser | int) -> UserPk:
    return user if isinstance(user, int) and not isinstance(user, bool) else _saved_pk(user)


def _send_on_commit(message: protocol.UserMessage) -> None:
    """Send ``message`` to all of its user's sockets once the transaction commits."""
    delivery.after_commit(partial(pushes.to_user, message))


def _clean(
    message: str,
    *,
    level: str = "",
    title: str = "",
    url: str = "",
    actions: Iterable[Mapping[str, str]] | None = None,
    group_key: str = "",
    actor: str | Model | None = None,
    kind: str = "",
    target: Model | None = None,
    key: str = "",
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every field checked and turned into column values, before anything is stored."""
    the_kind = get_kind(clean_text(kind, field="kind", max_length=50))
    fields: dict[str, Any] = {
        "kind": the_kind.name,
        "message": clean_text(
            message, field="message", max_length=conf.get("MAX_MESSAGE_LENGTH"), required=not the_kind.message
        ),
        "level": clean_choice(level or the_kind.level, field="level", choices=Level.values),
        "title": clean_text(title, field="title", max_length=conf.get("MAX_TITLE_LENGTH")),
        "url": clean_url(url),
        "actions": clean_actions(actions),
        "params": clean_params(params),
        "key": clean_text(key, field="key", max_length=200),
        "target_type": None,
        "target_id": "",
        "target_name": "",
        "actor_type": None,
        "actor_id": "",
        "actor_name": "",
    }
    if target is not None:
        fields["target_type"], fields["target_id"] = subscriptions.target_ref(target)
        fields["target_name"] = str(target)[:200]
        fields["target"] = target
    if isinstance(actor, Model):
        fields["actor_type"], fields["actor_id"] = ref(clean_object(actor, field="actor"))
        fields["actor_name"] = str(actor)[:150]
    elif actor is not None:
        fields["actor_name"] = clean_text(actor, field="actor", max_length=150)
    group = clean_text(group_key, field="group_key", max_length=200)
    fields["group_key"] = group or the_kind.group_key(fields["url"], fields["target_type"], fields["target_id"])
    return fields


def _store(user_ids: Sequence[UserPk], fields: dict[str, Any], *, following: bool | None = None) -> list[Notification]:
    """Insert (or count up grouped) rows for ``user_ids``; schedule the push for after the commit.

    Recipients who muted the kind get their row stored with ``muted=True`` and no push: the decision is taken
    here, once, so the bar's reads only filter on a column. ``following``: whether the recipients follow the
    target (known to :func:`notify_subscribers`; else looked up when there is a target).
    """
    key = fields.pop("key")
    rows = preferences.load(user_ids)  # one read serves the mute decision and the readers' languages
    muted = preferences.muted_recipients(user_ids, fields["kind"], rows)
    who = readers(user_ids, rows)
    by_user: dict[UserPk, Notification] = {}
    with transaction.atomic():
        claimed = keys.claim(user_ids, key, timezone.now()) if key else None
        fresh = claimed.fresh if claimed else user_ids
        if following is None and fields["target_type"] is not None:
            followers = subscriptions.following_among(fresh, fields["target_type"].pk, fields["target_id"])
        else:
            followers = set(fresh) if following else set()
        for is_muted in (False, True):
            part = [pk for pk in fresh if (pk in muted) is is_muted]
            if part:
                stored = _store_part(part, {**fields, "muted": is_muted}, followers, who)
                by_user.update((n.recipient_id, n) for n in stored)
        if claimed:
            keys.record(claimed, by_user)
            by_user.update(claimed.earlier)
    return [by_user[pk] for pk in user_ids if pk in by_user]


def _store_part(
    user_ids: Sequence[UserPk], fields: dict[str, Any], followers: set[UserPk], who: Mapping[UserPk, Reader]
) -> list[Notification]:
    fields = dict(fields)
    actor_name = fields.pop("actor_name")
    target = fields.pop("target", None)
    now = timezone.now()
    grouped: list[Notification] = []
    if fields["group_key"]:
        grouped = _count_up_groups(user_ids, fields, actor_name, now)
    done = {n.recipient_id for n in grouped}
    created = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=pk, actors=[actor_name] if actor_name else [], created_at=now, updated_at=now, **fields
            )
            for pk in user_ids
            if pk not in done
        ],
        batch_size=1000,
    )
    for n in [*created, *grouped]:
        n.following = n.recipient_id in followers
        if target is not None:  # the item shows the target's name: no query per row to load it again
            n.target = target
            n.target_id = fields["target_id"]
    if not fields["muted"]:
        delivery.after_commit(partial(pushes.new_items, created, who))
        if grouped:
            delivery.after_commit(partial(pushes.states, [n.recipient_id for n in grouped]))
    return [*created, *grouped]


#: What a notification that joins a group changes in the group's row.
_GROUP_UPDATES = ("message", "level", "title", "url", "actions", "params", "target_type", "target_id", "target_name")


def _count_up_groups(
    user_ids: Sequence[UserPk], fields: dict[str, Any], actor: str, now: datetime.datetime
) -> list[Notification]:
    """Fold the new notification into each recipient's open (unread, not dismissed) group with its key."""
    found: list[Notification] = []
    for chunk in chunks(user_ids):
        found += (
            Notification.objects.select_for_update()
            .unread()
            .active()
            .filter(recipient_id__in=chunk, group_key=fields["group_key"], muted=fields["muted"])
            .order_by("recipient_id", "-updated_at")
        )
    latest: dict[UserPk, Notification] = {}
    for n in found:
        latest.setdefault(n.recipient_id, n)
    for n in latest.values():
        for name in _GROUP_UPDATES:
            setattr(n, name, fields[name])
        n.group_count += 1
        if actor:
            n.actors = [actor, *(a for a in n.actors if a != actor)][:50]
        n.actor_type, n.actor_id = fields["actor_type"], fields["actor_id"]
        n.updated_at = now
    Notification.objects.bulk_update(
        latest.values(), [*_GROUP_UPDATES, "group_count", "actors", "actor_type", "actor_id", "updated_at"]
    )
    return list(latest.values())


def _change(user: AbstractBaseUser, pk: object, start: QuerySet[Notification], **values: Any) -> bool:
    """:func:`_update`, then push only the changed item (and the badge) to the user's tabs."""
    parsed = parse_pk(pk)
    if parsed is None or not _update(user, parsed, start, **values):
        return False
    delivery.after_commit(partial(pushes.change, user.pk, parsed))
    return True


def _update(user: AbstractBaseUser, pk: object, start: QuerySet[Notification], **values: Any) -> bool:
    """Update one of ``user``'s rows if it is still in ``start`` (the state the change starts from).

    Someone else's id, an unknown id and a malformed id all give False and change nothing.
    """
    pk = parse_pk(pk)
    if pk is None:
        return False
    return start.filter(recipient_id=user.pk, pk=pk).update(**values) > 0
