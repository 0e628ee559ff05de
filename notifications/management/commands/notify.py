"""``manage.py notify``: send a notification from a shell, cron or deploy script."""

from __future__ import annotations

from typing import Any

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from notifications.models import Level
from notifications.store import api


class Command(BaseCommand):
    @property
    def help(self) -> str:  # type: ignore[override]
        """Translated when asked for (``--help``), in the language active then."""
        return _("Send a notification to one user (by username) or, with --all, to every active user.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", help=_("Recipient's username (omit with --all)."))
        parser.add_argument("message", help=_("The notification's text."))
        parser.add_argument("--all", action="store_true", help=_("Notify every active user."))
        parser.add_argument(
            "--level", choices=Level.values, default="", help=_("Default: the kind's level, else info.")
        )
        parser.add_argument("--title", default="", help=_("A title shown above the message."))
        parser.add_argument(
            "--url", default="", help=_("A relative URL (or one on NOTIFICATIONS['ALLOWED_URL_HOSTS']).")
        )
        parser.add_argument("--group-key", default="", help=_("Collapse into the unread item with this key."))
        parser.add_argument("--kind", default="", help=_("A kind of NOTIFICATIONS['KINDS'] (preferences apply)."))
        parser.add_argument("--actor", default="", help=_("Who did it, for grouped items ('alice and 2 others')."))

    def handle(self, *args: Any, username: str | None, message: str, **options: Any) -> None:
        if options["all"] == bool(username):
            raise CommandError(_("Give a username or --all (not both)."))
        fields = {name: options[name] for name in ("level", "title", "url", "group_key", "actor", "kind")}
        try:
            if options["all"]:
                count = len(api.notify_all(message, **fields))
                # Translators: the English keeps the count-neutral "user(s)" that scripts match; give your
                # language's proper forms.
                done = ngettext(
                    "Stored a notification for %(count)d active user(s).",
                    "Stored a notification for %(count)d active user(s).",
                    count,
                ) % {"count": count}
            else:
                user = self._user(username)
                api.notify(user, message, **fields)
                done = _("Stored a notification for %(username)s.") % {"username": username}
        except (ValueError, TypeError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(done))
        if isinstance(get_channel_layer(), InMemoryChannelLayer):
            self.stderr.write(
                self.style.WARNING(
                    _(
                        "The in-memory channel layer cannot reach the server's sockets from this process: "
                        "open pages show it when they reconnect or reload. Set REDIS_URL for live delivery."
                    )
                )
            )

    def _user(self, username: str | None) -> AbstractBaseUser:
        User = get_user_model()
        try:
            return User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(_("No user named %(username)s.") % {"username": repr(username)}) from None
