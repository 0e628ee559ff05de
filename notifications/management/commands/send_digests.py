"""``manage.py send_digests``: email each user their due digest (cron-friendly, safe on several hosts at once)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from notifications.digests import send_digests


class Command(BaseCommand):
    help = (
        "Email each user their unread, un-emailed notifications older than NOTIFICATIONS['DIGEST_DELAY'] "
        "seconds. Idempotent and safe to run from several hosts at once (run it from cron, e.g. hourly)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        result = send_digests()
        self.stdout.write(
            f"Sent {result.emails} digest(s) with {result.notifications} notification(s); "
            f"{result.skipped} user(s) skipped by preference; {time.perf_counter() - started:.2f}s."
        )
