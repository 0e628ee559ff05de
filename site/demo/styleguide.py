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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from notifications import conf
from notifications.models import Level, Notification
from notifications.store.inbox import Tab, label, tab_names
from notifications.store.kinds import Kind, all_kinds
from notifications.store.state import State
from notifications.web import rendering

from .models import Ticket

LIST_TEMPLATE = "partials/notification_list.html"
TOOLBAR_TEMPLATE = "partials/notification_toolbar.html"
STYLESHEET = "notifications/notifications.css"

# Every fixed id the partials use starts with "notification-" (bar, count, list, read-all, announcement,
# notification-<pk>). Renamed per section so the page keeps unique ids; the CSS styles classes and data
# attributes only, so the look is unchanged.
_FIXED_ID = re.compile(r'(?<![\w-])(id|popovertarget)="notification-')

_LIGHT_TOKENS = re.compile(r":root\s*\{([^}]*)\}")
_DARK_TOKENS = re.compile(
    r"@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)\s*\{\s*(?:/\*.*?\*/\s*)?(?::root)+\s*\{([^}]*)\}", re.S
)
_TOKEN = re.compile(r"(--nb-[\w-]+)\s*:\s*([^;]+);")


#: The samples' clock: fixed, so the absolute times they show (and the screenshots) never change.
SAMPLE_NOW = datetime(2024, 6, 1, 9, 41, tzinfo=UTC)


def sample(
    pk: int, message: str, *, minutes_ago: int = 5, read: bool = False, archived: bool = False, **fields: Any
) -> Notification:
    """An unsaved notification: never stored, only rendered."""
    when = SAMPLE_NOW - timedelta(minutes=minutes_ago)
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
        html = _FIXED_ID.sub(rf'\1="{prefix}-', html)
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
        BarState(
            "state-seen",
            "Seen, still unread",
            "The panel was opened: what it showed is seen, so the badge reads 0 in every tab, while each item "
            'stays unread (highlighted, with “Mark read”) until it is read. BADGE_COUNTS = "unread" counts '
            "unread items instead.",
            State(
                2,
                [
                    sample(9251, "Review requested on #1287", minutes_ago=3),
                    sample(9252, "Build 42 finished", level=Level.SUCCESS, minutes_ago=20),
                ],
                badge=0,
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
        "just-arrived": [sample(9151, "Build 43 finished", level=Level.SUCCESS, minutes_ago=0)],
        "resolved": [
            sample(
                9651,
                "Approve the release?",
                title="Release 3.1",
                read=True,
                resolution="Approved",
                actions=[
                    {"label": "Approve", "url": "/releases/31/approve/"},
                    {"label": "Decline", "url": "/releases/31/decline/"},
                ],
            )
        ],
        "focus": [
            sample(9751, "Deploy started on production", minutes_ago=2),
            sample(9752, "Disk usage on db-2 is at 91%", title="Capacity", level=Level.WARNING, minutes_ago=60),
        ],
        "read": [sample(9801, "Nightly backup completed", title="Backups", level=Level.SUCCESS, read=True)],
        "snooze": [
            sample(9851, "Renew the TLS certificate of api.example.com", title="Certificates", level=Level.WARNING),
            sample(9852, "Nightly backup completed", level=Level.SUCCESS, read=True, minutes_ago=300),
        ],
        "archived": [sample(9851, "Maintenance finished", level=Level.INFO, archived=True, minutes_ago=2880)],
        "things": [
            about(sample(9961, "New comment", kind="", minutes_ago=3), THING, following=True),
            about(sample(9962, "Assigned to you", minutes_ago=40), THING),
            about(sample(9963, "New comment", read=True, minutes_ago=900), GONE),
        ],
        "rtl": [
            sample(9971, "", kind="comment", params={"excerpt": "تم إصلاح الخلل"}, actors=["سارة"], minutes_ago=1),
            sample(9972, "Disk usage on db-2 is at 91%", title="Capacity", level=Level.WARNING, minutes_ago=30),
            sample(9973, "", kind="comment", actors=["alice", "bob", "carol"], read=True, minutes_ago=600),
        ],
        "long-words": [
            sample(
                9981,
                "Datenbankverbindungsfehlerbehandlungsroutine nach Wartungsfensterverlängerung fehlgeschlagen",
                title="Rechenzentrumsinfrastrukturüberwachung",
                level=Level.ERROR,
                minutes_ago=2,
            ),
            sample(9982, "", kind="comment", params={"excerpt": "Donaudampfschifffahrtsgesellschaft"}, actors=["bob"]),
        ],
        "history": [
            sample(9901, "Build 42 finished", level=Level.SUCCESS, url="/builds/42/", minutes_ago=1),
            sample(9902, "Disk usage on db-2 is at 91%", title="Capacity", level=Level.WARNING, read=True),
        ],
    }


#: The sample objects "things" sections are about: one that exists, one deleted since (its name kept).
THING = Ticket(pk=42, title="Login broken on Safari")
GONE = Ticket(pk=41, title="Printer on fire")


def about(n: Notification, target: Ticket, *, following: bool = False) -> Notification:
    """``n`` about ``target`` (not stored); ``GONE`` stands for an object deleted since."""
    n.target = target  # the object itself, cached on the sample: nothing is read from the database for it
    n.target_id, n.target_name, n.following = str(target.pk), str(target), following
    if target is GONE:
        n.target_type = None  # a target that cannot be loaded any more: shown by its stored name, as deleted
    return n


@dataclass(frozen=True)
class ItemSection:
    """A section showing items as a partial renders them: one entry here, one section on the page."""

    id: str
    title: str
    note: str
    items: list[Notification]
    context: str  # what the partial gets that makes this state, for the designer
    partials: str = "notification_item.html"
    live: bool = True
    new: bool = False
    page: bool = False  # a history-page canvas instead of an open panel
    phone: bool = False  # a 375 px wide canvas
    modifier: str = ""  # a CSS class on the canvas that shows a state no static page has (focus)
    language: str = ""  # render the items in this language (and its direction)


def item_sections(samples: dict[str, list[Notification]]) -> list[ItemSection]:
    return [
        ItemSection(
            "state-levels",
            "Levels",
            "Info, success, warning and error: the stripe's colour (--nb-info, --nb-success, --nb-warning, "
            "--nb-error) and the level written beside the time tell them apart (never colour alone).",
            samples["levels"],
            "notification.level, live=True",
        ),
        ItemSection(
            "state-just-arrived",
            "Just arrived",
            "An item as a frame puts it on top of the list: it slides in, and “just now” shows for a minute "
            "beside the absolute time (which stays true however long the page is open).",
            samples["just-arrived"],
            "new=True",
            new=True,
        ),
        ItemSection(
            "state-long-text",
            "Long text",
            "A long message is cut to three lines in the bar (line-clamp); the history page shows it whole.",
            samples["long"],
            f"notification.title, notification.message ({len(samples['long'][0].message)} characters)",
        ),
        ItemSection(
            "state-link",
            "With a link",
            "A notification with a url: its message is a button that marks it read and follows the link.",
            samples["link"],
            f"notification.url = {samples['link'][0].url}",
        ),
        ItemSection(
            "state-actions",
            "Action buttons",
            "Buttons that post to the caller's URLs, e.g. a decision.",
            samples["actions"],
            "notification.actions = Approve, Decline",
        ),
        ItemSection(
            "state-resolved",
            "Answered action",
            'After resolve(notification, "Approved"): the outcome replaces the buttons in every tab.',
            samples["resolved"],
            'notification.resolution = "Approved"',
        ),
        ItemSection(
            "state-grouped",
            "Grouped",
            "Notifications with one group_key collapse into one item that counts up: with actors as a "
            "sentence, without actors as “(\u00d73)”.",
            samples["grouped"],
            "group_key, group_count, actors",
            partials="notification_item.html, notification_message.html",
        ),
        ItemSection(
            "state-read",
            "Read",
            "A read item: plain background, regular weight, no “Mark read”.",
            samples["read"],
            'notification.read_at set (data-read="true")',
        ),
        ItemSection(
            "state-focus",
            "Keyboard focus",
            "The row's controls are quiet icons, shown on hover and on keyboard focus, with the focus ring; after "
            "an action the focus moves on to the next item's control.",
            samples["focus"],
            ":focus-visible on a control (shown here with a class)",
            partials="notification_item.html, notification_controls.html",
            modifier="sg-force-focus",
        ),
        ItemSection(
            "state-snooze",
            "Snooze",
            "“Snooze” opens a menu of times (a disclosure, no script): the item leaves the bar in every tab and "
            "comes back as new, on top, when the time comes, live. A read item offers “Mark unread”.",
            samples["snooze"],
            "the snooze menu open (shown here with a class); a read item below",
            partials="notification_controls.html",
            modifier="sg-snooze-open",
        ),
        ItemSection(
            "state-phone",
            "Phone width",
            "The open panel at 375 px: it spans the viewport (minus a margin), nothing scrolls sideways.",
            samples["bar"],
            "a 375 px viewport",
            phone=True,
        ),
        ItemSection(
            "state-things",
            "About things",
            "notify(..., target=obj): the object's current name above the message, a link to it, Follow or "
            "Unfollow; once the object is deleted, its stored name marked deleted, no link, no Follow.",
            samples["things"],
            "notification.target_label, .target_gone, .following, .link",
        ),
        ItemSection(
            "state-rtl",
            "Right to left (Arabic)",
            "The bar in Arabic: mirrored with CSS logical properties (stripe, controls, alignment), a kind's "
            "sentence in the reader's language with Arabic plural forms.",
            samples["rtl"],
            'LANGUAGE_CODE="ar" (dir="rtl"), kind "comment" with params',
            language="ar",
        ),
        ItemSection(
            "state-rtl-phone",
            "Right to left at phone width",
            "The same in 375 px.",
            samples["rtl"],
            'LANGUAGE_CODE="ar", a 375 px viewport',
            language="ar",
            phone=True,
        ),
        ItemSection(
            "state-long-words",
            "Long words (German)",
            "German compounds longer than the panel: they wrap (overflow-wrap) instead of widening it.",
            samples["long-words"],
            'LANGUAGE_CODE="de"',
            language="de",
        ),
        ItemSection(
            "state-archived",
            "Archived",
            "A dismissed item leaves the bar; the history page lists it under “Archived”, without buttons.",
            samples["archived"],
            'archived_at set, live=False, id_prefix="history-notification"',
            live=False,
            page=True,
        ),
        ItemSection(
            "state-history",
            "History page",
            "Items on /notifications/: plain POST forms that work without JavaScript, ids that stay unique "
            "beside the bar, long text whole.",
            samples["history"],
            'live=False, id_prefix="history-notification", clamp=False',
            live=False,
            page=True,
        ),
    ]


@dataclass(frozen=True)
class PanelSection:
    """An open panel in one of its inbox states: its tabs, the outcome of an action, the list or a tab's page."""

    id: str
    title: str
    note: str
    context: str
    show: str = "all"  # the chosen tab
    counts: tuple[int, ...] = (2, 5, 1, 1)  # unread, all, archived, comments
    items: tuple[Notification, ...] = ()
    older: tuple[Notification, ...] = ()  # a page "Load more" added
    view: bool = False  # Archive or a kind tab: its page instead of the live list
    more: bool = False  # "Load more" offered
    paged: bool = False  # the last page read: the end says so
    outcome: str = ""
    outcome_total: int = 0
    phone: bool = False
    partials: str = "notification_panel_tabs.html"

    @property
    def html(self) -> SafeString:
        tabs = [Tab(name, label(name), count) for name, count in zip(tab_names(), self.counts, strict=False)]
        prefix = f"{self.id}-panel"
        parts = [render_partial("partials/notification_panel_tabs.html", prefix, tabs=tabs, show=self.show)]
        if self.outcome:
            outcome = render_partial(
                "partials/notification_outcome.html",
                prefix,
                outcome=self.outcome,
                notification=self.items[0] if self.items else None,
                ids="9001,9002,9003",
                total=self.outcome_total,
            )
            parts.append(mark_safe(f'<div class="nb-outcome" role="status">{outcome}</div>'))
        lists = {"list_id": "notification-older", "more_id": "notification-more", "within": "#notification-list-slot"}
        if self.view:
            lists = {
                "list_id": "notification-view",
                "more_id": "notification-view-more",
                "within": "#notification-view-slot",
            }
            view = render_partial(
                "partials/notification_panel_view.html",
                prefix,
                show=self.show,
                live=False,
                items=self.items,
                more=self.more,
                paged=self.paged,
                label=label(self.show),
                **lists,
            )
            parts.append(view)
        else:
            parts.append(render_partial(LIST_TEMPLATE, prefix, items=self.items, live=True, full=self.more))
            if self.older:
                page = render_partial(
                    "partials/notification_panel_page.html",
                    f"{prefix}-page",
                    items=self.older,
                    show=self.show,
                    more=False,
                    paged=True,
                    copy="older",
                    **lists,
                )
                parts.append(page)
        return mark_safe("".join(parts))


def panel_sections() -> list[PanelSection]:
    """Every state of the panel's inbox: each tab, an empty tab, paging, and an action's outcome with its Undo."""
    unread = (
        sample(9151, "Review requested on #1287", minutes_ago=3),
        sample(9152, "Disk usage on db-2 is at 91%", title="Capacity", level=Level.WARNING, minutes_ago=60),
    )
    read = (sample(9153, "Nightly backup completed", level=Level.SUCCESS, read=True, minutes_ago=600),)
    archived = (
        sample(9154, "Maintenance finished", archived=True, minutes_ago=2880),
        sample(9155, "Build 41 finished", level=Level.SUCCESS, archived=True, minutes_ago=4000),
    )
    comments = (sample(9156, "", kind="comment", params={"excerpt": "Looks good"}, actors=["bob"], minutes_ago=8),)
    older = (
        sample(9157, "Build 40 finished", level=Level.SUCCESS, read=True, minutes_ago=5000),
        sample(9158, "Payment webhook failed 3 times", level=Level.ERROR, read=True, minutes_ago=6000),
    )
    return [
        PanelSection(
            "state-panel-all",
            "Panel tabs: All",
            "The open panel's tabs, each with its count (read when the panel opens, again after each change while "
            "it is open); All shows the live list, where arrivals land, with “Load more” under it when it is full.",
            'tabs (inbox.Tab with counts), show="all"',
            items=unread + read,
            more=True,
        ),
        PanelSection(
            "state-panel-unread",
            "Panel tabs: Unread",
            "Unread shows the live list without its read items: an item read in any tab leaves it there; arrivals "
            "land in it live.",
            'show="unread" (CSS hides data-read="true" items of the live list)',
            show="unread",
            items=unread,
        ),
        PanelSection(
            "state-panel-archive",
            "Panel tabs: Archive",
            "Archive (and each kind tab) shows a page read when the tab is chosen, with Restore on each item and "
            "its own “Load more”; an arrival only updates the counts; a dismiss, a restore or an Undo in any tab "
            "reads it again.",
            'show="archived", notification_panel_view.html (items id="panel-notification-<pk>")',
            show="archived",
            items=archived,
            view=True,
            more=True,
            partials="notification_panel_tabs.html, notification_panel_view.html",
        ),
        PanelSection(
            "state-panel-kind",
            "Panel tabs: a kind",
            'One tab per kind declared with "tab": True (here the demo\'s Comments).',
            'show="kind:comment"',
            show="kind:comment",
            items=comments,
            view=True,
            partials="notification_panel_tabs.html, notification_panel_view.html",
        ),
        PanelSection(
            "state-panel-empty",
            "Panel tabs: empty",
            "A tab with nothing in it says so: here Archive; Unread says “No unread notifications.”, All "
            "“You're all caught up”.",
            'show="archived", no items',
            show="archived",
            counts=(0, 3, 0, 0),
            view=True,
            partials="notification_panel_tabs.html, notification_panel_view.html",
        ),
        PanelSection(
            "state-panel-paging",
            "Load more: the last page",
            "“Load more” appended an older page under the live list (with htmx: the page after the list's last "
            "item, so arrivals meanwhile neither repeat nor skip one); on the last page the end says so and keeps "
            "the keyboard focus.",
            "notification_panel_page.html: items, more=False, paged=True",
            items=unread + read,
            older=older,
            partials="notification_list.html, notification_panel_page.html, notification_panel_more.html",
        ),
        PanelSection(
            "state-panel-outcome",
            "Outcome with Undo",
            "After a dismiss (here) or “Mark all read”, every tab says what happened in a polite live region (read "
            "out by screen readers), with Undo; Undo restores, or marks exactly those items unread again.",
            'outcome="archived", notification (its title or text)',
            items=unread,
            outcome="archived",
            outcome_total=1,
            partials="notification_outcome.html",
        ),
        PanelSection(
            "state-panel-phone",
            "Panel tabs at phone width",
            "The tabs wrap; the outcome and its Undo stack at 375 px.",
            'a 375 px viewport, outcome="read_all"',
            show="unread",
            counts=(2, 128, 12, 1),
            items=unread,
            outcome="read_all",
            outcome_total=3,
            phone=True,
            partials="notification_panel_tabs.html, notification_outcome.html",
        ),
    ]


def project_stylesheets() -> list[str]:
    """A project's own CSS, loaded after the bar's, so its overrides show here (``STYLEGUIDE_STYLESHEETS``)."""
    return list(getattr(settings, "STYLEGUIDE_STYLESHEETS", []))


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
            "item_sections": item_sections(samples),
            "panel_sections": panel_sections(),
            "toast": samples["just-arrived"][0],
            "project_stylesheets": project_stylesheets(),
            "reconnecting_badge": render_partial("partials/notification_badge.html", "state-reconnecting", count=2),
            "kinds": kind_samples(),
            "now": SAMPLE_NOW,  # the history sections' relative times, against the samples' clock
        },
    )
