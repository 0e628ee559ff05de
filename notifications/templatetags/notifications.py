"""``{% load notifications %}{% notification_bar %}``: the bar for the logged-in user, nothing otherwise."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from .. import rendering
from ..state import load_state

register = template.Library()


@register.simple_tag(takes_context=True)
def notification_bar(context: template.Context) -> SafeString:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return SafeString("")
    return rendering.render_bar(load_state(user), request=request)
