from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from importlib import import_module
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.db import connections
from django.test import Client
from django.utils import translation

from notifications import db
from notifications.consumers import NotificationConsumer, limiter


@pytest.fixture(scope="session", autouse=True)
def close_worker_thread_connections(django_db_setup: Any) -> Iterator[None]:
    """Async tests run ORM calls in asgiref's one thread-sensitive worker thread and in the consumer's pools;
    close their connections before the test database is dropped (PostgreSQL refuses to drop a database that
    has sessions)."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    db.close_connections()


@pytest.fixture(autouse=True)
def default_language_afterwards() -> Iterator[None]:
    """A request's LocaleMiddleware leaves its language active on the thread: no test inherits it."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_action_budget() -> None:
    """The action limiter counts per user across a process's sockets: no test inherits another's actions."""
    limiter.recent.clear()


def check_ids(**kwargs: Any) -> set[str]:
    """The ids of this app's system check messages. ``databases=[]``: static checks only (Django 6.1 would
    otherwise check every database, which these tests do not open)."""
    return {m.id for m in checks.run_checks(databases=[], **kwargs) if m.id.startswith("notifications.")}


def group_members(group: str) -> set[str]:
    """The channels of this process subscribed to ``group`` (in-memory or channels-redis pub/sub layer)."""
    layer = get_channel_layer()
    if hasattr(layer, "_layers"):  # RedisPubSubChannelLayer: one loop layer per event loop
        members: set[str] = set()
        for loop_layer in layer._layers.values():
            members |= loop_layer.groups.get(loop_layer._get_group_channel_name(group), set())
        return members
    return set(layer.groups.get(group, {}))


@pytest.fixture
def alice(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", password="alice")


@pytest.fixture
def bob(db: Any) -> Any:
    return get_user_model().objects.create_user("bob", password="bob")


@pytest.fixture
def sent(monkeypatch: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every (group, message) the API hands to the channel layer."""
    messages: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("notifications.delivery.send", lambda batch: messages.extend(batch))
    return messages


@pytest.fixture
def pubsub_layer(settings: Any, redis_url: str) -> str:
    """channels-redis's pub/sub layer on the test session's Redis, under a prefix of its own; returns it."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": prefix},
        }
    }
    return prefix


def login_session(user: Any) -> Any:
    """A real login's session (as AuthMiddlewareStack puts it in a socket's scope)."""
    client = Client()
    client.force_login(user)
    return import_module(settings.SESSION_ENGINE).SessionStore(client.cookies["sessionid"].value)


@pytest.fixture
async def layer() -> AsyncIterator[Any]:
    """The configured channel layer, emptied before and after each test."""
    channel_layer = get_channel_layer()
    await channel_layer.flush()
    yield channel_layer
    await channel_layer.flush()


@contextlib.asynccontextmanager
async def connected(user: Any, **scope: Any) -> AsyncIterator[WebsocketCommunicator]:
    """A socket of ``user`` that has connected and consumed its state-on-connect frame."""
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = user
    communicator.scope.update(scope)
    ok, _ = await communicator.connect()
    assert ok
    communicator.state = await communicator.receive_from()  # type: ignore[attr-defined]
    try:
        yield communicator
    finally:
        await communicator.disconnect()


@dataclass
class Element:
    """One element of a rendered fragment: its tag, its attributes (in any order) and its text."""

    tag: str
    attrs: dict[str, str | None]
    text: str = ""


def elements(html: str, tag: str | None = None, **attrs: str | None) -> list[Element]:
    """The elements of ``html`` with ``tag`` and these attribute values (``class_`` for class), in order.

    Tests assert on attributes and text, never on how a template happens to order or space them.
    """
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
    found: list[Element] = []
    open_elements: list[Element] = []

    class Parser(HTMLParser):
        def handle_starttag(self, name: str, pairs: list[tuple[str, str | None]]) -> None:
            element = Element(name, dict(pairs))
            found.append(element)
            if name not in VOID:
                open_elements.append(element)

        def handle_endtag(self, name: str) -> None:
            while open_elements and open_elements.pop().tag != name:
                pass

        def handle_data(self, data: str) -> None:
            for element in open_elements:
                element.text += data

    Parser().feed(html)
    return [
        e for e in found if (tag is None or e.tag == tag) and all(e.attrs.get(k, False) == v for k, v in wanted.items())
    ]


def badge(html: str) -> int | None:
    """The unread count a fragment's badge shows (``#notification-count``'s text, its contract), or None."""
    found = elements(html, id="notification-count")
    return int(found[-1].text.strip()) if found else None


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
