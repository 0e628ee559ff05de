"""The history page (/notifications/): tabs with their counts, pages by keyset and "Load more" (web/views.py,
store/inbox.py, partials/notification_history_page.html)."""

from __future__ import annotations

import base64
import datetime
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import notify
from notifications.models import Notification
from notifications.store import inbox
from testing.html import ANY, by_id, element, elements, pks, within

pytestmark = pytest.mark.django_db(transaction=True)

PREFIX = "history-notification"
LOAD_MORE = {"HX-Request": "true", "HX-Target": "notification-history", "HX-Trigger": "notification-history-next"}


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def page(client: Client, query: str = "", **headers: str) -> str:
    response = client.get(f"/notifications/{query}", headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def shown(html: str) -> list[int]:
    """The pks the history's list shows, in order (the bar beside it has items of its own)."""
    return pks(html, PREFIX)


def counts(html: str) -> dict[str, str]:
    """Each built-in tab's count, by its ?show= name (the demo's settings add a tab for comments)."""
    found = {e.attrs["data-tab"] or "": e.attrs["data-count"] or "" for e in elements(html, data_tab=ANY)}
    return {name: count for name, count in found.items() if not name.startswith("kind:")}


def next_query(html: str) -> str:
    """The query of the "Load more" link ("" when there is none)."""
    found = elements(html, id="notification-history-next", href=ANY)
    return "?" + urlsplit(found[0].attrs["href"] or "").query if found else ""


def test_tabs_count_what_they_list(alice: Any, bob: Any, alice_client: Client) -> None:
    read, unread, archived, snoozed = (notify(alice, text) for text in ("read", "unread", "archived", "snoozed"))
    muted = Notification.objects.create(recipient=alice, message="muted", muted=True)
    notify(bob, "bob's")
    now = timezone.now()
    Notification.objects.filter(pk=read.pk).update(read_at=now)
    Notification.objects.filter(pk=archived.pk).update(read_at=now, archived_at=now)
    Notification.objects.filter(pk=snoozed.pk).update(snoozed_until=now + datetime.timedelta(hours=1))

    html = page(alice_client)
    # Unread: its unread count; the others: their totals. Snoozed items are in neither Unread nor All; muted rows
    # are listed (the history keeps what the bar never showed).
    assert counts(html) == {"unread": "2", "all": "3", "archived": "1"}
    assert shown(html) == [muted.pk, unread.pk, read.pk]
    assert element(html, data_tab="all").attrs["aria-current"] == "page"
    assert [e.attrs["data-tab"] for e in elements(html, aria_current="page")] == ["all"]
    # Said, not only shown: the number beside the label is hidden from screen readers, a sentence says it.
    assert "(3 notifications)" in element(html, data_tab="all").words
    assert "(1 notification)" in element(html, data_tab="archived").words

    assert shown(page(alice_client, "?show=unread")) == [muted.pk, unread.pk]
    assert shown(page(alice_client, "?show=archived")) == [archived.pk]
    unknown = page(alice_client, "?show=evil")
    assert shown(unknown) == [muted.pk, unread.pk, read.pk]
    assert element(unknown, data_tab="all").attrs["aria-current"] == "page"
    # A snoozed item comes back into All (and Unread) when its snooze ends.
    later = now + datetime.timedelta(hours=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: later)
        assert counts(page(alice_client)) == {"unread": "3", "all": "4", "archived": "1"}


def test_a_count_stops_at_its_limit(alice: Any, alice_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox, "COUNT_LIMIT", 3)
    Notification.objects.bulk_create(Notification(recipient=alice, message=f"n{i}") for i in range(5))
    html = page(alice_client)
    assert counts(html)["all"] == "3+"
    assert "(more than 3 notifications)" in element(html, data_tab="all").words


def test_pages_by_keyset_neither_repeat_nor_skip_while_notifications_arrive(
    alice: Any, alice_client: Client, settings: Any
) -> None:
    settings.NOTIFICATIONS = {"PAGE_SIZE": 3}
    history = [notify(alice, f"old {i}").pk for i in range(8)]
    seen: list[int] = []
    query = ""
    for round_ in range(5):
        html = page(alice_client, query)
        seen += shown(html)
        # Between two page reads, new notifications arrive (offset paging would repeat items now).
        for i in range(2):
            notify(alice, f"new {round_}.{i}")
        query = next_query(html)
        if not query:
            break
    assert seen == history[::-1]
    assert round_ == 2  # 3 + 3 + 2


def test_ties_on_updated_at_are_settled_by_id(alice: Any) -> None:
    """Rows stored in one bulk share their time to the microsecond: the cursor's id keeps them apart."""
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        Notification(recipient=alice, message=f"n{i}", created_at=now, updated_at=now) for i in range(7)
    )
    order, before = [], None
    while True:
        found = inbox.page(inbox.rows(alice.pk, "all"), before, 2)
        order += [n.pk for n in found.items]
        if not found.next:
            break
        before = found.next
    assert order == sorted((n.pk for n in rows), reverse=True)


def test_the_cursor_is_opaque_and_exact(alice: Any) -> None:
    n = notify(alice, "one")
    token = inbox.encode(n)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # nothing to escape in a URL
    assert inbox.decode(token) == (n.updated_at, n.pk)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "before",
    [
        "zzz",
        "%%%",
        "é",
        "=",
        "x" * 500,
        b64("1.2.3"),
        b64("abc.1"),
        b64("1.-2"),
        b64("999999999999999999.1"),  # past the end of datetime
        b64("-999999999999999999.1"),  # before its start
        b64("1" * 19 + ".1"),
        b64(" 1.1"),
        b64("1.1\n"),
    ],
)
def test_a_bad_cursor_gives_the_first_page(alice: Any, alice_client: Client, settings: Any, before: str) -> None:
    settings.NOTIFICATIONS = {"PAGE_SIZE": 2}
    created = [notify(alice, f"n{i}").pk for i in range(3)]
    assert inbox.decode(before) is None
    for headers in ({}, LOAD_MORE):
        response = alice_client.get("/notifications/", {"before": before}, headers=headers)
        assert response.status_code == 200
        assert shown(response.content.decode()) == created[:0:-1]


def test_a_cursor_past_the_end_gives_an_empty_last_page(alice: Any, alice_client: Client) -> None:
    n = notify(alice, "only")
    html = page(alice_client, f"?before={inbox.encode(n)}")
    assert shown(html) == []
    assert next_query(html) == ""
    assert by_id(html, "notification-history-next").words == "No older notifications."


def test_without_javascript_load_more_is_a_link_to_the_next_page(
    alice: Any, alice_client: Client, settings: Any
) -> None:
    settings.NOTIFICATIONS = {"PAGE_SIZE": 2}
    created = [notify(alice, f"n{i}").pk for i in range(5)]
    first = page(alice_client, "?show=unread")
    more = by_id(first, "notification-history-next")
    assert more.attrs["rel"] == "next" and more.attrs["href"] and more.attrs["hx-get"] == more.attrs["href"]
    assert more.words == "Load more" and urlsplit(more.attrs["href"] or "").path == "/notifications/"
    query = parse_qs(next_query(first)[1:])
    assert query["show"] == ["unread"] and inbox.decode(query["before"][0]) is not None
    assert [e.attrs.get("data-tab") for e in elements(first, href="?show=unread")] == ["unread"]  # no way back yet

    second = page(alice_client, next_query(first))  # the whole page, tabs and all
    assert shown(second) == created[2:0:-1]
    assert counts(second)["unread"] == "5"
    assert element(second, data_tab="unread").attrs["aria-current"] == "page"
    back = elements(second, href="?show=unread")
    assert [e.attrs.get("data-tab") for e in back] == ["unread", None] and back[1].words == "Back to the newest"

    last = page(alice_client, next_query(second))
    assert shown(last) == created[:1]
    assert next_query(last) == ""
    assert by_id(last, "notification-history-next").attrs["tabindex"] == "-1"  # the end, where the focus goes


def test_load_more_with_htmx_answers_with_the_next_page_alone(alice: Any, alice_client: Client, settings: Any) -> None:
    settings.NOTIFICATIONS = {"PAGE_SIZE": 2}
    created = [notify(alice, f"n{i}").pk for i in range(3)]
    first = page(alice_client)
    more = by_id(first, "notification-history-next")
    # htmx appends the answer's items to the list and swaps the answer's "Load more" over the old one.
    assert more.attrs["hx-target"] == "#notification-history"
    assert more.attrs["hx-swap"] == "beforeend"
    assert more.attrs["hx-select-oob"] == "#notification-history-more"
    assert by_id(first, "notification-history-more").closest() is not None

    response = alice_client.get(f"/notifications/{next_query(first)}", headers=LOAD_MORE)
    assert "HX-Request" in response["Vary"]
    html = response.content.decode()
    assert shown(html) == created[:1]
    assert elements(html, data_tab=ANY) == [] and elements(html, "html") == []  # no page, no tabs, no bar
    assert elements(html, id="notification-bar") == []
    # The last page: the link leaves, an end marker with the link's id takes the focus (htmx keeps it by id).
    assert elements(html, id="notification-history-next", href=ANY) == []
    assert by_id(html, "notification-history-next").closest(id="notification-history-more")
    # Items stay plain forms (the history page works the same before and after "Load more").
    assert within(html, f"{PREFIX}-{created[0]}", action=f"/notifications/{created[0]}/read/")
    assert within(html, f"{PREFIX}-{created[0]}", name="csrfmiddlewaretoken")


def test_kinds_declared_as_tabs_get_one(alice: Any, alice_client: Client, settings: Any) -> None:
    settings.NOTIFICATIONS = {
        "KINDS": {"build": {"label": "Builds", "tab": True}, "comment": {"label": "Comments"}},
        "PAGE_SIZE": 2,
    }
    builds = [notify(alice, f"build {i}", kind="build").pk for i in range(3)]
    notify(alice, "a comment", kind="comment")
    html = page(alice_client)
    assert [e.attrs["data-tab"] for e in elements(html, data_tab=ANY)] == ["unread", "all", "archived", "kind:build"]
    assert element(html, data_tab="kind:build").attrs["data-count"] == "3"
    assert element(html, data_tab="kind:build").words.startswith("Builds 3")

    tab = page(alice_client, "?show=kind:build")
    assert shown(tab) == builds[:0:-1]
    assert element(tab, data_tab="kind:build").attrs["aria-current"] == "page"
    assert parse_qs(next_query(tab)[1:])["show"] == ["kind:build"]
    assert shown(page(alice_client, next_query(tab))) == builds[:1]
    # Not a tab: the default one.
    assert element(page(alice_client, "?show=kind:comment"), data_tab="all").attrs["aria-current"] == "page"


def test_archive_and_restore_without_javascript(alice: Any, alice_client: Client) -> None:
    n = notify(alice, "keep me")
    token = {"csrfmiddlewaretoken": (page(alice_client), alice_client.cookies["csrftoken"].value)[1]}
    response = alice_client.post(f"/notifications/{n.pk}/archive/", {**token, "next": "/notifications/?show=all"})
    assert response.status_code == 302 and response["Location"] == "/notifications/?show=all"
    html = page(alice_client, "?show=all")
    assert shown(html) == [] and counts(html) == {"unread": "0", "all": "0", "archived": "1"}

    archive = page(alice_client, "?show=archived")
    assert shown(archive) == [n.pk]
    [restore] = within(archive, f"{PREFIX}-{n.pk}", action=f"/notifications/{n.pk}/restore/")
    assert restore.attrs["method"] == "post" and "hx-post" not in restore.attrs
    response = alice_client.post(restore.attrs["action"] or "", {**token, "next": "/notifications/?show=archived"})
    assert response.status_code == 302
    html = page(alice_client, "?show=archived")
    assert shown(html) == [] and counts(html) == {"unread": "0", "all": "1", "archived": "0"}
    assert shown(page(alice_client)) == [n.pk]


def queries(client: Client, query: str = "", **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        page(client, query, **headers)
    return len(captured)


def test_the_page_reads_a_bounded_number_of_queries(
    alice: Any, bob: Any, alice_client: Client, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.NOTIFICATIONS = {"PAGE_SIZE": 5, "KINDS": {"build": {"tab": True}}}
    notify(alice, "first", kind="build", target=bob)
    page(alice_client)  # warm: content types
    short = queries(alice_client), queries(alice_client, "", **LOAD_MORE)

    now, about_bob = timezone.now(), ContentType.objects.get_for_model(bob)
    Notification.objects.bulk_create(
        Notification(
            recipient=alice,
            message=f"n{i}",
            kind="build" if i % 2 else "",
            read_at=None if i % 3 else now,
            archived_at=now if i % 7 == 0 else None,
            target_type=about_bob,
            target_id=str(bob.pk),
        )
        for i in range(300)
    )
    html = page(alice_client)
    assert len(shown(html)) == 5
    long = queries(alice_client), queries(alice_client, next_query(html), **LOAD_MORE)
    assert long == short  # the same queries, however long the history
    # The page: session, user, reader (3); the bar (its state: 4; its items' targets and follows: 2); the tabs'
    # counts (one query for all tabs); one page of items; their targets (one query per target model) and whether
    # alice follows them (one).
    with django_assert_max_num_queries(13):
        page(alice_client, next_query(html))
    with django_assert_max_num_queries(6):  # "Load more": session, user, reader, one page, targets, follows
        page(alice_client, next_query(html), **LOAD_MORE)


def test_a_page_deep_in_a_long_history_walks_the_index_from_its_cursor(alice: Any, bob: Any) -> None:
    """No sort and no scan from the newest: the All tab's page is read from notif_recipient_latest, starting at
    the cursor (``updated_at <= t`` is the index condition), on SQLite and PostgreSQL alike."""
    now = timezone.now()
    for user in (alice, bob):
        Notification.objects.bulk_create(
            (
                Notification(recipient=user, message=f"n{i}", updated_at=now - datetime.timedelta(seconds=i))
                for i in range(20_000)
            ),
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    rows = inbox.rows(alice.pk, "all")
    middle = rows.order_by("-updated_at", "-id")[10_000]
    found = inbox.page(rows, inbox.encode(middle), 20)
    assert [n.message for n in found.items] == [f"n{i}" for i in range(10_001, 10_021)]
    deep = inbox.older(rows, inbox.encode(middle))[:21]
    for qs in (inbox.older(rows, None)[:21], deep):
        plan = qs.explain()
        print(plan)
        assert "notif_recipient_latest" in plan
        assert "Sort" not in plan and "TEMP B-TREE" not in plan
        if connection.vendor == "postgresql":
            assert "Seq Scan" not in plan
    if connection.vendor == "postgresql":
        assert "updated_at <=" in deep.explain()  # an index condition: the scan starts at the cursor
