from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from notifications import notify
from notifications.models import Notification
from testing.html import ANY, by_id, element, elements, submits, within

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def csrf(client: Client) -> dict[str, str]:
    client.get("/notifications/")
    return {"csrfmiddlewaretoken": client.cookies["csrftoken"].value}


def history(client: Client, query: str = "") -> str:
    """The text of the page's history (the page's header holds the bar, with items of its own)."""
    html = client.get(f"/notifications/{query}").content.decode()
    return element(html, aria_labelledby="nb-history-title").words


def test_history_needs_login(client: Client) -> None:
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_history_is_paginated_and_filtered(alice: Any, bob: Any, alice_client: Client, settings: Any) -> None:
    settings.NOTIFICATIONS = {"PAGE_SIZE": 3}
    created = [notify(alice, f"item {i}") for i in range(5)]
    notify(bob, "bob's secret")
    created[0].read_at = created[0].created_at
    created[0].save()
    created[1].archived_at = created[1].read_at = created[1].created_at
    created[1].save()

    page1 = history(alice_client)
    assert "item 4" in page1 and "item 2" in page1 and "item 1" not in page1 and "bob's secret" not in page1
    # Pages by keyset: "Load more" links to the page after the last item shown (tests/test_history.py).
    html = alice_client.get("/notifications/?show=all").content.decode()
    more = element(html, id="notification-history-next", rel="next").attrs["href"] or ""
    assert "show=all" in more and "before=" in more and "page=" not in more
    page2 = history(alice_client, more.removeprefix("/notifications/"))
    assert "item 0" in page2 and "item 2" not in page2 and "item 1" not in page2
    unread = alice_client.get("/notifications/?show=unread").content.decode()
    assert "item 2" in element(unread, aria_labelledby="nb-history-title").words
    assert elements(unread, id="notification-history-next") == []  # 3 unread: one page
    archived = history(alice_client, "?show=archived")
    assert "item 1" in archived and "item 4" not in archived
    # An unknown filter or cursor falls back instead of failing.
    assert alice_client.get("/notifications/?show=evil&before=zzz").status_code == 200


def test_history_items_are_plain_forms_with_csrf(alice: Any, alice_client: Client) -> None:
    n = notify(alice, "hello")
    html = alice_client.get("/notifications/").content.decode()
    entry = f"history-notification-{n.pk}"
    assert by_id(html, entry).closest(id="notification-history")
    assert within(html, entry, action=f"/notifications/{n.pk}/read/")
    assert within(html, entry, name="csrfmiddlewaretoken")
    assert within(html, "notification-history", ws_send=ANY) == []


@pytest.mark.parametrize("path", ["/notifications/1/read/", "/notifications/1/archive/", "/notifications/read-all/"])
def test_no_state_change_on_get(alice: Any, alice_client: Client, path: str) -> None:
    notify(alice, "hello")
    assert alice_client.get(path).status_code == 405
    assert Notification.objects.unread().count() == 1


def test_post_without_csrf_is_refused(alice: Any, alice_client: Client) -> None:
    n = notify(alice, "hello")
    assert alice_client.post(f"/notifications/{n.pk}/read/").status_code == 403
    assert not Notification.objects.get().is_read


def test_mark_read_archive_and_read_all_by_post(alice: Any, alice_client: Client) -> None:
    first, second, _third = (notify(alice, f"n{i}") for i in range(3))
    token = csrf(alice_client)
    response = alice_client.post(f"/notifications/{first.pk}/read/", token)
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert Notification.objects.get(pk=first.pk).is_read
    alice_client.post(f"/notifications/{second.pk}/archive/", token)
    assert Notification.objects.get(pk=second.pk).is_archived
    alice_client.post("/notifications/read-all/", token)
    assert Notification.objects.unread().count() == 0


def test_htmx_posts_get_no_content(alice: Any, alice_client: Client) -> None:
    n = notify(alice, "hello")
    response = alice_client.post(f"/notifications/{n.pk}/read/", csrf(alice_client), headers={"HX-Request": "true"})
    assert response.status_code == 204


def test_someone_elses_notification_is_untouched(alice: Any, bob: Any, alice_client: Client) -> None:
    theirs = notify(bob, "bob's")
    token = csrf(alice_client)
    # read and archive answer as for any stale form (back to the page); open has nowhere to go.
    for path, status in (("read", 302), ("archive", 302), ("open", 404)):
        response = alice_client.post(f"/notifications/{theirs.pk}/{path}/", token)
        assert response.status_code == status, path
    theirs.refresh_from_db()
    assert not theirs.is_read and not theirs.is_archived
    assert alice_client.post("/notifications/99999999/open/", token).status_code == 404


def test_open_marks_read_and_redirects_to_the_link(alice: Any, alice_client: Client) -> None:
    n = notify(alice, "Build 42", url="/builds/42/")
    token = csrf(alice_client)
    response = alice_client.post(f"/notifications/{n.pk}/open/", token)
    assert response.status_code == 302 and response["Location"] == "/builds/42/"
    n.refresh_from_db()
    assert n.is_read
    htmx = alice_client.post(f"/notifications/{n.pk}/open/", token, headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == "/builds/42/"


def test_back_redirect_ignores_foreign_referers(alice: Any, alice_client: Client) -> None:
    n = notify(alice, "x")
    response = alice_client.post(
        f"/notifications/{n.pk}/read/", csrf(alice_client), headers={"referer": "https://evil.example/"}
    )
    assert response["Location"] == "/notifications/"


@pytest.mark.parametrize("url", ["home", "logout", "settings", "?page=2", "#top", "builds/42/"])
def test_open_redirects_to_the_stored_url_never_a_route_name(alice: Any, alice_client: Client, url: str) -> None:
    n = notify(alice, "go", url=url)
    response = alice_client.post(f"/notifications/{n.pk}/open/", csrf(alice_client))
    assert response.status_code == 302 and response["Location"] == url


def test_open_never_follows_an_unsafe_url_written_around_the_api(alice: Any, alice_client: Client) -> None:
    n = notify(alice, "go", url="/fine/")
    Notification.objects.filter(pk=n.pk).update(url="//evil.example")  # raw write: no validation ran
    response = alice_client.post(f"/notifications/{n.pk}/open/", csrf(alice_client))
    assert response.status_code == 404


@pytest.mark.parametrize("next_url", ["logout", "?page=2", "#top"])
def test_no_js_forms_go_back_to_a_url_never_a_route_name(alice: Any, alice_client: Client, next_url: str) -> None:
    n = notify(alice, "read me")
    response = alice_client.post(f"/notifications/{n.pk}/read/", {**csrf(alice_client), "next": next_url})
    assert response.status_code == 302 and response["Location"] == next_url


def test_an_htmx_action_answers_with_the_targeted_neighbours_controls_focused(client: Any, alice: Any) -> None:
    """Before: the whole list was replaced after Mark read / Dismiss, and the focus fell to <body>."""
    from notifications import notify

    older, newer = notify(alice, "older"), notify(alice, "newer")
    client.force_login(alice)
    headers = {"HX-Request": "true", "HX-Target": f"notification-{older.pk}-controls"}
    answer = client.post(f"/notifications/{newer.pk}/read/", headers=headers)
    assert answer.status_code == 200
    html = answer.content.decode()
    [focused] = elements(html, autofocus=None)  # the same control, on the next item
    assert submits(focused) == f"/notifications/{older.pk}/read/"
    answer = client.post(f"/notifications/{older.pk}/archive/", headers={**headers, "HX-Target": "x"})
    assert answer.status_code == 204  # no neighbour named: nothing to focus
    someone_elses = client.post(
        f"/notifications/{newer.pk}/archive/", headers={**headers, "HX-Target": "notification-999999-controls"}
    )
    assert someone_elses.status_code == 204


def test_dismissing_the_bars_last_item_answers_with_the_history_link_focused(client: Any, alice: Any) -> None:
    """Before: the last item's Dismiss answered nothing and the focus fell to <body>."""
    from notifications import notify

    only = notify(alice, "the only one")
    client.force_login(alice)
    headers = {"HX-Request": "true", "HX-Target": "notification-history-slot"}
    answer = client.post(f"/notifications/{only.pk}/archive/", headers=headers)
    assert answer.status_code == 200
    [link] = elements(answer.content.decode(), href=ANY)
    assert (link.attrs["href"], "autofocus" in link.attrs) == ("/notifications/", True)
    assert Notification.objects.get(pk=only.pk).is_archived
