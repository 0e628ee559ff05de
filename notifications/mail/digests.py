"""The email digest: each user's unread, un-emailed notifications older than ``DIGEST_DELAY``, in one email.

Safe on several hosts at once: rows are *claimed* (``emailed_at`` set) in a short transaction before anything is
sent, and a row is only claimed while ``emailed_at IS NULL``. Two hosts take turns at each claim, and the second
finds nothing left of what the first took: on PostgreSQL the claim reads with ``SELECT ... FOR UPDATE``, in one
order, and a row another host holds is waited for, then read again; on SQLite the transaction takes the
database's write lock before it reads. (Not ``SKIP LOCKED``: it hands out single rows, so two hosts racing
through the same users could split one user's rows and send that user two emails.) The wait is one claim's
transaction, not the sending: the sending happens after it. A row a
user may not receive by email (kind not emailable, turned off, digest off, no address) is claimed too, so it is
never looked at again. Sending is at most once: a send that fails gives its rows back for the next run.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import mail as mail_module
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .. import conf
from ..models import Notification, NotificationQuerySet, Preferences
from ..store import UserPk
from ..store.kinds import get_kind
from ..store.preferences import email_enabled
from ..store.readers import Reader, reader_of
from ..store.state import annotate, chunks

logger = logging.getLogger(__name__)

SUBJECT_TEMPLATE = "notifications/email/digest_subject.txt"
TEXT_TEMPLATE = "notifications/email/digest.txt"
HTML_TEMPLATE = "notifications/email/digest.html"
UNSUBSCRIBE_SALT = "notifications.unsubscribe"
#: Users claimed per transaction: few queries per run, short locks.
BATCH = 200


@dataclass
class Result:
    """What one run did."""

    emails: int = 0
    notifications: int = 0
    skipped: int = 0
    #: :func:`~notifications.send_digests` only: the emails of the unread pass it runs first
    #: (:func:`~notifications.send_unread_emails`).
    unread_emails: int = 0


def unsubscribe_token(user_pk: UserPk) -> str:
    """A signed, timestamped token naming ``user_pk``: the unsubscribe link needs no session."""
    return signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).sign(str(user_pk))


def user_pk_from_token(token: str) -> str | None:
    """The user pk a token names, or None when it is forged, altered or older than UNSUBSCRIBE_MAX_AGE_DAYS."""
    max_age = datetime.timedelta(days=conf.get("UNSUBSCRIBE_MAX_AGE_DAYS"))
    try:
        return str(signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).unsign(token, max_age=max_age))
    except signing.BadSignature:
        return None


def unsubscribe_url(user_pk: UserPk) -> str:
    base: str = conf.get("BASE_URL")
    return urljoin(base, reverse("notifications:unsubscribe", args=[unsubscribe_token(user_pk)]))


def due(now: datetime.datetime | None = None) -> NotificationQuerySet:
    """Rows waiting for a digest: unread, not dismissed, never emailed, older than the delay."""
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=conf.get("DIGEST_DELAY"))
    return Notification.objects.filter(
        read_at__isnull=True, archived_at__isnull=True, emailed_at__isnull=True, created_at__lte=cutoff
    )


def claim(user_ids: Sequence[UserPk], now: datetime.datetime) -> dict[UserPk, list[Notification]]:
    """Mark the due rows of ``user_ids`` emailed and return them per user; rows another host holds are skipped."""
    return claim_rows(due(now).filter(recipient_id__in=user_ids), now)


def claim_rows(rows: QuerySet[Notification], now: datetime.datetime) -> dict[UserPk, list[Notification]]:
    """Mark ``rows`` emailed and return them per user, waiting for rows another host holds (it takes them, and
    they are no longer due when read again): what makes an email go out once across hosts (the digest's, and
    the still-unread email's), with each user's rows in one email."""
    with transaction.atomic():
        if db_connection.features.has_select_for_update:
            # One lock order for every host (the ORDER BY below), so two claims never deadlock.
            rows = rows.select_for_update()
        else:
            # SQLite: a write takes the database's write lock now, before the read, so a second host waits here
            # and then reads the rows already claimed (no lock upgrade, no "database is locked" halfway).
            # (pk=0 matches nothing; an empty pk__in would be skipped by Django without reaching the database.)
            Notification.objects.filter(pk=0).update(emailed_at=now)
        found = list(rows.order_by("recipient_id", "created_at", "id"))
        Notification.objects.filter(pk__in=[n.pk for n in found]).update(emailed_at=now)
    per_user: dict[UserPk, list[Notification]] = defaultdict(list)
    for n in found:
        per_user[n.recipient_id].append(n)
    return per_user


def build_message(
    user: AbstractBaseUser, notifications: Sequence[Notification], *, reader: Reader
) -> EmailMultiAlternatives:
    """One user's digest: subject, plain text and HTML from overridable templates, RFC 8058 headers; in
    ``reader``'s language and time zone (what was active before stays so)."""
    with reader.active():
        return _build_message(user, notifications)


def _build_message(user: AbstractBaseUser, notifications: Sequence[Notification]) -> EmailMultiAlternatives:
    limit = conf.get("DIGEST_MAX_ITEMS")
    for n in notifications:
        # Links in an email must be absolute; an absolute url (an allowed host) stays as it is.
        n.absolute_url = urljoin(conf.get("BASE_URL"), n.link) if n.link else ""  # type: ignore[attr-defined]
    link = unsubscribe_url(user.pk)
    context = {
        "user": user,
        "notifications": notifications[:limit],
        "count": len(notifications),
        "more": max(len(notifications) - limit, 0),
        "unsubscribe_url": link,
        "base_url": conf.get("BASE_URL"),
        "history_url": urljoin(conf.get("BASE_URL"), reverse("notifications:history")),
        "preferences_url": urljoin(conf.get("BASE_URL"), reverse("notifications:preferences")),
    }
    subject = " ".join(render_to_string(SUBJECT_TEMPLATE, context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(TEXT_TEMPLATE, context),
        from_email=conf.get("DIGEST_FROM_EMAIL") or settings.DEFAULT_FROM_EMAIL,
        to=[str(getattr(user, "email", ""))],  # the sender skips a user without one
        headers={"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(render_to_string(HTML_TEMPLATE, context), "text/html")
    return message


def send_digests(now: datetime.datetime | None = None) -> Result:
    """Email every user their digest; idempotent (a second run right after sends nothing).

    First it sends the notifications whose kind asks for an email when still unread
    (:func:`~notifications.send_unread_emails`, counted in ``unread_emails``); the digest never repeats them."""
    from .unread import send_unread_emails

    now = now or timezone.now()
    result = Result(unread_emails=send_unread_emails(now).emails)
    user_ids = sorted(set(due(now).values_list("recipient_id", flat=True).order_by()))
    users_model = get_user_model()
    mail = _mail_connection()
    with mail:
        for batch in chunks(user_ids, BATCH):
            per_user = claim(batch, now)
            if not per_user:
                continue
            annotate([n for rows in per_user.values() for n in rows])  # their targets' current names
            users = users_model._default_manager.in_bulk(list(per_user))
            prefs = Preferences.objects.in_bulk(list(per_user))
            for pk, rows in per_user.items():
                user = users.get(pk)
                choice = prefs.get(pk) or Preferences(user_id=pk)
                wanted = [n for n in rows if email_enabled(choice, get_kind(n.kind))]
                address = getattr(user, "email", "")
                if user is None or not wanted or not address or not getattr(user, "is_active", True):
                    result.skipped += 1
                    continue
                try:
                    message = build_message(user, wanted, reader=reader_of(choice))
                    mail.send_messages([message])
                except Exception:
                    # At most once, but not never: give the rows back so the next run tries again.
                    logger.exception("Digest for user %s failed; its notifications stay due", pk)
                    Notification.objects.filter(pk__in=[n.pk for n in rows], emailed_at=now).update(emailed_at=None)
                    continue
                result.emails += 1
                result.notifications += len(wanted)
    return result


def _mail_connection() -> BaseEmailBackend:
    """The default mailer: ``mailers.default`` from Django 6.1 (MAILERS), ``get_connection()`` before."""
    mailers = getattr(mail_module, "mailers", None)
    return mailers.default if mailers is not None else mail_module.get_connection()


async def asend_digests(now: datetime.datetime | None = None) -> Result:
    """Async :func:`send_digests`."""
    from channels.db import database_sync_to_async

    result: Result = await database_sync_to_async(send_digests)(now)
    return result
