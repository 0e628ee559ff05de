"""The digest as a Django 6 task (``django.tasks``): ``send_digests_task.enqueue()`` from a view or a scheduler.

On Django < 6 this module defines nothing; use ``python manage.py send_digests`` from cron there.
"""

from __future__ import annotations

import django

if django.VERSION >= (6, 0):
    from django.tasks import task

    @task
    def send_digests_task() -> dict[str, int]:
        """Run :func:`notifications.mail.digests.send_digests`; returns what it did (JSON-serialisable for backends)."""
        from .digests import send_digests

        result = send_digests()
        return {"emails": result.emails, "notifications": result.notifications, "skipped": result.skipped}
