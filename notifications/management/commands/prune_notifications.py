"""``manage.py prune_notifications``: delete read notifications older than ``RETENTION_DAYS``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from notifications import api, conf
from notifications.models import Notification


class Command(BaseCommand):
    help = "Delete read notifications older than NOTIFICATIONS['RETENTION_DAYS'] days (run it daily from cron)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="Override RETENTION_DAYS for this run.")
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args: Any, days: int | None, dry_run: bool, **options: Any) -> None:
        days = conf.get("RETENTION_DAYS") if days is None else days
        if days < 0:
            raise ValueError("--days must be 0 or more")
        old = Notification.objects.read().filter(read_at__lt=timezone.now() - timedelta(days=days))
        if dry_run:
            self.stdout.write(f"Would delete {old.count()} read notification(s) older than {days} day(s).")
            return
        deleted, _ = old.delete()
        if deleted:
            api.refresh_all()
        self.stdout.write(f"Deleted {deleted} read notification(s) older than {days} day(s).")
