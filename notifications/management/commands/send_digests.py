"""``manage.py send_digests``: email each user their due digest (cron-friendly, safe on several hosts at once)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.mail.digests import send_digests
from notifications.mail.unread import delays, send_unread_emails


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        """Translated when asked for (``--help``), in the language active then."""
        return _(
            "Email each user their unread, un-emailed notifications older than NOTIFICATIONS['DIGEST_DELAY'] "
            "seconds, after the notifications whose kind asks for an email when still unread (email_unread_after). "
            "Idempotent and safe to run from several hosts at once (run it from cron, e.g. hourly)."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--unread-only",
            action="store_true",
            help=_(
                "Send only the emails of notifications still unread after their kind's email_unread_after, no "
                "digest (run it more often than the digest when those delays are short)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        if options["unread_only"]:
            sent = send_unread_emails().emails
            message = ngettext(
                "Sent %(emails)d email about notifications still unread; %(seconds).2fs.",
                "Sent %(emails)d emails about notifications still unread; %(seconds).2fs.",
                sent,
            )
            self.stdout.write(message % {"emails": sent, "seconds": time.perf_counter() - started})
            return
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
        if delays():  # some kind asks for an email when still unread: those went first
            sent = result.unread_emails
            message = ngettext(
                "Before the digests: %(emails)d email about notifications still unread.",
                "Before the digests: %(emails)d emails about notifications still unread.",
                sent,
            )
            self.stdout.write(message % {"emails": sent})
