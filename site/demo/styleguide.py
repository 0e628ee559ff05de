"""The styleguide (GET /styleguide/): every state of the bar, from the real partials, with sample data.

Designers and QA see each state in a section of its own (``<section id="state-...">``); the browser tests in
``e2e/test_styleguide.py`` screenshot each section and compare it with ``e2e/reference/``.

Nothing here touches the database: the samples are unsaved ``Notification`` objects and plain ``State``s,
rendered by the same partials the bar, the frames and the history page use. No script is loaded (htmx would
open a WebSocket and replace a sample list with the visitor's real one), and no CSRF token is rendered, so the
sample forms are inert: submitting one is refused by Django's CSRF check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from notifications import conf, rendering
from notifications.kinds import Kind, all_kinds
from notifications.models import Level, Notification
from notifications.state import State

LIST_TEMPLATE = "partials/notification_list.html"
TOOLBAR_TEMPLATE = "partials/notification_toolbar.html"
STYLESHEET = "notifications/notifications.css"

# Every fixed id the partials use starts with "notification-" (bar, count, list, read-all, announcement,
# notification-<pk>). Renamed per section so the page keeps unique ids; the CSS styles classes and data
# attributes only, so the look is unchanged.
_FIXED_ID = re.compile(r'(?<![\w-])id="notification-')

_LIGHT_TOKENS = re.compile(r":root\s*\{([^}]*)\}")
_DARK_TOKENS = re.compile(r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)\s*\{\s*:root\s*\{([^}]*)\}")
_TOKEN = re.compile(r"(--nb-[\w-]+)\s*:\s*([^;]+);")


def sample(
    pk: int, message: str, *, minutes_ago: int = 5, read: bool = False, archived: bool = False, **fields: Any
) -> Notification:
    """An unsaved notification: never stored, only rendered."""
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return Notification(
        pk=pk,
        recipient_id=0,
        message=message,
        created_at=when,
        updated_at=when,
        read_at=when if read or archived else None,
        archived_at=when if archived else None,
        **fields,
    )


def render_partial(template: str, prefix: str | None, **context: Any) -> SafeString:
    """A partial rendered without a request (so without a CSRF token), its fixed ids renamed ``<prefix>-...``.

    ``prefix=None`` keeps the partials' own ids (for the one real bar on the page).
    """
    html = render_to_string(template, {"ws_path": conf.get("WEBSOCKET_PATH"), **context})
    if prefix is not None:
        html = _FIXED_ID.sub(f'id="{prefix}-', html)
    return mark_safe(html)  # our own partials' output, already escaped


@dataclass(frozen=True)
class BarState:
    """A state of the bar: its toggle (the whole, closed bar) and the open panel's content."""

    id: str
    title: str
    note: str
    state: State

    @property
    def bar(self) -> SafeString:
        return render_partial(rendering.BAR_TEMPLATE, self.id, state=self.state)

    @property
    def panel(self) -> SafeString:
        toolbar = render_partial(TOOLBAR_TEMPLATE, f"{self.id}-panel")
        items = render_partial(LIST_TEMPLATE, f"{self.id}-panel", items=self.state.items, live=True)
        return mark_safe(toolbar + items)


@dataclass(frozen=True)
class Token:
    name: str
    light: str
    dark: str

    @property
    def kind(self) -> str:
        for kind in ("radius", "shadow", "space", "width"):
            if self.name.endswith(kind):
                return kind
        return "color"


def design_tokens() -> list[Token]:
    """The custom properties at the top of the bar's stylesheet, with their light and dark defaults."""
    path = finders.find(STYLESHEET)
    if not path:
        return []
    css = Path(path).read_text(encoding="utf-8")
    light_block = _LIGHT_TOKENS.search(css)
    dark_block = _DARK_TOKENS.search(css)
    light = dict(_TOKEN.findall(light_block.group(1))) if light_block else {}
    dark = dict(_TOKEN.findall(dark_block.group(1))) if dark_block else {}
    return [Token(name, value.strip(), dark.get(name, "").strip()) for name, value in light.items()]


def bar_states() -> list[BarState]:
    return [
        BarState("state-empty", "Empty", "Nothing unread, nothing to show: the badge reads 0.", State(0, [])),
        BarState(
            "state-one-unread",
            "One unread",
            "A single new notification.",
            State(1, [sample(9101, "Build 42 finished", level=Level.SUCCESS)]),
        ),
        BarState(
            "state-many-unread",
            "Many unread (badge overflow)",
            "128 unread: the badge's text stays the exact integer (its contract); CSS shows “99+” via "
            "data-overflow. The bar lists the latest items only.",
            State(
                128,
                [
                    sample(9201, "Deploy started on production", minutes_ago=2),
                    sample(9202, "Disk usage on db-2 is at 91%", title="Capacity", level=Level.WARNING, minutes_ago=60),
                    sample(9203, "Payment webhook failed 3 times", level=Level.ERROR, minutes_ago=180),
                ],
            ),
        ),
    ]


def item_samples() -> dict[str, list[Notification]]:
    long_message = (
        "The nightly export of the analytics warehouse took 3 h 12 min, longer than the 2 h budget, because the "
        "events table grew by 40 % this week. Consider partitioning it or moving the export window. Details: "
        "https://ci.example.com/pipelines/analytics-nightly-export/runs/2024-06-01T02:00:00Z/logs/full"
    )
    return {
        "bar": [
            sample(9001, "Build 42 finished", level=Level.SUCCESS, url="/notifications/", minutes_ago=1),
            sample(9002, "Disk usage on db-2 is at 91%", title="Capacity", level=Level.WARNING, minutes_ago=30),
            sample(9003, "Nightly backup completed", level=Level.SUCCESS, read=True, minutes_ago=600),
        ],
        "levels": [
            sample(9301, "Information: a new version is available", level=Level.INFO),
            sample(9302, "Success: the backup completed", level=Level.SUCCESS),
            sample(9303, "Warning: the certificate expires in 5 days", level=Level.WARNING),
            sample(9304, "Error: the payment webhook failed", level=Level.ERROR),
        ],
        "long": [sample(9401, long_message, title="Nightly export over budget", level=Level.WARNING)],
        "link": [sample(9501, "Build 42 finished: open the build", level=Level.SUCCESS, url="/builds/42/")],
        "actions": [
            sample(
                9601,
                "Approve the release?",
                title="Release 3.1",
                actions=[
                    {"label": "Approve", "url": "/releases/31/approve/"},
                    {"label": "Decline", "url": "/releases/31/decline/"},
                ],
            )
        ],
        "grouped": [
            sample(
                9701,
                "commented on Build 42",
                group_key="build-42-comments",
                group_count=4,
                actors=["alice", "bob", "carol", "dave"],
            ),
            sample(9702, "Nightly backup failed", level=Level.ERROR, group_key="backup-failed", group_count=3),
        ],
        "read": [sample(9801, "Nightly backup completed", title="Backups", level=Level.SUCCESS, read=True)],
        "archived": [sample(9851, "Maintenance finished", level=Level.INFO, archived=True, minutes_ago=2880)],
        "history": [
            sample(9901, "Build 42 finished", level=Level.SUCCESS, url="/builds/42/", minutes_ago=1),
            sample(9902, "Disk usage on db-2 is at 91%", title="Capacity", level=Level.WARNING, read=True),
        ],
    }


def kind_samples() -> list[tuple[Kind, Notification]]:
    """Every kind the project declares (NOTIFICATIONS["KINDS"]), rendered with its own partial and level."""
    return [
        (kind, sample(9950 + i, f"A {kind.label.lower()} notification", level=kind.level, kind=kind.name))
        for i, kind in enumerate(all_kinds().values())
    ]


@require_GET
def styleguide(request: HttpRequest) -> HttpResponse:
    samples = item_samples()
    return render(
        request,
        "demo/styleguide.html",
        {
            # The template's {% include %}s get no token either (the view's context wins over the processor).
            "csrf_token": "",
            "tokens": design_tokens(),
            # The one bar with the real ids (#notification-bar, #notification-count, #notification-list).
            "real_bar": render_partial(rendering.BAR_TEMPLATE, None, state=State(2, samples["bar"])),
            "bar_states": bar_states(),
            "samples": samples,
            "kinds": kind_samples(),
        },
    )
