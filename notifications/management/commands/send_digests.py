"""``manage.py send_digests``: email each user their due digest (cron-friendly, safe on several hosts at once)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from notifications.mail.digests import send_digests


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        """Translated when asked for (``--help``), in the language active then."""
        return _(
            "Email each user their unread, un-emailed notifications older than NOTIFICATIONS['DIGEST_DELAY'] "
            "seconds. Idempotent and safe to run from several hosts at once (run it from cron, e.g. hourly)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        result = send_digests()
        # Translators: several counts in one line: word it so that it is right for any number of each
        # (e.g. "label: number"); %(seconds).2f is the run's duration in seconds.
        message = _(
            "Sent %(emails)d digest(s) with %(notifications)d notification(s); "
            "%(skipped)d user(s) skipped by preference; %(seconds).2fs."
        )
        self.stdout.write(
            message
            % {
                "emails": result.emails,
                "notifications": result.notifications,
                "skipped": result.skipped,
                "seconds": time.perf_counter() - started,
            }
        )
