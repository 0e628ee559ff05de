from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser

from notifications import notify
from notifications.live import protocol
from testing.html import by_id, item, text_of
from testing.templates import render_bar_tag

pytestmark = pytest.mark.django_db(transaction=True)


def socket_url(html: str) -> tuple[str, dict[str, list[str]]]:
    """The path and query of the bar's ``ws-connect``."""
    url = urlsplit(str(by_id(html, "notification-bar").attrs["ws-connect"]))
    return url.path, parse_qs(url.query)


def test_bar_for_a_logged_in_user(alice: Any) -> None:
    n = notify(alice, "hello <b>")
    html = render_bar_tag(alice)
    bar = by_id(html, "notification-bar")
    assert bar.attrs["hx-ext"] == "ws"
    path, query = socket_url(html)
    assert path == "/ws/notifications/" and query["v"]
    assert item(html, n.pk).closest(id="notification-bar")
    assert "hello <b>" in text_of(html)  # escaped: text, not an element
    assert "X-CSRFToken" in json.loads(str(bar.attrs["hx-headers"]))


def test_each_page_names_its_tab_in_the_socket_url_and_in_its_htmx_headers(alice: Any) -> None:
    names = []
    for _ in range(2):
        bar = by_id(render_bar_tag(alice), "notification-bar")
        tab = parse_qs(urlsplit(str(bar.attrs["ws-connect"])).query)["tab"][0]
        assert protocol.valid_tab(tab)
        assert json.loads(str(bar.attrs["hx-headers"]))[protocol.TAB_HEADER] == tab
        names.append(tab)
    assert names[0] != names[1]  # per page, not per user


def test_nothing_for_anonymous_users(db: Any) -> None:
    assert render_bar_tag(AnonymousUser()) == ""


def test_websocket_path_setting(alice: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"WEBSOCKET_PATH": "/live/bar/"}
    path, query = socket_url(render_bar_tag(alice))
    assert path == "/live/bar/" and query["v"]
