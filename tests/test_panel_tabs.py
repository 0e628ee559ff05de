"""The panel's tabs, "Load more" and outcomes with Undo (web/views.py, store/inbox.py, store/api.py), one test per
state change; they run on SQLite and, with DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from notifications import archive, mark_read, notify
from notifications.live.consumers import ACTIONS
from notifications.models import Notification
from notifications.store import api, inbox
from testing.html import ANY, element, elements, pks, swaps, text_of, within

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


HTMX = {"HX-Request": "true"}


def panel(client: Client, target: str, **query: Any) -> str:
    """An htmx GET of the panel (``target``: what htmx names, the view slot for a tab or a list for Load more)."""
    response = client.get("/notifications/panel/", query, headers={**HTMX, "HX-Target": target})
    assert response.status_code == 200
    return response.content.decode()


def outcome_of(html: str) -> Any:
    """The outcome a frame puts into every tab's announced region."""
    return element(html, hx_swap_oob="innerHTML:#notification-outcome")


def count_messages(sent: list[Any]) -> list[dict[str, Any]]:
    return [message for _, message in sent if message["type"] == "notification.count"]


# --- outcomes and Undo -------------------------------------------------------------------------------------


def test_a_dismiss_tells_every_tab_with_an_undo_that_restores(alice: Any, sent: list[Any]) -> None:
    n = notify(alice, "Deploy finished")
    sent.clear()
    archive(alice, n.pk)
    [(_, change)] = sent
    outcome = outcome_of(change["count_html"])  # the part every tab gets, whatever its list shows
    assert "Dismissed: Deploy finished" in outcome.words
    [undo] = elements(change["count_html"], type="submit")
    assert undo.words == "Undo" and element(change["count_html"], action=ANY).attrs["action"] == (
        f"/notifications/{n.pk}/restore/"
    )


def test_a_restore_tells_every_tab(alice: Any, alice_client: Client, sent: list[Any]) -> None:
    n = notify(alice, "Deploy finished")
    archive(alice, n.pk)
    sent.clear()
    # Restore in the Archive tab: its copy there is removed, out of band (a marker gives the delete a target).
    response = alice_client.post(f"/notifications/{n.pk}/restore/", {"copy": "panel"}, headers=HTMX)
    assert response.status_code == 200
    assert f"delete:#panel-notification-{n.pk}, #notification-panel > .nb-cut" in swaps(response.content.decode())
    [message] = count_messages(sent)
    assert "Restored: Deploy finished" in outcome_of(message["html"]).words
    assert not Notification.objects.get(pk=n.pk).is_archived


def test_mark_all_read_names_what_it_changed_and_undo_brings_exactly_those_back(
    alice: Any, bob: Any, sent: list[Any]
) -> None:
    read_before = notify(alice, "read before")
    mark_read(alice, read_before.pk)
    first, second = notify(alice, "one"), notify(alice, "two")
    bobs = notify(bob, "bob's")
    sent.clear()
    assert sorted(api.mark_all_read_undoable(alice)) == sorted([first.pk, second.pk])
    [message] = count_messages(sent)
    outcome = outcome_of(message["html"])
    assert "Marked 2 notifications read." in outcome.words
    [ids] = elements(message["html"], name="ids")
    assert sorted(ids.attrs["value"].split(",")) == sorted([str(first.pk), str(second.pk)])
    sent.clear()
    # The Undo, with an id of bob's and one that was read before slipped in: only alice's two come back.
    assert api.mark_unread_many(alice, [first.pk, second.pk, bobs.pk, "x", None]) == 2
    assert {n.pk for n in Notification.objects.unread()} == {first.pk, second.pk, bobs.pk}
    [message] = count_messages(sent)
    assert "2 notifications unread again." in outcome_of(message["html"]).words
    assert api.mark_unread_many(alice, []) == 0 and api.mark_all_read_undoable(bob) == [bobs.pk]


def test_undo_brings_back_at_most_max_undo_items(alice: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(api, "MAX_UNDO", 2)
    made = [notify(alice, f"n{i}") for i in range(3)]
    ids = api.mark_all_read_undoable(alice)
    assert ids == [made[2].pk, made[1].pk]  # the newest; every one is read all the same
    assert Notification.objects.unread().count() == 0
    assert api.mark_unread_many(alice, [n.pk for n in made]) == 2


def test_the_undo_of_mark_all_read_without_javascript_and_over_the_socket(alice: Any, alice_client: Client) -> None:
    one, two = notify(alice, "one"), notify(alice, "two")
    token = {"csrfmiddlewaretoken": _token(alice_client)}
    response = alice_client.post("/notifications/read-all/", token)
    assert response.status_code == 302
    response = alice_client.post("/notifications/unread/", {**token, "ids": f"{one.pk},{two.pk}"})
    assert response.status_code == 302 and Notification.objects.unread().count() == 2
    api.mark_all_read(alice)
    ACTIONS["unread_many"](alice, {"ids": [str(one.pk)]})  # a list, as ws-send sends several fields
    ACTIONS["unread_many"](alice, {"ids": str(two.pk)})  # one comma-separated string
    ACTIONS["unread_many"](alice, {"ids": {"nested": 1}})  # anything else names nothing
    assert Notification.objects.unread().count() == 2


def test_mark_all_read_by_htmx_gives_the_acting_tab_the_focus(
    alice: Any, alice_client: Client, sent: list[Any]
) -> None:
    notify(alice, "one")
    newest = notify(alice, "two")
    sent.clear()
    tab = "abcdefgh12345678"
    response = alice_client.post("/notifications/read-all/", headers={**HTMX, "X-Notification-Tab": tab})
    assert response.status_code == 204
    [state] = [message for _, message in sent if message["type"] == "notification.state"]
    assert state["focus"] == {"tab": tab, "pk": newest.pk}


def _token(client: Client) -> str:
    client.get("/notifications/")
    return client.cookies["csrftoken"].value


# --- tabs --------------------------------------------------------------------------------------------------


def test_the_bar_renders_its_tabs_uncounted_and_counts_them_when_asked(alice: Any, alice_client: Client) -> None:
    notify(alice, "one")
    notify(alice, "muted", kind="comment")
    Notification.objects.filter(kind="comment").update(muted=True)  # the bar never showed it
    page = alice_client.get("/").content.decode()
    tabs = elements(page, data_panel_tab=ANY)
    assert [t.attrs["data-panel-tab"] for t in tabs] == ["unread", "all", "archived", "kind:comment"]
    assert within(page, "notification-tabs", data_count=ANY) == []  # not counted: no query on page load
    html = alice_client.get("/notifications/panel/counts/", headers=HTMX).content.decode()
    slugs = ("unread", "all", "archived", "kind-comment")
    counts = {f"notification-tab-{slug}-count": text_of(html, f"notification-tab-{slug}-count") for slug in slugs}
    assert counts == {
        "notification-tab-unread-count": "1 (1 notification)",
        "notification-tab-all-count": "1 (1 notification)",
        "notification-tab-archived-count": "0 (0 notifications)",
        "notification-tab-kind-comment-count": "0 (0 notifications)",
    }
    assert elements(html, data_panel_tab=ANY) == []  # the counts alone: the tab the page has chosen stays so


def test_choosing_archive_shows_its_page_and_resets_the_live_lists_paging(alice: Any, alice_client: Client) -> None:
    kept, gone = notify(alice, "kept"), notify(alice, "gone")
    archive(alice, gone.pk)
    html = panel(alice_client, "notification-view-slot", show="archived")
    assert pks(html, "panel-notification") == [gone.pk] and kept.pk not in pks(html, "panel-notification")
    view = element(html, class_="nb-view")
    assert (view.attrs["data-show"], view.attrs["data-live"]) == ("archived", "false")
    assert "innerHTML:#notification-tabs-slot" in swaps(html) and "innerHTML:#notification-older" in swaps(html)
    [chosen] = elements(html, aria_current="true")
    assert chosen.attrs["data-panel-tab"] == "archived"
    html = panel(alice_client, "notification-view-slot", show="unread")
    assert element(html, class_="nb-view").attrs["data-live"] == "true" and pks(html) == []


def test_a_kind_tab_lists_that_kind_and_its_copies_say_so(alice: Any, alice_client: Client) -> None:
    notify(alice, "build")
    comment = notify(alice, "commented", kind="comment")
    html = panel(alice_client, "notification-view-slot", show="kind:comment")
    assert pks(html, "panel-notification") == [comment.pk]
    copies = {e.attrs["value"] for e in elements(html, name="copy")}
    assert copies == {"panel"}  # its forms' answers update this copy, which the frames do not reach


def test_a_view_copy_read_is_updated_in_the_acting_tab(alice: Any, alice_client: Client) -> None:
    comment = notify(alice, "commented", kind="comment")
    headers = {**HTMX, "HX-Target": f"panel-notification-{comment.pk}-controls"}
    html = alice_client.post(f"/notifications/{comment.pk}/read/", {"copy": "panel"}, headers=headers)
    answer = html.content.decode()
    assert f"beforebegin:#panel-notification-{comment.pk}" in swaps(answer)
    [copy] = [e for e in elements(answer, id=f"panel-notification-{comment.pk}")]
    assert copy.attrs["data-read"] == "true"


# --- Load more ---------------------------------------------------------------------------------------------


def test_load_more_starts_after_the_lists_last_item_whatever_arrived(
    alice: Any, alice_client: Client, settings: Any
) -> None:
    settings.NOTIFICATIONS = {"PAGE_SIZE": 3, "BAR_SIZE": 2}
    made = [notify(alice, f"n{i}") for i in range(8)]  # newest last
    newest_first = [n.pk for n in reversed(made)]
    # The live list shows n7, n6; an arrival pushes n6 out (the cut); the browser names n7's id as the last.
    notify(alice, "arrival")
    html = panel(alice_client, "notification-older", show="all", after=newest_first[0])
    assert pks(html) == newest_first[1:4]  # n6 (cut meanwhile), n5, n4: no gap
    assert {e.attrs["value"] for e in elements(html, name="copy")} == {"older"}
    # Two lists send their last items; the last one given (the older pages') wins.
    html = panel(alice_client, "notification-older", show="all", after=[newest_first[0], newest_first[3]])
    assert pks(html) == newest_first[4:7]
    assert element(html, id="notification-more-next").words == "Load more"
    html = panel(alice_client, "notification-older", show="all", after=newest_first[6])
    assert pks(html) == newest_first[7:]
    assert text_of(html, "notification-more-next") == "No older notifications."


def test_load_more_in_unread_pages_unread_items(alice: Any, alice_client: Client, settings: Any) -> None:
    settings.NOTIFICATIONS = {"PAGE_SIZE": 5}
    made = [notify(alice, f"n{i}") for i in range(4)]
    mark_read(alice, made[1].pk)
    html = panel(alice_client, "notification-older", show="unread", after=made[3].pk)
    assert pks(html) == [made[2].pk, made[0].pk]


def test_load_more_after_someone_elses_or_a_bad_id_shows_nothing(alice: Any, bob: Any, alice_client: Client) -> None:
    notify(alice, "mine")
    bobs = notify(bob, "bob's")
    for after in (bobs.pk, "x", ""):
        html = panel(alice_client, "notification-older", show="all", after=after)
        assert pks(html) == [], after


def test_a_view_pages_with_its_own_ids(alice: Any, alice_client: Client, settings: Any) -> None:
    settings.NOTIFICATIONS = {"PAGE_SIZE": 2}
    made = [notify(alice, f"n{i}") for i in range(3)]
    for n in made:
        archive(alice, n.pk)
    html = panel(alice_client, "notification-view-slot", show="archived")
    assert pks(html, "panel-notification") == [made[2].pk, made[1].pk]
    html = panel(alice_client, "notification-view", show="archived", after=made[1].pk)
    assert pks(html, "panel-notification") == [made[0].pk]


def test_the_panel_without_htmx_is_the_history_pages_tab(alice_client: Client) -> None:
    response = alice_client.get("/notifications/panel/", {"show": "archived"})
    assert response.status_code == 302 and response["Location"] == "/notifications/?show=archived"


def test_a_cursor_after_an_item(alice: Any, bob: Any) -> None:
    n = notify(alice, "one")
    assert inbox.decode(inbox.after(alice.pk, n.pk)) == (n.updated_at, n.pk)
    assert inbox.after(bob.pk, n.pk) is None and inbox.after(alice.pk, "nope") is None


def test_opening_the_panel_on_a_long_history_reads_one_page_with_bounded_queries(
    alice: Any, bob: Any, alice_client: Client, django_assert_max_num_queries: Any
) -> None:
    """Issue 27's bound: with 5,000 items in alice's history, each of the panel's requests (its counts, each
    tab, Load more) makes as many queries as with a history of a few items, and reads one page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    def requests() -> list[int]:
        """The query count of each request an open panel makes."""
        counts = []
        for path, query, target in (
            ("/notifications/panel/counts/", {}, ""),
            ("/notifications/panel/", {"show": "unread"}, "notification-view-slot"),
            ("/notifications/panel/", {"show": "archived"}, "notification-view-slot"),
            ("/notifications/panel/", {"show": "kind:comment"}, "notification-view-slot"),
            ("/notifications/panel/", {"show": "all", "after": newest}, "notification-older"),
            ("/notifications/panel/", {"show": "archived", "after": archived}, "notification-view"),
        ):
            with CaptureQueriesContext(connection) as captured:
                response = alice_client.get(path, query, headers={**HTMX, "HX-Target": target})
            assert response.status_code == 200
            counts.append(len(captured))
        return counts

    notify(bob, "bob's own")
    for i in range(3):
        notify(alice, f"n{i}", kind="comment" if i % 2 else "")
    newest = Notification.objects.filter(recipient=alice).latest("updated_at").pk
    archive(alice, newest)
    archived = newest
    requests()  # once first: a reader's first request stores their preferences
    short = requests()
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(
            recipient=alice,
            message=f"old {i}",
            kind="comment" if i % 3 == 0 else "",
            archived_at=now if i % 4 == 0 else None,
            read_at=now if i % 2 else None,
            updated_at=now - timezone.timedelta(seconds=10 + i),
        )
        for i in range(5_000)
    )
    assert Notification.objects.filter(recipient=alice).count() > 5_000
    assert requests() == short
    with django_assert_max_num_queries(8):
        html = panel(alice_client, "notification-older", show="all", after=newest)
    assert 0 < len(pks(html)) <= 20  # one page (PAGE_SIZE)
