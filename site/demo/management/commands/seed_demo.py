from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

DEMO_USERS = {"alice": "alice", "bob": "bob"}


class Command(BaseCommand):
    help = "Create (or reset) the demo users alice/alice and bob/bob, or the given NAME:PASSWORD users."

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
