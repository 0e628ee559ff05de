"""Idempotent sends: ``notify(..., key=...)`` stores and pushes once per recipient and key within ``KEY_WINDOW``.

A key is claimed by inserting a :class:`~notifications.models.SentKey` row; the unique constraint on
(recipient, key) turns a second caller's insert into a no-op, also when both run at once (on PostgreSQL the
second insert waits for the first transaction, then finds the row). Each call marks its rows with a token of
its own and reads back which recipients it won: no read-then-write race.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.db.models import Case, When
from django.utils import timezone

from .. import conf
from ..models import Notification, SentKey
from . import UserPk
from .state import chunks


@dataclass
class Claim:
    """Which recipients a key lets through (``fresh``) and what it gave the others earlier (``earlier``)."""

    key: str
    token: str
    fresh: list[UserPk]
    earlier: dict[UserPk, Notification] = field(default_factory=dict)


def claim(user_ids: Sequence[UserPk], key: str, now: datetime.datetime) -> Claim:
    """Claim ``key`` for each of ``user_ids`` (call inside the transaction that stores the notifications)."""
    token = secrets.token_hex(16)
    expires = now + datetime.timedelta(seconds=conf.get("KEY_WINDOW"))
    won: set[UserPk] = set()
    for chunk in chunks(user_ids):
        SentKey.objects.filter(recipient_id__in=chunk, key=key, expires_at__lte=now).delete()
        SentKey.objects.bulk_create(
            [SentKey(recipient_id=pk, key=key, expires_at=expires, token=token) for pk in chunk],
            ignore_conflicts=True,
        )
        mine = SentKey.objects.filter(recipient_id__in=chunk, key=key, token=token)
        won.update(mine.values_list("recipient_id", flat=True))
    result = Claim(key=key, token=token, fresh=[pk for pk in user_ids if pk in won])
    others = [pk for pk in user_ids if pk not in won]
    for chunk in chunks(others):
        for sent in SentKey.objects.filter(recipient_id__in=chunk, key=key).select_related("notification"):
            if sent.notification is not None:
                result.earlier[sent.recipient_id] = sent.notification
    return result


def record(claimed: Claim, rows: Mapping[UserPk, Notification]) -> None:
    """Remember which notification each fresh key produced (what a repeated call returns)."""
    for chunk in chunks([pk for pk in claimed.fresh if pk in rows], 500):
        SentKey.objects.filter(recipient_id__in=chunk, key=claimed.key, token=claimed.token).update(
            notification_id=Case(*(When(recipient_id=pk, then=rows[pk].pk) for pk in chunk))
        )


def prune(now: datetime.datetime | None = None) -> int:
    """Delete expired keys (``prune_notifications`` calls it); returns how many."""
    deleted, _ = SentKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
