from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from demo.models import Ticket
from notifications import subscribe

DEMO_USERS = {"alice": "alice", "bob": "bob"}


class Command(BaseCommand):
    help = (
        "Create (or reset) the demo users alice/alice and bob/bob and a ticket both follow, or the given "
        "NAME:PASSWORD users."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("users", nargs="*", metavar="NAME:PASSWORD")

    def handle(self, *args: Any, users: list[str], **options: Any) -> None:
        wanted = dict(u.split(":", 1) for u in users) if users else DEMO_USERS
        User = get_user_model()
        for name, password in wanted.items():
            user, _ = User.objects.get_or_create(username=name)
            user.set_password(password)
            user.is_active = True
            user.save()
            self.stdout.write(f"{name} / {password}")
        if not users:  # the demo itself: a ticket both follow, so a comment from one reaches the other
            ticket, _ = Ticket.objects.get_or_create(title="Welcome: comment here and watch the other user's bar")
            for user in User.objects.filter(username__in=DEMO_USERS):
                subscribe(user, ticket)
            self.stdout.write(f"ticket {ticket.get_absolute_url()}, followed by {', '.join(DEMO_USERS)}")
