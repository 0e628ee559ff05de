"""Reading what the bar shows from the database: the unread count and the latest items, per user."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber

from . import conf
from .models import Notification

# Ids per IN (...) clause: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 2000


@dataclass(frozen=True)
class State:
    """What one user's bar shows."""

    unread_count: int
    items: Sequence[Notification] = field(default_factory=list)
    user_pk: Any = field(default=None, compare=False)  # whose bar: part of the version

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
        parts = [repr(self.user_pk), str(self.unread_count)]
        parts += (repr((n.pk, *n.shown())) for n in self.items)
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def load_state(user: Any) -> State:
    """One user's bar (two indexed queries)."""
    qs = Notification.objects.visible().filter(recipient_id=user.pk)
    return State(unread_count=qs.unread().count(), items=list(qs.active()[: conf.get("BAR_SIZE")]), user_pk=user.pk)


def unread_counts(user_ids: Sequence[int]) -> dict[int, int]:
    """Unread count per user: one grouped query per :data:`CHUNK` users, never one per user."""
    counts = dict.fromkeys(user_ids, 0)
    for chunk in chunks(user_ids):
        rows = (
            Notification.objects.visible()
            .unread()
            .filter(recipient_id__in=chunk)
            .values_list("recipient_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts.update(rows)
    return counts


def load_states(user_ids: Iterable[int]) -> dict[int, State]:
    """Many users' bars at once: the latest items via ROW_NUMBER() per user, plus :func:`unread_counts`."""
    ids = sorted(set(user_ids))
    size = conf.get("BAR_SIZE")
    items: dict[int, list[Notification]] = defaultdict(list)
    rank = Window(RowNumber(), partition_by=[F("recipient_id")], order_by=[F("updated_at").desc(), F("id").desc()])
    for chunk in chunks(ids):
        rows = (
            Notification.objects.visible()
            .active()
            .filter(recipient_id__in=chunk)
            .annotate(rank=rank)
            .filter(rank__lte=size)
            .order_by("recipient_id", "rank")
        )
        for n in rows:
            items[n.recipient_id].append(n)
    counts = unread_counts(ids)
    return {pk: State(unread_count=counts[pk], items=items[pk], user_pk=pk) for pk in ids}
