"""The inbox of the history page and of the bar's panel: tabs with their counts, pages read by keyset, newest first.

A tab is a filter: ``unread``, ``all``, ``archived``, or ``kind:<name>`` for each kind declared with
``"tab": True``. Unread and All leave out snoozed items (they come back when their snooze ends) and archived ones;
Archive holds the archived. Muted rows are listed like any other (the history keeps what the bar never showed).

Pages follow the model's order, ``(-updated_at, -id)`` (the index ``notif_recipient_latest``). The next page
starts after the last item shown, named by its ``(updated_at, id)`` in an opaque cursor, not at an offset: rows
that arrive while someone pages back are newer than every cursor, so no page repeats an item of the one before,
and none is skipped. Each count stops after :data:`COUNT_LIMIT` + 1 rows ("99+", like the badge), so a long
history is not counted to its end on every page view.

The panel shows the same tabs over the rows the bar shows (``panel=True``: muted rows left out, as the bar never
showed them); its pages start after the last item a tab's list holds (:func:`after`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from ..models import Notification, NotificationQuerySet
from .kinds import all_kinds
from .validation import parse_pk

#: Counts stop here: a tab with more rows shows "99+", as the bar's badge does (counting stops at 100 rows).
COUNT_LIMIT = 99

Filter = Callable[[NotificationQuerySet], NotificationQuerySet]

BUILT_IN: dict[str, tuple[str | Promise, Filter]] = {
    "unread": (pgettext_lazy("notifications filter", "Unread"), lambda qs: qs.active().awake().unread()),
    "all": (pgettext_lazy("notifications filter", "All"), lambda qs: qs.active().awake()),
    "archived": (pgettext_lazy("notifications filter", "Archived"), lambda qs: qs.archived()),
}
DEFAULT = "all"
KIND_PREFIX = "kind:"


@dataclass(frozen=True)
class Tab:
    #: What ``?show=`` says: "unread", "all", "archived" or "kind:<name>".
    name: str
    label: str | Promise
    #: Rows in it (unread ones for Unread), at most ``COUNT_LIMIT + 1``; None: not counted (the bar's first render).
    count: int | None = 0

    @property
    def more(self) -> bool:
        """More rows than :data:`COUNT_LIMIT`: the count shows as "99+"."""
        return self.count is not None and self.count > COUNT_LIMIT

    @property
    def shown_count(self) -> int:
        return min(self.count or 0, COUNT_LIMIT)

    @property
    def slug(self) -> str:
        """The name as a piece of an HTML id ("kind:comment" -> "kind-comment")."""
        return _NOT_IN_ID.sub("-", self.name)


_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_-]")


def tab_names() -> list[str]:
    """Every tab, in order: the built-in ones, then each kind declared with ``"tab": True``."""
    return [*BUILT_IN, *(KIND_PREFIX + name for name, kind in all_kinds().items() if kind.tab)]


def tab_name(show: str | None) -> str:
    """``?show=`` as a tab's name; anything else is the default tab."""
    return show if show in tab_names() else DEFAULT


def rows(user_pk: Any, name: str, *, panel: bool = False) -> NotificationQuerySet:
    """The user's rows in tab ``name`` (one of :func:`tab_names`), in the page's order (``panel``: the panel's,
    without muted rows)."""
    qs = Notification.objects.filter(recipient_id=user_pk)
    if panel:
        qs = qs.visible()
    if name in BUILT_IN:
        return BUILT_IN[name][1](qs)
    return qs.active().awake().filter(kind=name.removeprefix(KIND_PREFIX))


def label(name: str) -> str | Promise:
    if name in BUILT_IN:
        return BUILT_IN[name][0]
    return all_kinds()[name.removeprefix(KIND_PREFIX)].label


def uncounted() -> list[Tab]:
    """Every tab without its count (no query): the bar's first render, which counts when its panel opens."""
    return [Tab(name, label(name), None) for name in tab_names()]


def tabs(user_pk: Any, *, panel: bool = False) -> list[Tab]:
    """Every tab with its count, in one query however many tabs there are; each count stops after
    ``COUNT_LIMIT + 1`` rows (``SELECT (SELECT COUNT(*) FROM (<the tab's rows> LIMIT 100)), ...``)."""
    names = tab_names()
    limited = [rows(user_pk, name, panel=panel).order_by().values("id")[: COUNT_LIMIT + 1] for name in names]
    using = limited[0].db
    parts, params = [], []
    for qs in limited:
        sql, part_params = qs.query.get_compiler(using=using).as_sql()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) nb_tab)")
        params.extend(part_params)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        found = cursor.fetchone()
    return [Tab(name, label(name), count) for name, count in zip(names, found, strict=True)]


@dataclass(frozen=True)
class Page:
    items: Sequence[Notification]
    #: The cursor of the next (older) page; "" on the last page.
    next: str


def older(qs: NotificationQuerySet, before: str | None) -> NotificationQuerySet:
    """The rows of ``qs`` after the cursor ``before`` (all of them when it is missing or not a cursor), newest
    first."""
    position = decode(before)
    if position is not None:
        updated_at, pk = position
        # updated_at <= t is what an index scan starts from; the OR settles the ties on id.
        qs = qs.filter(updated_at__lte=updated_at).filter(Q(updated_at__lt=updated_at) | Q(id__lt=pk))
    return qs.order_by("-updated_at", "-id")


def page(qs: NotificationQuerySet, before: str | None, size: int) -> Page:
    """One page of ``qs``: up to ``size`` rows after the cursor ``before`` (from the newest when it is missing or
    not a cursor), in one query."""
    found = list(older(qs, before)[: size + 1])
    items = found[:size]
    more = len(found) > size
    return Page(items, encode(items[-1]) if more else "")


def after(user_pk: Any, pk: object) -> str | None:
    """The cursor after the user's item ``pk`` (the last one a panel's list holds), or None when it is not theirs
    (a bad id, or gone): the panel names its last item by id, which every list item carries."""
    found = parse_pk(pk)
    row = Notification.objects.filter(recipient_id=user_pk, pk=found).only("updated_at").first() if found else None
    return encode(row) if row is not None else None


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)
_CURSOR = re.compile(r"(-?\d{1,18})\.(\d{1,18})")


def encode(notification: Notification) -> str:
    """The cursor after ``notification``: its ``(updated_at, id)``, opaque in a URL."""
    micros = (notification.updated_at - _EPOCH) // _MICROSECOND
    return base64.urlsafe_b64encode(f"{micros}.{notification.pk}".encode()).decode().rstrip("=")


def decode(token: str | None) -> tuple[datetime.datetime, int] | None:
    """``(updated_at, id)`` from a cursor; None for anything that is not one of :func:`encode`'s."""
    if not token or len(token) > 64:
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    match = _CURSOR.fullmatch(text)
    if match is None:
        return None
    try:
        return _EPOCH + int(match[1]) * _MICROSECOND, int(match[2])
    except OverflowError:
        return None
