"""``manage.py notify``: send a notification from a shell, cron or deploy script."""

from __future__ import annotations

from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications import api
from notifications.models import Level


class Command(BaseCommand):
    help = "Send a notification to one user (by username) or, with --all, to every active user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", help="Recipient's username (omit with --all).")
        parser.add_argument("message")
        parser.add_argument("--all", action="store_true", help="Notify every active user.")
        parser.add_argument("--level", choices=Level.values, default="", help="Default: the kind's level, else info.")
        parser.add_argument("--title", default="")
        parser.add_argument("--url", default="", help="A relative URL (or one on NOTIFICATIONS['ALLOWED_URL_HOSTS']).")
        parser.add_argument("--group-key", default="", help="Collapse into the unread item with this key.")
        parser.add_argument("--kind", default="", help="A kind of NOTIFICATIONS['KINDS'] (preferences apply).")
        parser.add_argument("--actor", default="", help="Who did it, for grouped items ('alice and 2 others').")

    def handle(self, *args: Any, username: str | None, message: str, **options: Any) -> None:
        if options["all"] == bool(username):
            raise CommandError("Give a username or --all (not both).")
        fields = {name: options[name] for name in ("level", "title", "url", "group_key", "actor", "kind")}
        try:
            if options["all"]:
                count = len(api.notify_all(message, **fields))
                who = f"{count} active user(s)"
            else:
                user = self._user(username)
                api.notify(user, message, **fields)
                who = str(username)
        except (ValueError, TypeError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Stored a notification for {who}."))
        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            self.stderr.write(
                self.style.WARNING(
                    "The in-memory channel layer cannot reach the server's sockets from this process: "
                    "open pages show it when they reconnect or reload. Set REDIS_URL for live delivery."
                )
            )

    def _user(self, username: str | None) -> Any:
        User = get_user_model()
        try:
            return User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
