"""Reading the bar from the database: counts, order, the cap, other users, and batch reads agreeing with one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications import archive, mark_read, notify
from notifications.models import Notification
from notifications.store import api
from notifications.store.state import (
    State,
    badge_counts,
    chunks,
    latest_items,
    load_state,
    load_states,
    unread_counts,
)

pytestmark = pytest.mark.django_db


def test_the_bar_holds_the_newest_active_items_and_counts_unread(alice: Any, bob: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"BAR_SIZE": 3}
    sent = [notify(alice, f"n{i}") for i in range(5)]
    notify(bob, "not alice's")
    mark_read(alice, sent[4].pk)
    archive(alice, sent[3].pk)
    state = load_state(alice)
    assert [n.message for n in state.items] == ["n4", "n2", "n1"]  # newest first, dismissed left out, capped
    assert state.unread_count == 3  # n0..n2: read and dismissed ones are not unread
    assert state.pks == [sent[4].pk, sent[2].pk, sent[1].pk]


def test_a_grouped_item_that_counts_up_moves_to_the_top(alice: Any) -> None:
    notify(alice, "first", group_key="comments")
    notify(alice, "other")
    notify(alice, "second", group_key="comments")
    assert [(n.message, n.group_count) for n in load_state(alice).items] == [("second", 2), ("other", 1)]


def test_a_user_with_nothing_has_an_empty_bar(alice: Any) -> None:
    assert load_state(alice) == State(unread_count=0, items=[])


def test_many_users_read_at_once_agree_with_one_at_a_time(settings: Any) -> None:
    settings.NOTIFICATIONS = {"BAR_SIZE": 4}
    users = [get_user_model().objects.create_user(f"user{i}") for i in range(6)]
    for i, user in enumerate(users):
        for j in range(i):  # user0 has none, user5 has five
            n = notify(user, f"{user.username}-{j}")
            if j % 2:
                mark_read(user, n.pk)
    batch = load_states([u.pk for u in users] + [users[0].pk])  # duplicates are read once
    assert set(batch) == {u.pk for u in users}
    for user in users:
        one = load_state(user)
        assert (batch[user.pk].unread_count, batch[user.pk].pks) == (one.unread_count, one.pks)


def test_a_batch_reads_each_users_latest_items_with_a_limit_in_a_few_queries(
    alice: Any, bob: Any, settings: Any, django_assert_num_queries: Any
) -> None:
    """Before: ROW_NUMBER() over every active row of each user in the batch (a heavy user's whole history
    ranked on each connect). Now each user's read stops at BAR_SIZE rows, as load_state's does. Three queries
    for the whole batch: the items, the unread and badge (unseen) counts together, the next snooze to end."""
    settings.NOTIFICATIONS = {"BAR_SIZE": 2}
    for i in range(5):
        notify(alice, f"a{i}")
    notify(bob, "b0")
    with django_assert_num_queries(3) as queries:
        states = load_states([alice.pk, bob.pk, 10**9])
    items_query = next(q["sql"] for q in queries.captured_queries if "UNION ALL" in q["sql"])
    assert items_query.count("LIMIT 2") == 4 and "ROW_NUMBER" not in items_query.upper()  # 3 users, 4 parts
    assert [n.message for n in states[alice.pk].items] == ["a4", "a3"]
    assert [n.message for n in states[bob.pk].items] == ["b0"]
    assert states[10**9] == State(unread_count=0, items=[])
    assert states[alice.pk] == load_state(alice)


def test_batches_of_similar_sizes_share_one_statement(alice: Any, django_assert_num_queries: Any) -> None:
    """Each batch size made a statement of its own, and the database driver keeps the statements it has seen
    (sqlite3's cache of 128 per connection, psycopg's prepared statements): now a handful of shapes."""
    statements = set()
    for size in range(5, 9):
        with django_assert_num_queries(1) as queries:
            latest_items([alice.pk, *range(10**9, 10**9 + size - 1)])
        statements.add(queries.captured_queries[0]["sql"].count(" UNION ALL "))
    assert statements == {7}  # 8 parts for 5 to 8 users


def test_unread_counts_take_one_query_per_chunk(alice: Any, bob: Any, django_assert_num_queries: Any) -> None:
    notify(alice, "a")
    notify(alice, "b")
    ids = [alice.pk, bob.pk, 10**9]
    with django_assert_num_queries(1):
        assert unread_counts(ids) == {alice.pk: 2, bob.pk: 0, 10**9: 0}


@pytest.mark.parametrize("badge", ["unseen", "unread"])
def test_a_batchs_unread_and_badge_counts_agree_with_each_count_read_alone(settings: Any, badge: str) -> None:
    """The unread and unseen counts of a batch come from one read of the unread rows (they were two queries)."""
    settings.NOTIFICATIONS = {"BADGE_COUNTS": badge}
    users = [get_user_model().objects.create_user(f"user{i}") for i in range(4)]
    for i, user in enumerate(users):
        rows = [notify(user, f"{user.username}-{j}") for j in range(i + 2)]
        api.mark_seen(user, [rows[0].pk])  # seen, still unread: unread, not unseen
        if i % 2:
            mark_read(user, rows[1].pk)
        Notification.objects.filter(pk=rows[-1].pk).update(muted=i == 2)  # muted rows count nowhere
        if i == 3:
            api.snooze(user, rows[-1].pk, "week")  # a snoozed row counts again when it is back
    ids = [u.pk for u in users]
    states = load_states(ids)
    unread, badges = unread_counts(ids), badge_counts(ids)
    assert {pk: (s.unread_count, s.badge) for pk, s in states.items()} == {pk: (unread[pk], badges[pk]) for pk in ids}
    first = states[users[0].pk]  # two unread rows, one of them seen
    assert (first.unread_count, first.badge) == (2, 1 if badge == "unseen" else 2)


def test_chunks_cover_every_id_once_in_order() -> None:
    ids = list(range(7))
    assert [list(c) for c in chunks(ids, size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunks([], size=3)) == []


def test_items_are_ordered_by_their_last_change_not_their_creation(alice: Any) -> None:
    old = notify(alice, "old")
    notify(alice, "new")
    type(old).objects.filter(pk=old.pk).update(updated_at=timezone.now() + timedelta(seconds=5))
    assert [n.message for n in load_state(alice).items] == ["old", "new"]
