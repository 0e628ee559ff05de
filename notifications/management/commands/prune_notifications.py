"""``manage.py prune_notifications``: delete read notifications older than ``RETENTION_DAYS``, expired send
keys, and subscriptions whose object was deleted where no process was watching it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import conf
from notifications.models import Notification
from notifications.store import api, keys, subscriptions


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        """Translated when asked for (``--help``), in the language active then."""
        return _("Delete read notifications older than NOTIFICATIONS['RETENTION_DAYS'] days (run it daily from cron).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help=_("Override RETENTION_DAYS for this run."))
        parser.add_argument("--dry-run", action="store_true", help=_("Count, delete nothing."))

    def handle(self, *args: Any, days: int | None, dry_run: bool, **options: Any) -> None:
        days = conf.get("RETENTION_DAYS") if days is None else days
        if days < 0:
            raise ValueError("--days must be 0 or more")
        old = Notification.objects.read().filter(read_at__lt=timezone.now() - timedelta(days=days))
        if dry_run:
            # Translators: two counts in one line: word it so that it is right for any number of either.
            message = _("Would delete %(count)d read notification(s) older than %(days)d day(s).")
            self.stdout.write(message % {"count": old.count(), "days": days})
            return
        _total, per_model = old.delete()  # the total counts the rows that went with them (their keys)
        deleted = per_model.get(Notification._meta.label, 0)
        if deleted:
            api.refresh_all()
        keys_gone, follows_gone = keys.prune(), subscriptions.prune_orphans()
        # Translators: two counts in one line: word it so that it is right for any number of either.
        cleaned = _("Removed %(keys)d expired send key(s) and %(follows)d subscription(s) to deleted objects.")
        self.stdout.write(cleaned % {"keys": keys_gone, "follows": follows_gone})
        # Translators: two counts in one line: word it so that it is right for any number of either.
        message = _("Deleted %(count)d read notification(s) older than %(days)d day(s).")
        self.stdout.write(message % {"count": deleted, "days": days})
