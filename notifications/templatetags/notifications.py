"""``{% load notifications %}{% notification_bar %}``: the bar for the logged-in user, nothing otherwise."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.db.models import Model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString

from .. import api, rendering
from ..state import load_state

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
