"""HTTP views: the history page, the bar panel's tabs and pages, and the POST forms that work without JavaScript
(and with htmx)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap
from django_htmx.middleware import HtmxDetails

from .. import conf
from ..live import protocol
from ..mail import digests
from ..models import Notification
from ..store import api, inbox, preferences, readers, subscriptions
from ..store.kinds import all_kinds
from ..store.state import annotate, load_state
from ..store.validation import is_safe_url
from . import rendering


def _me(request: HttpRequest) -> AbstractBaseUser:
    """The logged-in user (every view here is behind login_required)."""
    assert isinstance(request.user, AbstractBaseUser)
    return request.user


@require_GET
@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Every notification of the user, newest first, in tabs (``?show=unread|all|archived|kind:<name>``), a page
    at a time: ``?before=<cursor>`` starts after the item the cursor names (a bad cursor: the newest). "Load
    more" asks for the next page with htmx and gets that page's partial alone (no bar, no counts); without
    JavaScript it is a link to the next page."""
    show = inbox.tab_name(request.GET.get("show"))
    before = request.GET.get("before") or None
    page = _history_page(request, show, before)
    if htmx(request).target == HISTORY_LIST_ID:  # "Load more": this page's items and the next Load more
        response = render(request, HISTORY_PAGE_TEMPLATE, page)
    else:
        context = {
            **page,
            "tabs": inbox.tabs(request.user.pk),
            "base_template": conf.get("BASE_TEMPLATE"),
            "page_title": _("Notification history"),
        }
        response = render(request, "notifications/history.html", context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


HISTORY_LIST_ID = "notification-history"
HISTORY_PAGE_TEMPLATE = "partials/notification_history_page.html"


def _history_page(request: HttpRequest, show: str, before: str | None) -> dict[str, Any]:
    """The context of one page of the history: its items (ready to render), the tab, the next page's link."""
    found = inbox.page(inbox.rows(request.user.pk, show), before, conf.get("PAGE_SIZE"))
    next_url = f"{request.path}?{urlencode({'show': show, 'before': found.next})}" if found.next else ""
    return {
        "items": annotate(found.items),
        "show": show,
        "paged": inbox.decode(before) is not None,
        "next_url": next_url,
        "now": timezone.now(),
    }


@require_GET
@login_required
def panel(request: HttpRequest) -> HttpResponse:
    """The bar panel's tabs, for htmx (without JavaScript the tabs are links to the history page, where this
    sends a plain request too). A tab (``?show=``) answers with its view (notification_frame_panel_view.html;
    ``reload=1``: the view alone, notification_panel_view.html); "Load
    more" (htmx targets the list it pages) answers with the page after the list's last item: the browser sends
    the id of the last item of each list it holds (``after``, the last one given wins), so whatever arrived or was
    cut meanwhile, the page starts right after what the list shows."""
    user_pk = request.user.pk
    show = inbox.tab_name(request.GET.get("show"))
    target = htmx(request).target
    if target not in (PANEL_OLDER_ID, PANEL_VIEW_ID, PANEL_VIEW_SLOT_ID):
        return HttpResponseRedirect(f"{reverse('notifications:history')}?{urlencode({'show': show})}")
    rows = inbox.rows(user_pk, show, panel=True)
    size = conf.get("PAGE_SIZE")
    if target == PANEL_VIEW_SLOT_ID:  # a tab was chosen
        if show in rendering.LIVE_TABS:
            items: Sequence[Notification] = []
            bar_size = conf.get("BAR_SIZE")
            more = inbox.rows(user_pk, "all", panel=True)[bar_size : bar_size + 1].exists()
        else:
            first = inbox.page(rows, None, size)
            items, more = annotate(first.items), bool(first.next)
        tabs = inbox.tabs(user_pk, panel=True)
        reload = request.GET.get("reload") == "1"
        html = rendering.render_panel_view(request, tabs=tabs, show=show, items=items, more=more, reload=reload)
    else:  # "Load more"
        before = inbox.after(user_pk, (request.GET.getlist("after") or [""])[-1])
        found = inbox.page(rows, before, size) if before is not None else inbox.Page([], "")
        view = target == PANEL_VIEW_ID
        html = rendering.render_panel_page(
            request, show=show, items=annotate(found.items), more=bool(found.next), view=view
        )
    response = HttpResponse(html)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


PANEL_OLDER_ID = "notification-older"
PANEL_VIEW_ID = "notification-view"
PANEL_VIEW_SLOT_ID = "notification-view-slot"


@require_GET
@login_required
def panel_counts(request: HttpRequest) -> HttpResponse:
    """The panel tabs' counts, out of band: asked by an open panel after each frame that may change a count."""
    return HttpResponse(rendering.render_panel_counts(request, inbox.tabs(request.user.pk, panel=True)))


@require_GET
@login_required
def bar(request: HttpRequest) -> HttpResponse:
    """A fresh bar: a page whose socket went quiet swaps it in (see notification_heartbeat.html), which opens
    a new socket at once instead of waiting for the ws extension's back-off."""
    page_title = request.GET.get("title", "")
    return HttpResponse(rendering.render_bar(load_state(_me(request)), request, page_title=page_title))


def _back(request: HttpRequest) -> HttpResponse:
    """Where a no-JS form returns to: the page it came from, if it is ours, else the history page.

    A URL is only ever a URL: never ``redirect()``, which would try "home" or "logout" as a route name.
    """
    target = request.POST.get("next") or request.headers.get("referer", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("notifications:history")
    return HttpResponseRedirect(target)


def acting_tab(request: HttpRequest) -> str:
    """The name of the page (tab) whose bar sent this htmx request (its ``X-Notification-Tab`` header), for
    :func:`notifications.resolve`'s ``tab``; "" when there is none."""
    return request.headers.get(protocol.TAB_HEADER, "")


def htmx(request: HttpRequest) -> HtmxDetails:
    """django-htmx's view of the request: ``request.htmx`` when its middleware runs, else made here (the app
    does not ask projects to install the middleware)."""
    details = getattr(request, "htmx", None)
    return details if isinstance(details, HtmxDetails) else HtmxDetails(request)


def _done(request: HttpRequest) -> HttpResponse:
    # htmx requests need no page: the new state arrives over the socket. Plain forms go back where they were.
    return HttpResponse(status=204) if htmx(request) else _back(request)


@require_POST
@login_required
def read(request: HttpRequest, pk: int) -> HttpResponse:
    api.mark_read(_me(request), pk)
    if not htmx(request):
        return _back(request)
    return _with_copy(request, pk, _focus_next(request, pk, "read"), removed=False)


@require_POST
@login_required
def archive(request: HttpRequest, pk: int) -> HttpResponse:
    """Dismiss an item: it leaves the bar; every tab says so, with an Undo (the change frame carries it)."""
    api.archive(_me(request), pk)
    if not htmx(request):
        return _back(request)
    return _with_copy(request, pk, _focus_next(request, pk, "archive"), removed=True)


@require_POST
@login_required
def unread(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a read item unread again (the new state reaches every tab over the socket)."""
    api.mark_unread(_me(request), pk)
    return _with_copy(request, pk, _done(request), removed=False, only_view=True)


@require_POST
@login_required
def unread_many(request: HttpRequest) -> HttpResponse:
    """Mark several read items unread again: the Undo of "Mark all read" (``ids``, comma separated, or several
    ``ids`` fields). Only the user's own items change; every tab shows the new state and says so."""
    ids = [part for value in request.POST.getlist("ids") for part in value.split(",")]
    api.mark_unread_many(_me(request), ids)
    return _done(request)


@require_POST
@login_required
def restore(request: HttpRequest, pk: int) -> HttpResponse:
    """Bring an archived item back into the bar (Restore in the Archive tab, or the Undo of a dismiss); every tab
    says so."""
    if api.restore(_me(request), pk):
        api.push_outcome(_me(request), "restored", [pk])
    return _with_copy(request, pk, _done(request), removed=True, only_view=True)


@require_POST
@login_required
def snooze(request: HttpRequest, pk: int) -> HttpResponse:
    """Snooze an item until one of ``preferences.SNOOZE_CHOICES`` (the form's ``until``)."""
    choice = request.POST.get("until", "")
    if choice not in preferences.SNOOZE_CHOICES:
        return HttpResponseBadRequest(_("Unknown snooze choice."))
    api.snooze(_me(request), pk, choice)
    return _with_copy(request, pk, _done(request), removed=True, only_view=True)


def _with_copy(
    request: HttpRequest, pk: int, response: HttpResponse, *, removed: bool, only_view: bool = False
) -> HttpResponse:
    """An htmx answer, plus the acted-on item again (or its removal) when it is a copy the socket's frames do not
    reach (its forms say which, ``copy``): a panel view's copy ("panel"), or, for read and dismiss (which push
    only the item), an item of the live list's older pages ("older"). ``only_view``: the change pushes the whole
    state, which resets the live list and its older pages, so only a view's copy needs it."""
    copy = request.POST.get("copy", "")
    if not htmx(request) or copy not in rendering.COPIES or (only_view and copy != "panel"):
        return response
    notification = Notification.objects.filter(recipient_id=request.user.pk, pk=pk).first()
    if notification is None:
        return response
    annotate([notification])
    html = rendering.render_item_copy(notification, request, copy=copy, removed=removed)
    if response.status_code == 204:  # nothing else to swap: the copy alone, out of band
        return reswap(HttpResponse(html), "none")
    response.content += html.encode()
    return response


def _focus_next(request: HttpRequest, pk: int, control: str) -> HttpResponse:
    """An htmx click in the live bar: the change itself reaches every tab over the socket (touching only that
    item). The form targets the next item's controls (else the previous item's, else its own, or after the
    bar's last item is dismissed the history link; htmx names the target in HX-Target), and this answer, to
    the clicking tab alone, is that target again with the focus where a keyboard user goes on: the same
    control if that item has it, else its Dismiss, else the history link."""
    target_id = htmx(request).target or ""
    if target_id == "notification-history-slot":  # it was the bar's last item
        return HttpResponse(rendering.render_history_link(request))
    match = _CONTROLS_ID.match(target_id)
    target = None
    if match:
        target = Notification.objects.filter(recipient_id=request.user.pk, pk=int(match[2])).active().first()
    if target is None:  # no neighbour, and its own item is gone: nothing to focus
        return HttpResponse(status=204)
    focus = "read" if control == "read" and not target.is_read else "archive"
    copy = "panel" if match and match[1] else ""
    return HttpResponse(rendering.render_controls(target, focus, request, copy=copy))


# An item's controls in the live list, or (panel-) in a panel view.
_CONTROLS_ID = re.compile(r"^(panel-)?notification-(\d{1,18})-controls$")


@require_POST
@login_required
def read_all(request: HttpRequest) -> HttpResponse:
    """Mark all read: every tab says how many, with an Undo; the acting tab's focus goes on to the first item."""
    api.mark_all_read_undoable(_me(request), tab=acting_tab(request))
    return _done(request)


@require_POST
@login_required
def open_link(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark read and go to the notification's link, in one click."""
    notification = api.open_notification(_me(request), pk)
    link = notification.link if notification is not None else ""
    # Checked again here: a row written around the API (raw SQL, bulk_create), or a target's
    # get_absolute_url(), never sends anyone off-site.
    if not link or not is_safe_url(link):
        raise Http404
    if htmx(request):
        return HttpResponseClientRedirect(link)
    return HttpResponseRedirect(link)  # the URL as it is, never reverse()d


@require_POST
@login_required
def follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow what one of the user's notifications is about; every tab's items about it follow live."""
    subscriptions.subscribe(_me(request), _target_of(request, pk))
    return _done(request)


@require_POST
@login_required
def unfollow(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop following what one of the user's notifications is about."""
    subscriptions.unsubscribe(_me(request), _target_of(request, pk))
    return _done(request)


def _target_of(request: HttpRequest, pk: int) -> Model:
    """The object the user's notification ``pk`` is about (404: not theirs, no target, or it is gone)."""
    notification = Notification.objects.filter(recipient_id=request.user.pk, pk=pk).first()
    target = notification.target if notification is not None else None
    if not isinstance(target, Model):
        raise Http404
    return target


@require_http_methods(["GET", "POST"])
@login_required
def preferences_page(request: HttpRequest) -> HttpResponse:
    """Each kind on/off for the bar and email, the digest, "mute everything". A plain form: htmx only makes it
    save on every change (and swap the form in place); without JavaScript the Save button posts it."""
    user = _me(request)
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action.startswith("mute:"):
            try:
                preferences.mute(user, action.removeprefix("mute:"))
            except ValueError:
                return HttpResponseBadRequest(_("Unknown mute choice."))
        elif action == "unmute":
            preferences.unmute(user)
        elif action == "reader":
            try:
                language, time_zone = request.POST.get("language", ""), request.POST.get("time_zone", "")
                prefs = preferences.save_reader(user, language, time_zone)
            except ValueError:
                return HttpResponseBadRequest(_("Unknown language or time zone."))
            api.push_state(user)  # every open tab's bar in the new language
            readers.reader_of(prefs).activate(request)
        else:
            names = list(all_kinds())
            preferences.save_choices(
                user,
                bar={name: f"bar_{name}" in request.POST for name in names},
                email={name: f"email_{name}" in request.POST for name in names},
                digest="digest" in request.POST,
            )
        if not htmx(request):
            return HttpResponseRedirect(reverse("notifications:preferences") + "?saved=1")
    prefs = preferences.get_preferences(user)
    return render(
        request,
        "notifications/preferences.html",
        {
            "base_template": conf.get("BASE_TEMPLATE"),
            "page_title": _("Notification preferences"),
            "prefs": prefs,
            "rows": list(preferences.kind_rows(prefs)),
            "muted": preferences.is_muted(prefs),
            "mute_choices": preferences.MUTE_CHOICES,
            "saved": request.method == "POST" or "saved" in request.GET,
            "languages": settings.LANGUAGES,
            "time_zones": readers.time_zones(),
            "site_time_zone": settings.TIME_ZONE,
        },
    )


@csrf_exempt  # the signed token is the credential; RFC 8058 one-click POSTs come from mail clients, no cookie
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a confirm button (link scanners follow GETs, so GET changes nothing). POST: the button or
    a mail client's RFC 8058 one-click request (body ``List-Unsubscribe=One-Click``) turns the digest off."""
    user_pk = digests.user_pk_from_token(token)
    if user_pk is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    done = request.method == "POST"
    if done:
        preferences.set_digest(user_pk, False)
    return render(request, "notifications/unsubscribe.html", {"done": done, "token": token})
