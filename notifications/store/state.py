"""Reading what the bar shows from the database: the unread count and the latest items, per user."""

from __future__ import annotations

import datetime
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Min, Q, prefetch_related_objects

from .. import conf
from ..models import Notification, NotificationQuerySet, Subscription
from . import UserPk

T = TypeVar("T")

# Ids per IN (...) clause: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 2000
# Users per UNION ALL of their latest items (a power of two; SQLite allows 500 terms in a compound SELECT).
UNION = 32


@dataclass(frozen=True)
class State:
    """What one user's bar shows."""

    unread_count: int
    items: Sequence[Notification] = field(default_factory=list)
    user_pk: UserPk | None = field(default=None, compare=False)  # whose bar: part of the version
    badge: int = -1  # what the badge shows (BADGE_COUNTS: unseen, or unread); left out: the unread count
    wake_at: datetime.datetime | None = None  # when the user's next snoozed item comes back

    def __post_init__(self) -> None:
        if self.badge < 0:
            object.__setattr__(self, "badge", self.unread_count)

    @property
    def pks(self) -> list[int]:
        return [n.pk for n in self.items]

    @property
    def version(self) -> str:
        """A short digest of everything the bar shows for this user (the bar's ``ws-connect`` carries it).

        On connect the consumer sends the state only when the database's version differs from the page's. It
        covers the user (another user's version never matches), the unread count and every field an item
        shows, so any change between a page's render and its socket's connect sends the state.
        """
        parts = [repr(self.user_pk), str(self.unread_count), str(self.badge)]
        parts += (repr((n.pk, *n.shown())) for n in self.items)
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def chunks(ids: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def annotate(rows: Sequence[Notification]) -> Sequence[Notification]:
    """Ready loaded rows to be shown: their targets (one query per target model) and whether each recipient
    follows its target (one query); no query at all when none has a target."""
    about = [n for n in rows if n.target_id]
    if not about:
        return rows
    prefetch_related_objects(about, "target")
    users = {n.recipient_id for n in about}
    types = {n.target_type_id for n in about}
    ids = {n.target_id for n in about}
    found = Subscription.objects.filter(user_id__in=users, target_type_id__in=types, target_id__in=ids)
    follows = set(found.values_list("user_id", "target_type_id", "target_id"))
    for n in about:
        n.following = (n.recipient_id, n.target_type_id, n.target_id) in follows
    return rows


def load_state(user: AbstractBaseUser) -> State:
    """One user's bar (:func:`load_states` for one user)."""
    return load_states([user.pk])[user.pk]


def _counts(user_ids: Sequence[UserPk], rows: NotificationQuerySet) -> dict[UserPk, int]:
    counts = dict.fromkeys(user_ids, 0)
    for chunk in chunks(user_ids):
        counts.update(
            rows.filter(recipient_id__in=chunk).values_list("recipient_id").annotate(n=Count("id")).order_by()
        )
    return counts


def unread_counts(user_ids: Sequence[UserPk]) -> dict[UserPk, int]:
    """Unread count per user: one grouped query per :data:`CHUNK` users, never one per user."""
    return _counts(user_ids, Notification.objects.visible().awake().unread())


def badge_counts(user_ids: Sequence[UserPk]) -> dict[UserPk, int]:
    """What each user's badge shows (``BADGE_COUNTS``): one grouped query per :data:`CHUNK` users."""
    rows = Notification.objects.visible().awake()
    return _counts(user_ids, rows.unseen() if conf.get("BADGE_COUNTS") == "unseen" else rows.unread())


def unread_and_unseen_counts(user_ids: Sequence[UserPk]) -> tuple[dict[UserPk, int], dict[UserPk, int]]:
    """:func:`unread_counts`, and each user's unseen count (``BADGE_COUNTS = "unseen"``) with it: an unseen row is
    an unread one, so both come from one grouped read of the unread rows per :data:`CHUNK` users."""
    unread, unseen = dict.fromkeys(user_ids, 0), dict.fromkeys(user_ids, 0)
    rows = Notification.objects.visible().awake().unread()
    for chunk in chunks(user_ids):
        per_user = rows.filter(recipient_id__in=chunk).values("recipient_id").order_by()
        for row in per_user.annotate(n=Count("id"), unseen=Count("id", filter=Q(seen_at__isnull=True))):
            unread[row["recipient_id"]], unseen[row["recipient_id"]] = row["n"], row["unseen"]
    return unread, unseen


def wake_times(user_ids: Sequence[UserPk]) -> dict[UserPk, datetime.datetime]:
    """When each user's next snoozed item comes back (users with none are left out)."""
    found: dict[UserPk, datetime.datetime] = {}
    for chunk in chunks(user_ids):
        rows = Notification.objects.snoozed().active().filter(recipient_id__in=chunk)
        found.update(rows.values_list("recipient_id").annotate(at=Min("snoozed_until")).order_by())
    return found


def load_states(user_ids: Iterable[UserPk]) -> dict[UserPk, State]:
    """Many users' bars at once: :func:`latest_items`, the unread and badge counts and the next wake (a few
    grouped queries per chunk of users, never a query per user)."""
    ids = sorted(set(user_ids))
    items: dict[UserPk, list[Notification]] = defaultdict(list)
    for chunk in chunks(ids, UNION):
        for n in annotate(latest_items(chunk)):
            items[n.recipient_id].append(n)
    if conf.get("BADGE_COUNTS") == "unseen":
        unread, badges = unread_and_unseen_counts(ids)
    else:
        unread = badges = unread_counts(ids)
    wakes = wake_times(ids)
    return {
        pk: State(unread_count=unread[pk], items=items[pk], user_pk=pk, badge=badges[pk], wake_at=wakes.get(pk))
        for pk in ids
    }


def latest_items(user_ids: Sequence[UserPk]) -> list[Notification]:
    """Each user's latest ``BAR_SIZE`` active items, in one query: the indexed ``LIMIT`` read of
    :func:`load_state` once per user, joined by ``UNION ALL`` (a window function would rank every row a
    user has). Compiling a read costs ~0.3 ms, so it is compiled twice, not once per user: the parameters
    that differ between two users' reads are where each user's id goes."""
    latest = Notification.objects.visible().active().awake().order_by("-updated_at", "-id")
    size = conf.get("BAR_SIZE")
    if len(user_ids) < 2:
        return [n for pk in user_ids for n in latest.filter(recipient_id=pk)[:size]]
    sql, first = latest.filter(recipient_id=user_ids[0])[:size].query.sql_with_params()
    _, second = latest.filter(recipient_id=user_ids[1])[:size].query.sql_with_params()
    slots = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    recipient = Notification._meta.get_field("recipient")
    # As many parts as the next power of two (the last user read again): a few distinct statements, not one
    # per batch size, each of which SQLite's statement cache and psycopg's prepared statements would keep.
    parts = 1 << (len(user_ids) - 1).bit_length()
    params: list[Any] = []
    for pk in [*user_ids, *[user_ids[-1]] * (parts - len(user_ids))]:
        value = recipient.get_db_prep_value(pk, connection)
        params += [value if i in slots else param for i, param in enumerate(first)]
    union = " UNION ALL ".join(f"SELECT * FROM ({sql}) AS latest_{n}" for n in range(parts))
    rows = list({n.pk: n for n in Notification.objects.raw(union, params)}.values())
    rows.sort(key=lambda n: (n.updated_at, n.pk), reverse=True)  # a UNION's order is not its parts'
    return rows
