"""``{% load notifications %}{% notification_bar %}``: the bar for the logged-in user, nothing otherwise."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.db.models import Model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import npgettext_lazy, pgettext

from ..store import api, preferences
from ..store.state import load_state
from ..web import rendering

register = template.Library()


@register.simple_tag(takes_context=True)
def notification_bar(context: template.Context, title: str = "") -> SafeString:
    """The bar; ``title``: the page's title, which the bar keeps in the tab title as "(N) title"."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return SafeString("")
    return rendering.render_bar(load_state(user), request=request, page_title=str(title))


@register.simple_tag(takes_context=True)
def mark_read_for(context: template.Context, obj: Model) -> str:
    """``{% mark_read_for ticket %}``: the reader's notifications about ``obj`` are read (renders nothing).

    Put it before ``{% notification_bar %}`` when you can; after it, the bar catches up once its socket connects.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        api.mark_read_for(user, obj)
    return ""


#: The units of a relative time, in the words that follow "... ago" in each language (German says "vor 2 Tagen").
AGO_UNITS = {
    "year": npgettext_lazy("relative time", "%(num)d year", "%(num)d years", "num"),
    "month": npgettext_lazy("relative time", "%(num)d month", "%(num)d months", "num"),
    "week": npgettext_lazy("relative time", "%(num)d week", "%(num)d weeks", "num"),
    "day": npgettext_lazy("relative time", "%(num)d day", "%(num)d days", "num"),
    "hour": npgettext_lazy("relative time", "%(num)d hour", "%(num)d hours", "num"),
    "minute": npgettext_lazy("relative time", "%(num)d minute", "%(num)d minutes", "num"),
}


@register.simple_tag(takes_context=True)
def nb_ago(context: template.Context, value: datetime | None) -> str:
    """``{% nb_ago notification.updated_at %}``: :func:`ago`, against the context's ``now`` when it has one
    (the styleguide's fixed clock)."""
    return ago(value, context.get("now"))


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """A relative time in the active language: "3 minutes ago", "vor 2 Tagen", "منذ يومين" ("" for None).

    For pages read once (the history page): a relative time rendered into a live bar would go stale.
    """
    if value is None:
        return ""
    now = now or timezone.now()
    if (now - value).total_seconds() < 60:
        return pgettext("relative time", "just now")
    # timesince() formats each unit with "% {'num': n}": lazy plural strings pick their form then (the stubs
    # want str).
    delta = timesince(value, now, time_strings=AGO_UNITS, depth=1)  # type: ignore[arg-type]
    return pgettext("relative time", "%(delta)s ago") % {"delta": delta}


@register.simple_tag
def nb_snooze_choices() -> list[tuple[str, str]]:
    """``{% nb_snooze_choices as choices %}``: what "Snooze" offers, as (value, label) pairs."""
    return [(value, str(label)) for value, label in preferences.SNOOZE_CHOICES.items()]


@register.filter
def nb_when(value: datetime | None) -> str:
    """An absolute time that stays true on screen: "14:02" today, "28 Nov, 14:02" this year, else the date.

    (A relative "5 minutes ago" rendered once goes stale while the page stays open.)
    """
    if value is None:
        return ""
    local, now = timezone.localtime(value), timezone.localtime()
    if local.date() == now.date():
        return date_format(local, "H:i")
    if local.year == now.year:
        return date_format(local, "j M, H:i")
    return date_format(local, "j M Y")
