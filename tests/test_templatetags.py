from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory

from notifications import notify, protocol

from .conftest import elements

pytestmark = pytest.mark.django_db(transaction=True)

TEMPLATE = Template("{% load notifications %}{% notification_bar %}")


def render(user: Any) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return TEMPLATE.render(Context({"request": request}))


def test_bar_for_a_logged_in_user(alice: Any) -> None:
    n = notify(alice, "hello <b>")
    html = render(alice)
    assert 'id="notification-bar"' in html and 'hx-ext="ws"' in html and 'ws-connect="/ws/notifications/?v=' in html
    assert f'id="notification-{n.pk}"' in html
    assert "hello &lt;b&gt;" in html
    assert "X-CSRFToken" in html


def test_each_page_names_its_tab_in_the_socket_url_and_in_its_htmx_headers(alice: Any) -> None:
    names = []
    for _ in range(2):
        [bar] = elements(render(alice), id="notification-bar")
        tab = parse_qs(urlsplit(str(bar.attrs["ws-connect"])).query)["tab"][0]
        assert protocol.valid_tab(tab)
        assert json.loads(str(bar.attrs["hx-headers"]))[protocol.TAB_HEADER] == tab
        names.append(tab)
    assert names[0] != names[1]  # per page, not per user


def test_nothing_for_anonymous_users(db: Any) -> None:
    assert render(AnonymousUser()) == ""


def test_websocket_path_setting(alice: Any, settings: Any) -> None:
    settings.NOTIFICATIONS = {"WEBSOCKET_PATH": "/live/bar/"}
    assert 'ws-connect="/live/bar/?v=' in render(alice)
