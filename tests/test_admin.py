from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from demo.models import Ticket
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from notifications import notify, subscribe
from notifications.models import Notification

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def admin_client_(db: Any) -> Client:
    admin = get_user_model().objects.create_superuser("root", password="root")
    client = Client()
    client.force_login(admin)
    return client


def test_changelist_filters_and_search(alice: Any, bob: Any, admin_client_: Client) -> None:
    notify(alice, "Build 42 finished", level="success")
    notify(bob, "Disk full", level="error")
    url = "/admin/notifications/notification/"
    assert admin_client_.get(url).status_code == 200
    assert "Disk full" not in admin_client_.get(url + "?level__exact=success").content.decode()
    assert "Build 42" not in admin_client_.get(url + "?q=disk").content.decode()
    assert "Build 42" in admin_client_.get(url + "?read=no").content.decode()
    assert admin_client_.get(url + f"?recipient__id__exact={bob.pk}").status_code == 200


def test_send_action_notifies_the_selected_users(alice: Any, bob: Any, admin_client_: Client) -> None:
    url = "/admin/auth/user/"
    form = admin_client_.post(url, {"action": "send_notification", ACTION_CHECKBOX_NAME: [alice.pk, bob.pk]})
    assert form.status_code == 200 and b"Send a notification" in form.content
    done = admin_client_.post(
        url,
        {
            "action": "send_notification",
            ACTION_CHECKBOX_NAME: [alice.pk, bob.pk],
            "message": "From the admin",
            "level": "warning",
            "url": "",
        },
        follow=True,
    )
    assert b"Notified 2 users." in done.content
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == ["alice", "bob"]


def test_the_app_leaves_the_user_admin_alone(tmp_path: Path) -> None:
    """Installed in a project whose user admin is Django's own (no demo.admin), the app registers its models and
    nothing else: no action appears on the user admin unless the project puts it there."""
    (tmp_path / "stock_admin_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        'INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "demo"]  # noqa: F405\n'
    )
    script = textwrap.dedent(
        """
        import django
        django.setup()  # the admin's autodiscovery: auth.admin, then notifications.admin
        from django.contrib import admin
        from django.contrib.auth.admin import UserAdmin
        from django.contrib.auth.models import User
        from notifications.admin import NotificationAdmin, send_notification
        from notifications.models import Notification, Preferences, Subscription
        user_admin = admin.site.get_model_admin(User)
        assert type(user_admin) is UserAdmin, type(user_admin)
        assert send_notification not in (user_admin.actions or []), user_admin.actions
        assert isinstance(admin.site.get_model_admin(Notification), NotificationAdmin)
        assert all(admin.site.is_registered(model) for model in (Preferences, Subscription))
        """
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "stock_admin_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), str(ROOT / "site")]),
    }
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_opting_in_gives_the_user_admin_the_action(admin_client_: Client) -> None:
    """site/demo/admin.py opts in with one line on its UserAdmin: actions = [send_notification]."""
    page = admin_client_.get("/admin/auth/user/").content.decode()
    assert '<option value="send_notification">Send a notification to the selected users</option>' in page


def test_send_action_shows_bad_input(alice: Any, admin_client_: Client) -> None:
    response = admin_client_.post(
        "/admin/auth/user/",
        {
            "action": "send_notification",
            ACTION_CHECKBOX_NAME: [alice.pk],
            "message": "x",
            "level": "info",
            "url": "javascript:alert(1)",
        },
    )
    assert b"is not safe" in response.content
    assert Notification.objects.count() == 0


UNSAFE_URLS = [
    "//evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "https://evil.example/x",
    "/\\evil.example",
]


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_the_add_form_refuses_unsafe_links(alice: Any, admin_client_: Client, url: str) -> None:
    response = admin_client_.post(
        "/admin/notifications/notification/add/",
        {"recipient": alice.pk, "level": "info", "message": "hi", "url": url, "actions": "[]", "group_count": 1},
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"Not a safe link" in response.content
    assert Notification.objects.count() == 0


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_the_change_form_refuses_unsafe_action_links(alice: Any, admin_client_: Client, url: str) -> None:
    n = notify(alice, "decide", url="/ok/")
    response = admin_client_.post(
        f"/admin/notifications/notification/{n.pk}/change/",
        {
            "recipient": alice.pk,
            "level": "info",
            "message": "decide",
            "url": "/ok/",
            "actions": json.dumps([{"label": "Approve", "url": url}]),
            "group_count": 1,
        },
    )
    assert response.status_code == 200
    assert b"is not safe" in response.content
    n.refresh_from_db()
    assert n.actions == []


def test_the_add_form_stores_a_safe_link(alice: Any, admin_client_: Client) -> None:
    response = admin_client_.post(
        "/admin/notifications/notification/add/",
        {
            "recipient": alice.pk,
            "level": "info",
            "message": "hi",
            "url": "/builds/42/",
            "actions": "[]",
            "group_count": 1,
        },
    )
    assert response.status_code == 302
    assert Notification.objects.get().url == "/builds/42/"


def test_subscriptions_are_listed_and_filtered_by_model(admin_client: Any, alice: Any) -> None:
    ticket = Ticket.objects.create(title="Printer on fire")
    subscribe(alice, ticket)
    page = admin_client.get("/admin/notifications/subscription/").content.decode()
    assert f"#{ticket.pk} Printer on fire" in page
    ct = ContentType.objects.get_for_model(Ticket)
    filtered = admin_client.get(f"/admin/notifications/subscription/?target_type__id__exact={ct.pk}")
    assert filtered.status_code == 200 and "alice" in filtered.content.decode()
