from __future__ import annotations

import contextlib
import datetime
import os
import re
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import django
import pytest
from demo.models import Ticket
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import notify
from notifications.mail.digests import claim, send_digests, unsubscribe_token, user_pk_from_token
from notifications.models import Notification, Preferences
from testing.html import ids, text_of
from testing.smtp import SMTPServer

ROOT = Path(__file__).resolve().parent.parent
KINDS = {
    "comment": {"label": "Comments"},
    "build": {"label": "Builds", "email_default": False},
    "secret": {"label": "Secrets", "email": False},
}


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SMTPServer]:
    backend = "django.core.mail.backends.smtp.EmailBackend"
    with SMTPServer(tmp_path / "maildir") as server:
        if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND/EMAIL_HOST/EMAIL_PORT
            options = {"host": "127.0.0.1", "port": server.port}
            mail: dict[str, Any] = {"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": options}}}
        else:
            mail = {"EMAIL_BACKEND": backend, "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": server.port}
        digest = {"KINDS": KINDS, "DIGEST_DELAY": 60, "BASE_URL": "https://example.test"}
        with override_settings(NOTIFICATIONS=digest, **mail):
            yield server


def age(notification: Any, minutes: int = 5) -> None:
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=minutes)
    )


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


@pytest.mark.django_db
def test_digest_over_smtp_and_one_click_unsubscribe(smtp: SMTPServer) -> None:
    alice = get_user_model().objects.create_user("alice", "alice@example.test", "pw")
    age(notify(alice, "Bob <b>commented</b>", kind="comment", url="/posts/1/"))
    age(notify(alice, "Build 7 passed", kind="build"))  # email off by default
    age(notify(alice, "Your code is 1234", kind="secret"))  # never emailed
    notify(alice, "Too fresh", kind="comment")  # younger than DIGEST_DELAY
    age(notify(alice, "Read already", kind="comment"))
    Notification.objects.filter(message="Read already").update(read_at=timezone.now())

    result = send_digests()

    assert (result.emails, result.notifications) == (1, 1)
    [message] = smtp.messages()
    assert message["To"] == "alice@example.test"
    assert message["Subject"] == "You have 1 unread notification"
    text, html = body(message, "plain"), body(message, "html")
    assert "Bob <b>commented</b>" in text and "https://example.test/posts/1/" in text
    assert "Bob <b>commented</b>" in text_of(html)  # autoescaped in HTML: text, not an element
    for absent in ("Build 7", "1234", "Too fresh", "Read already"):
        assert absent not in text
    # (A long header is folded onto its next line: the leading white space is the folding, not the value.)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(https://example\.test(/\S+))>", str(message["List-Unsubscribe"]).strip())
    assert link is not None and link.group(1) in text and link.group(1) in html

    # Idempotent: the same rows are never emailed again.
    assert send_digests().emails == 0
    assert len(smtp.messages()) == 1

    # The link works without a session: GET only asks, the RFC 8058 POST (no cookie, no CSRF token) unsubscribes.
    path = link.group(2)
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get(path)
    assert page.status_code == 200 and "nb-unsubscribe-confirm" in ids(page.content.decode())
    assert Preferences.objects.filter(user=alice, digest=False).count() == 0
    done = anonymous.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200 and "nb-unsubscribed" in ids(done.content.decode())
    assert Preferences.objects.get(user=alice).digest is False

    age(notify(alice, "After unsubscribing", kind="comment"))
    assert send_digests().emails == 0
    assert len(smtp.messages()) == 1


@pytest.mark.django_db
def test_forged_or_altered_tokens_change_nothing(client: Client) -> None:
    alice = get_user_model().objects.create_user("alice", "alice@example.test", "pw")
    token = unsubscribe_token(alice.pk)
    assert user_pk_from_token(token) == str(alice.pk)
    assert user_pk_from_token(token.replace(str(alice.pk), str(alice.pk + 1), 1)) is None
    response = client.post(f"/notifications/unsubscribe/{alice.pk}:forged/")
    assert response.status_code == 400
    assert not Preferences.objects.filter(digest=False).exists()


@pytest.mark.django_db
def test_digest_queries_do_not_grow_with_users(smtp: SMTPServer) -> None:
    users = [get_user_model().objects.create_user(f"u{i}", f"u{i}@example.test", "pw") for i in range(30)]
    notify(users, "Deploy done", kind="comment")
    Notification.objects.update(created_at=timezone.now() - datetime.timedelta(hours=1))
    with CaptureQueriesContext(connection) as queries:
        result = send_digests()
    assert result.emails == 30
    assert len(queries) <= 10, [q["sql"] for q in queries]
    assert Counter(m["To"] for m in smtp.messages()) == Counter(u.email for u in users)


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
    notify(users, f"Notification {n}", kind="comment")
Notification.objects.update(created_at=timezone.now() - datetime.timedelta(hours=2))
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

    name = f"nb_digests_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(url)._replace(path="/postgres"))  # the maintenance database: it always exists
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.parametrize(
    ("engine", "settings_module"),
    [("sqlite", "demo.settings"), ("sqlite", "tests.settings_sqlite_deferred"), ("postgresql", "demo.settings")],
)
def test_two_hosts_at_once_send_one_digest_each(tmp_path: Path, engine: str, settings_module: str) -> None:
    """Two real ``send_digests`` processes, one database, one SMTP server: every user gets exactly one digest.

    ``tests.settings_sqlite_deferred`` drops the demo's IMMEDIATE transactions: the claim must not rely on them.
    The PostgreSQL case runs when DATABASE_URL points at PostgreSQL (on a database of its own).
    """
    users = 150
    with SMTPServer(tmp_path / "maildir") as smtp, fresh_database(tmp_path, engine) as database_url:
        env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'site'}",
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": database_url,
            "EMAIL_PORT": str(smtp.port),
            "DIGEST_DELAY": "60",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
        subprocess.run([*manage, "shell", "-c", SEED.replace("USERS", str(users))], env=env, check=True, timeout=120)

        runs = [subprocess.Popen([*manage, "send_digests"], env=env, stdout=subprocess.PIPE, text=True) for _ in "ab"]
        outputs = [run.communicate(timeout=120)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs

        received = Counter(m["To"] for m in smtp.messages())
        assert received == Counter(f"u{i}@example.test" for i in range(users)), outputs
        sent = [int(re.search(r"Sent (\d+) digest", out).group(1)) for out in outputs]  # type: ignore[union-attr]
        assert sum(sent) == users

        again = subprocess.run([*manage, "send_digests"], env=env, capture_output=True, text=True, check=True)
        assert again.stdout.startswith("Sent 0 digest(s)")
        assert len(smtp.messages()) == users


@pytest.mark.parametrize("other_host", ["takes them", "lets go"])
@pytest.mark.django_db(transaction=True)
def test_a_claim_waits_for_a_user_another_host_holds_and_never_splits_their_rows(other_host: str) -> None:
    """Another host's transaction holds the first of alice's three due rows: the claim waits for it, then takes
    all three (it let go) or none (it took them all), never the two it could lock at once (two emails)."""
    if not connection.features.has_select_for_update:
        pytest.skip("a row lock needs SELECT ... FOR UPDATE; SQLite's claim takes the database's write lock")
    alice = get_user_model().objects.create_user("alice", "alice@example.test", "pw")
    for n in range(3):
        age(notify(alice, f"Notification {n}"), minutes=120)
    first = Notification.objects.filter(recipient=alice).order_by("created_at", "id").first()
    assert first is not None
    held, release = threading.Event(), threading.Event()

    def another_host() -> None:
        try:
            with transaction.atomic():
                list(Notification.objects.select_for_update().filter(pk=first.pk))
                held.set()
                release.wait(10)
                if other_host == "takes them":
                    Notification.objects.filter(recipient=alice).update(emailed_at=timezone.now())
        finally:
            connection.close()

    thread = threading.Thread(target=another_host)
    thread.start()
    try:
        assert held.wait(10)
        threading.Timer(0.5, release.set).start()
        claimed = claim([alice.pk], timezone.now())
    finally:
        release.set()
        thread.join(10)
    taken = [n.message for n in claimed.get(alice.pk, [])]
    assert taken == ([] if other_host == "takes them" else ["Notification 0", "Notification 1", "Notification 2"])


@pytest.mark.django_db
def test_unsubscribe_link_of_a_deleted_user_answers_without_error(client: Client) -> None:
    gone = get_user_model().objects.create_user("gone", "gone@example.test", "pw")
    token = unsubscribe_token(gone.pk)
    gone.delete()
    assert client.post(f"/notifications/unsubscribe/{token}/").status_code == 200
    assert not Preferences.objects.exists()


@pytest.mark.django_db
def test_a_digest_about_things_names_them_and_survives_their_deletion(smtp: SMTPServer) -> None:
    """The item's thing by its current name and link; a deleted one by the name it had, marked, without a link;
    all in the recipient's language."""
    alice = get_user_model().objects.create_user("alice", "alice@example.test", "pw")
    Preferences.objects.create(user=alice, language="de")
    kept, gone = Ticket.objects.create(title="Login broken"), Ticket.objects.create(title="Printer on fire")
    age(notify(alice, "New comment", kind="comment", target=kept))
    age(notify(alice, "Assigned to you", kind="comment", target=gone))
    gone_pk = gone.pk
    gone.delete()

    assert send_digests().emails == 1
    [message] = smtp.messages()
    text = body(message, "plain")
    assert f"#{kept.pk} Login broken" in text and f"https://example.test/tickets/{kept.pk}/" in text
    assert f"#{gone_pk} Printer on fire (gelöscht)" in text
    assert f"/tickets/{gone_pk}/" not in text
    assert "Benachrichtigung" in message["Subject"]  # German, the recipient's language
