"""Rendering for the unit tests: the bar as a page's ``{% notification_bar %}`` tag renders it."""

from __future__ import annotations

from typing import Any

from django.template import Context, Template
from django.test import RequestFactory


def render_bar_tag(user: Any) -> str:
    """``{% notification_bar %}`` for a GET request of ``user`` (empty for anonymous users)."""
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load notifications %}{% notification_bar %}").render(Context({"request": request}))
