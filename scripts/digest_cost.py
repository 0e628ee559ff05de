"""Measure send_digests for N users (default 10,000), 3 unread notifications each: queries and seconds.

    .venv/bin/python scripts/digest_cost.py [--users 10000] [--smtp]

Uses a fresh SQLite file (or DATABASE_URL, which it fills: point it at a throwaway database). Mail goes to
Django's in-memory backend, or with --smtp to a real aiosmtpd process (Sink handler) over a socket.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "site")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--smtp", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/digests.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo.settings"
    smtp = None
    if args.smtp:
        from testing.processes import free_port, wait_for_port

        port = free_port()
        smtp = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"]
        )
        wait_for_port(port, proc=smtp)
        os.environ["EMAIL_PORT"] = str(port)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.utils import timezone

    from notifications import notify
    from notifications.mail.digests import send_digests
    from notifications.models import Notification

    call_command("migrate", verbosity=0)
    model = get_user_model()
    model.objects.bulk_create(
        [model(username=f"user{i}", email=f"user{i}@example.test") for i in range(args.users)], batch_size=2000
    )
    users = list(model.objects.all())
    for n in range(3):
        notify(users, f"Notification {n}: something happened", kind="comment", url=f"/things/{n}/")
    Notification.objects.update(created_at=timezone.now() - datetime.timedelta(hours=2))

    mail = {} if args.smtp else {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    if not args.smtp and django.VERSION >= (6, 1):
        mail = {"MAILERS": {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}}
    with override_settings(**mail), CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = send_digests()
        seconds = time.perf_counter() - started
    again = send_digests()
    vendor = connection.vendor
    print(
        f"{args.users} users, {result.emails} digests, {result.notifications} notifications, "
        f"{len(queries)} queries, {seconds:.1f}s ({vendor}, {'SMTP to aiosmtpd' if args.smtp else 'locmem mail'}, "
        f"Django {django.get_version()}); second run sent {again.emails}"
    )
    if smtp is not None:
        smtp.terminate()
        smtp.wait(10)


if __name__ == "__main__":
    main()
