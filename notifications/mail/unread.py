"""Email when still unread: a kind's ``email_unread_after`` seconds after a notification arrived, if its recipient
has neither read nor dismissed it, they get it by email, once.

The delay counts from the item's last activity (``updated_at``): when it arrived, when a grouped item last
collected another notification ("alice and 3 others"), or when a snooze brought it back as new.

A kind asks for it in settings (``NOTIFICATIONS["KINDS"]["invite"] = {"email_unread_after": 3600}``). It runs
first in every :func:`~notifications.mail.digests.send_digests` run (so ``manage.py send_digests`` on the
operator's existing schedule sends these too, before the digest), or on its own with
``manage.py send_digests --unread-only`` (e.g. every few minutes, for short delays) or :func:`send_unread_emails`.

The same rules and the same guarantees as the digest, whose templates, unsubscribe link and claim it shares:

- A row is due while it is unread, not dismissed, not snoozed, never emailed, not stored muted and older than
  its kind's delay, and its recipient has not muted everything right now (a muted user's rows wait: they are
  emailed once the mute is over if still unread, unless the digest has taken them meanwhile).
- Claimed (``emailed_at`` set) in a short transaction before anything is sent: two hosts never both send a row,
  and the digest never sends it again. A row its user may not receive by email (the kind's email off, the digest
  unsubscribed, no address, an inactive user) is claimed too, and never looked at again.
- One email per user per run, holding every row of theirs due then, in the reader's language and time zone.
  A send that fails gives its rows back for the next run.

A row of a kind whose delay is longer than ``DIGEST_DELAY`` goes out in the digest first (once, either way).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from ..models import Notification, NotificationQuerySet, Preferences
from ..store import UserPk
from ..store.kinds import all_kinds, get_kind
from ..store.preferences import email_enabled
from ..store.readers import reader_of
from ..store.state import annotate, chunks
from . import digests
from .digests import BATCH, Result, _mail_connection, build_message

logger = logging.getLogger(__name__)


def delays() -> dict[str, int]:
    """Each declared kind that asks for an email when still unread, with its delay in seconds."""
    return {name: kind.email_unread_after for name, kind in all_kinds().items() if kind.email_unread_after}


def due_unread(now: datetime.datetime | None = None) -> NotificationQuerySet:
    """Rows waiting for their unread email (none, without a query, when no kind asks for one)."""
    now = now or timezone.now()
    waits = delays()
    if not waits:
        return Notification.objects.none()
    old_enough = Q()
    for name, seconds in waits.items():
        cutoff = now - datetime.timedelta(seconds=seconds)
        # created_at <= updated_at always: the created_at test adds nothing but lets the database use the digest's
        # small partial index (unread, never emailed) instead of reading every row.
        old_enough |= Q(kind=name, updated_at__lte=cutoff, created_at__lte=cutoff)
    muted_now = Preferences.objects.filter(muted_until__gt=now).values("user_id")
    return (
        Notification.objects.filter(
            old_enough, read_at__isnull=True, archived_at__isnull=True, emailed_at__isnull=True, muted=False
        )
        .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
        .exclude(recipient_id__in=muted_now)
    )


def claim_unread(user_ids: Sequence[UserPk], now: datetime.datetime) -> dict[UserPk, list[Notification]]:
    """Mark the due rows of ``user_ids`` emailed and return them per user; rows another host holds are skipped
    (:func:`~notifications.mail.digests.claim_rows`, on this pass's rows)."""
    return digests.claim_rows(due_unread(now).filter(recipient_id__in=user_ids), now)


def send_unread_emails(now: datetime.datetime | None = None) -> Result:
    """Email every user their notifications still unread after their kind's ``email_unread_after``; idempotent
    and safe on several hosts at once. :func:`~notifications.send_digests` runs it first."""
    now = now or timezone.now()
    result = Result()
    user_ids = sorted(set(due_unread(now).values_list("recipient_id", flat=True).order_by()))
    if not user_ids:
        return result
    users_model = get_user_model()
    mail = _mail_connection()
    with mail:
        for batch in chunks(user_ids, BATCH):
            per_user = claim_unread(batch, now)
            if not per_user:
                continue
            annotate([n for rows in per_user.values() for n in rows])  # their targets' current names
            users = users_model._default_manager.in_bulk(list(per_user))
            prefs = Preferences.objects.in_bulk(list(per_user))
            for pk, rows in per_user.items():
                user = users.get(pk)
                choice = prefs.get(pk) or Preferences(user_id=pk)
                wanted = [n for n in rows if email_enabled(choice, get_kind(n.kind))]
                if user is None or not wanted or not getattr(user, "email", "") or not user.is_active:
                    result.skipped += 1
                    continue
                try:
                    message = build_message(user, wanted, reader=reader_of(choice))
                    mail.send_messages([message])
                except Exception:
                    # At most once, but not never: give the rows back so the next run tries again.
                    logger.exception("Unread email for user %s failed; its notifications stay due", pk)
                    Notification.objects.filter(pk__in=[n.pk for n in rows], emailed_at=now).update(emailed_at=None)
                    continue
                result.emails += 1
                result.notifications += len(wanted)
    return result


async def asend_unread_emails(now: datetime.datetime | None = None) -> Result:
    """Async :func:`send_unread_emails`."""
    from channels.db import database_sync_to_async

    result: Result = await database_sync_to_async(send_unread_emails)(now)
    return result
