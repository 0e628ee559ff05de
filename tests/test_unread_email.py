"""Email when still unread (``email_unread_after``): once after the delay, never when read, dismissed, off for
email or muted, once across hosts, and never again in the digest."""

from __future__ import annotations

import contextlib
import datetime
import io
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import django
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from notifications import archive, mark_read, mute, notify, save_choices, send_digests, send_unread_emails
from notifications.mail.unread import due_unread
from notifications.models import Notification, Preferences
from testing.checks import check_ids
from testing.html import text_of
from testing.smtp import SMTPServer

ROOT = Path(__file__).resolve().parent.parent
KINDS = {
    "invite": {"label": "Invitations", "email_unread_after": 600},  # 10 minutes
    "alert": {"label": "Alerts", "email_unread_after": 60, "email_default": False},
    "comment": {"label": "Comments"},  # the digest only
}
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SMTPServer]:
    backend = "django.core.mail.backends.smtp.EmailBackend"
    with SMTPServer(tmp_path / "maildir") as server:
        if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND/EMAIL_HOST/EMAIL_PORT
            options = {"host": "127.0.0.1", "port": server.port}
            mail: dict[str, Any] = {"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": options}}}
        else:
            mail = {"EMAIL_BACKEND": backend, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": server.port}
        notifications = {"KINDS": KINDS, "DIGEST_DELAY": 3600, "BASE_URL": "https://example.test"}
        with override_settings(NOTIFICATIONS=notifications, **mail):
            yield server


@pytest.fixture
def alice(db: None) -> Any:
    return get_user_model().objects.create_user("alice", "alice@example.test", "pw")


def later(minutes: int) -> datetime.datetime:
    return timezone.now() + minutes * MINUTE


def age(notification: Any, minutes: int) -> None:
    then = timezone.now() - minutes * MINUTE
    Notification.objects.filter(pk=notification.pk).update(created_at=then, updated_at=then)


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def test_sent_once_after_the_delay_and_never_in_the_digest(smtp: SMTPServer, alice: Any) -> None:
    invite = notify(alice, "Bob invited you to <Design>", kind="invite", url="/teams/7/")
    notify(alice, "Bob commented", kind="comment")  # no email_unread_after: waits for the digest

    assert send_unread_emails(later(9)).emails == 0  # not before the delay
    assert smtp.messages() == []

    result = send_unread_emails(later(11))
    assert (result.emails, result.notifications, result.skipped) == (1, 1, 0)
    [message] = smtp.messages()
    assert message["To"] == "alice@example.test"
    assert message["Subject"] == "You have 1 unread notification"  # the digest's templates
    text, html = body(message, "plain"), body(message, "html")
    assert "Bob invited you to <Design>" in text and "https://example.test/teams/7/" in text
    assert "Bob invited you to <Design>" in text_of(html)  # autoescaped in HTML
    assert "Bob commented" not in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(https://example\.test/\S+)>", str(message["List-Unsubscribe"]).strip())
    assert link is not None and link.group(1) in text and link.group(1) in html
    Notification.objects.get(pk=invite.pk, emailed_at__isnull=False)

    assert send_unread_emails(later(30)).emails == 0  # once

    # The digest, hours later: the comment only, never the invitation again.
    digest = send_digests(later(120))
    assert (digest.emails, digest.notifications, digest.unread_emails) == (1, 1, 0)
    messages = smtp.messages()
    assert len(messages) == 2
    [digest_text] = [body(m, "plain") for m in messages if "Bob commented" in body(m, "plain")]
    assert "invited" not in digest_text


def test_not_sent_when_read_or_dismissed_meanwhile(smtp: SMTPServer, alice: Any) -> None:
    read = notify(alice, "Read in time", kind="invite")
    dismissed = notify(alice, "Dismissed in time", kind="invite")
    assert mark_read(alice, read.pk) and archive(alice, dismissed.pk)

    assert send_unread_emails(later(11)).emails == 0
    assert send_digests(later(120)).emails == 0
    assert smtp.messages() == []


def test_not_sent_when_the_kind_is_off_for_email_or_the_user_unsubscribed(smtp: SMTPServer, alice: Any) -> None:
    bob = get_user_model().objects.create_user("bob", "bob@example.test", "pw")
    save_choices(alice, bar={}, email={"invite": False})
    Preferences.objects.create(user=bob, digest=False)  # what the unsubscribe link does
    notify([alice, bob], "Join us", kind="invite")
    notify(alice, "Disk full", kind="alert")  # email_default False, never turned on

    result = send_unread_emails(later(11))
    assert (result.emails, result.skipped) == (0, 2)
    # Claimed all the same: never looked at again, and the digest does not send them either.
    assert not due_unread(later(11)).exists()
    assert send_digests(later(120)).emails == 0
    assert smtp.messages() == []


def test_held_back_while_the_user_has_muted_everything(smtp: SMTPServer, alice: Any) -> None:
    notify(alice, "Just before the mute", kind="invite")
    mute(alice, "1h")

    assert send_unread_emails(later(11)).emails == 0  # muted now: not sent, not claimed
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 1
    assert smtp.messages() == []

    # Once the mute is over, still unread: emailed then.
    assert send_unread_emails(later(61)).emails == 1
    assert len(smtp.messages()) == 1


def test_rows_stored_muted_are_left_to_the_digest(smtp: SMTPServer, alice: Any) -> None:
    save_choices(alice, bar={"invite": False}, email={})  # the kind off for the bar: stored muted
    notify(alice, "Email only", kind="invite")

    assert send_unread_emails(later(11)).emails == 0
    assert send_digests(later(120)).emails == 1  # the digest emails it, once
    assert send_digests(later(180)).emails == 0
    assert len(smtp.messages()) == 1


def test_the_delay_counts_from_the_last_activity(smtp: SMTPServer, alice: Any) -> None:
    """A snoozed item waits for its snooze, then for the delay again; a grouped item for its latest arrival."""
    snoozed = notify(alice, "Snoozed", kind="invite")
    grouped = notify(alice, "Grouped", kind="invite")
    # What a snooze until 30 minutes from now stores; what a grouped item collecting one 15 minutes on stores.
    Notification.objects.filter(pk=snoozed.pk).update(snoozed_until=later(30), updated_at=later(30))
    Notification.objects.filter(pk=grouped.pk).update(updated_at=later(15))

    assert send_unread_emails(later(20)).emails == 0  # 20 min after it arrived, 5 after its last arrival
    assert send_unread_emails(later(26)).notifications == 1  # the grouped item
    assert send_unread_emails(later(35)).emails == 0  # back from its snooze 5 minutes ago
    assert send_unread_emails(later(41)).notifications == 1
    assert len(smtp.messages()) == 2


def test_one_email_per_user_in_their_language(smtp: SMTPServer, alice: Any) -> None:
    Preferences.objects.create(user=alice, language="de", email={"alert": True})
    notify(alice, "Invitation", kind="invite")
    notify(alice, "Alert", kind="alert")

    assert send_unread_emails(later(5)).notifications == 1  # the alert (1 minute); the invitation waits
    assert send_unread_emails(later(11)).notifications == 1
    notify(alice, "Second invitation", kind="invite")
    notify(alice, "Third invitation", kind="invite")
    result = send_unread_emails(later(22))
    assert (result.emails, result.notifications) == (1, 2)  # both due in one run: one email

    messages = smtp.messages()
    assert len(messages) == 3
    assert sorted(m["Subject"] for m in messages) == [  # in German, the reader's language
        "Sie haben 1 ungelesene Benachrichtigung",
        "Sie haben 1 ungelesene Benachrichtigung",
        "Sie haben 2 ungelesene Benachrichtigungen",
    ]


def test_send_digests_sends_them_first(smtp: SMTPServer, alice: Any) -> None:
    """Due for both in one run: the kind's own email, not the digest."""
    notify(alice, "Join us", kind="invite")
    notify(alice, "Bob commented", kind="comment")

    result = send_digests(later(120))
    assert (result.unread_emails, result.emails, result.notifications) == (1, 1, 1)
    texts = sorted(body(m, "plain") for m in smtp.messages())
    assert len(texts) == 2
    assert sum("Join us" in t for t in texts) == 1 and sum("Bob commented" in t for t in texts) == 1


def test_the_command(smtp: SMTPServer, alice: Any) -> None:
    age(notify(alice, "Join us", kind="invite"), minutes=11)
    out = io.StringIO()
    call_command("send_digests", "--unread-only", stdout=out)
    assert out.getvalue().startswith("Sent 1 email about notifications still unread;")

    age(notify(alice, "Join us again", kind="invite"), minutes=11)
    out = io.StringIO()
    call_command("send_digests", stdout=out)
    first, second = out.getvalue().splitlines()
    assert first.startswith("Sent 0 digest(s)")
    assert second == "Before the digests: 1 email about notifications still unread."
    assert len(smtp.messages()) == 2


@pytest.mark.django_db
def test_nothing_to_do_costs_no_query_when_no_kind_asks(django_assert_num_queries: Any) -> None:
    with override_settings(NOTIFICATIONS={"KINDS": {"comment": {}}}), django_assert_num_queries(0):
        assert send_unread_emails().emails == 0


def test_a_bad_delay_fails_the_system_check(settings: Any) -> None:
    for bad in (0, -5, "3600", True, 1.5):
        settings.NOTIFICATIONS = {"KINDS": {"invite": {"email_unread_after": bad}}}
        assert "notifications.E010" in check_ids(), bad
    settings.NOTIFICATIONS = {"KINDS": {"invite": {"email_unread_after": 3600}, "other": {"email_unread_after": None}}}
    assert "notifications.E010" not in check_ids()


SETTINGS = """
from BASE import *  # noqa: F403
from BASE import NOTIFICATIONS

NOTIFICATIONS = {**NOTIFICATIONS, "KINDS": {**NOTIFICATIONS["KINDS"], "invite": {"email_unread_after": 60}}}
"""

SEED = """
import datetime
from django.contrib.auth import get_user_model
from django.utils import timezone
from notifications import notify
from notifications.models import Notification
users = [get_user_model()(username=f"u{i}", email=f"u{i}@example.test") for i in range(USERS)]
get_user_model().objects.bulk_create(users)
users = list(get_user_model().objects.all())
for n in range(3):
    notify(users, f"Invitation {n}", kind="invite")
then = timezone.now() - datetime.timedelta(minutes=2)
Notification.objects.update(created_at=then, updated_at=then)
"""


@contextlib.contextmanager
def fresh_database(tmp_path: Path, engine: str) -> Iterator[str]:
    """A DATABASE_URL of an empty database for the processes: a SQLite file, or a throwaway PostgreSQL database
    on the server of DATABASE_URL (created, then dropped)."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("DATABASE_URL is not PostgreSQL")
    import psycopg

    name = f"nb_unread_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(url)._replace(path="/postgres"))  # the maintenance database: it always exists
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.parametrize(
    ("engine", "base", "command"),
    [
        ("sqlite", "demo.settings", ["send_digests"]),
        ("sqlite", "tests.settings_sqlite_deferred", ["send_digests", "--unread-only"]),
        ("postgresql", "demo.settings", ["send_digests"]),
        ("postgresql", "demo.settings", ["send_digests", "--unread-only"]),
    ],
)
def test_two_hosts_at_once_send_each_once(tmp_path: Path, engine: str, base: str, command: list[str]) -> None:
    """Two real processes, one database, one SMTP server: every user gets exactly one email (their three
    invitations, still unread after the demo's invite kind's 60 seconds); a digest run later sends nothing."""
    users = 150
    (tmp_path / "unread_settings.py").write_text(SETTINGS.replace("BASE", base))
    with SMTPServer(tmp_path / "maildir") as smtp, fresh_database(tmp_path, engine) as database_url:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(map(str, (tmp_path, ROOT, ROOT / "site"))),
            "DJANGO_SETTINGS_MODULE": "unread_settings",
            "DATABASE_URL": database_url,
            "EMAIL_PORT": str(smtp.port),
            "DIGEST_DELAY": "3600",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
        subprocess.run([*manage, "shell", "-c", SEED.replace("USERS", str(users))], env=env, check=True, timeout=120)

        runs = [subprocess.Popen([*manage, *command], env=env, stdout=subprocess.PIPE, text=True) for _ in "ab"]
        outputs = [run.communicate(timeout=120)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs

        messages = smtp.messages()
        assert Counter(m["To"] for m in messages) == Counter(f"u{i}@example.test" for i in range(users)), outputs
        assert all("3 unread notifications" in m["Subject"] for m in messages)
        sent = [int(re.search(r"(\d+) emails? about", out).group(1)) for out in outputs]  # type: ignore[union-attr]
        assert sum(sent) == users

        env["DIGEST_DELAY"] = "60"  # every row is due for the digest now: none is sent again
        again = subprocess.run([*manage, "send_digests"], env=env, capture_output=True, text=True, check=True)
        assert again.stdout.startswith("Sent 0 digest(s)"), again.stdout
        assert len(smtp.messages()) == users
