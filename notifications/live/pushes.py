"""What each change pushes: frames rendered from the database, addressed to the users' groups, sent.

The API stores and schedules (on commit); this module renders and addresses; ``delivery`` sends.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from ..models import Notification
from ..store import UserPk
from ..store.readers import Reader, readers
from ..store.state import annotate, badge_counts, load_states, unread_counts
from ..web import rendering
from . import delivery, protocol

#: From this many recipients on, one notify() goes as one message to every server process, which hands each
#: of its sockets its user's frame, instead of one message per recipient's group.
FAN_OUT_FROM = 50


def new_items(created: list[Notification], who: Mapping[UserPk, Reader] | None = None) -> None:
    """One frame per recipient: the new item, their badge (rendered once per distinct count), the toast; each
    rendered in its recipient's language and time zone, once per distinct frame (never once per recipient).
    ``who``: the recipients' readers when the caller knows them already."""
    counts = badge_counts([n.recipient_id for n in created])
    who = who or readers(list(counts))
    by_reader: dict[Reader, list[Notification]] = defaultdict(list)
    for n in created:
        by_reader[who[n.recipient_id]].append(n)
    messages: list[delivery.Addressed] = []
    for reader, part in by_reader.items():
        messages += _new_item_messages(part, counts, reader)
    delivery.send(messages)


def _new_item_messages(
    created: list[Notification], counts: Mapping[UserPk, int], reader: Reader
) -> list[delivery.Addressed]:
    recipients = {n.recipient_id for n in created}
    one_each = len(recipients) == len(created) >= FAN_OUT_FROM  # one item per recipient, enough of them
    shared = rendering.render_shared_new_frame(created, counts, reader=reader) if one_each else None
    if shared is not None:
        html, count_parts = shared
        items = {n.recipient_id: (n.pk, counts[n.recipient_id]) for n in created}
        return [(protocol.broadcast_group(), protocol.pushes(html, count_parts, items))]
    return [
        (protocol.user_group(n.recipient_id), protocol.push(n.recipient_id, n.pk, html, counts[n.recipient_id]))
        for n, html in rendering.render_new_frames(created, counts, reader=reader)
    ]


def states(user_pks: list[UserPk], focus: tuple[str, int] | None = None) -> None:
    """Each user's whole bar, rendered once per user in their language, to all of their tabs (``focus``: see
    protocol.state)."""
    who = readers(user_pks)
    messages: list[delivery.Addressed] = []
    for pk, state in load_states(user_pks).items():
        html = rendering.render_state_frame(state, reader=who[pk])
        message = protocol.state(pk, state.pks, html, state.badge, focus, wake_at=state.wake_at)
        messages.append((protocol.user_group(pk), message))
    delivery.send(messages)


def change(user_pk: UserPk, pk: int) -> None:
    """Only the changed item (and the badge, and the item moving up after a dismiss) to the user's tabs."""
    notification = Notification.objects.filter(pk=pk).first()
    if notification is None:
        return
    annotate([notification])
    state = load_states([user_pk])[user_pk]
    parts = rendering.render_change_parts(notification, state, reader=readers([user_pk])[user_pk])
    message = protocol.change(user_pk, pk, state.pks, state.badge, parts)
    delivery.send([(protocol.user_group(user_pk), message)])


def count(user_pk: UserPk) -> None:
    """Only the badge (and "Mark all read") to the user's tabs: what their panel showed was seen."""
    badge, unread = badge_counts([user_pk])[user_pk], unread_counts([user_pk])[user_pk]
    html = rendering.render_count_frame(badge, reader=readers([user_pk])[user_pk], unread=unread > 0)
    delivery.send([(protocol.user_group(user_pk), protocol.count(user_pk, html, badge))])


def outcome(user_pk: UserPk, name: str, pks: list[int], total: int) -> None:
    """What an action did (and its Undo), with the badge, to all of the user's tabs (``rendering.OUTCOMES``)."""
    items = list(annotate(list(Notification.objects.filter(recipient_id=user_pk, pk__in=pks[:1]))))
    badge, unread = badge_counts([user_pk])[user_pk], unread_counts([user_pk])[user_pk]
    reader = readers([user_pk])[user_pk]
    html = rendering.render_count_frame(badge, reader=reader, unread=unread > 0)
    html += rendering.render_outcome_frame(name, items[0] if items else None, pks, total, reader=reader)
    delivery.send([(protocol.user_group(user_pk), protocol.count(user_pk, html, badge))])


def to_user(message: protocol.UserMessage) -> None:
    """``message`` to all of its user's sockets."""
    delivery.send([(protocol.user_group(message["user"]), message)])


def to_everyone(message: protocol.Refresh) -> None:
    """``message`` to every open socket."""
    delivery.send([(protocol.broadcast_group(), message)])
