"""The whole WebSocket stack as the demo serves it: Origin check, session auth, route."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from notifications.live.protocol import CLOSE_UNAUTHENTICATED

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


@pytest.fixture
def application() -> Any:
    from demo.asgi import application

    return application


def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def open_socket(application: Any, *headers: tuple[bytes, bytes]) -> tuple[bool, WebsocketCommunicator]:
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=list(headers))
    ok, _ = await communicator.connect()
    return ok, communicator


async def test_logged_in_user_with_our_origin_gets_their_state(alice: Any, application: Any, layer: Any) -> None:
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(session_cookie)(alice)
    ok, ws = await open_socket(application, (b"cookie", cookie), (b"origin", b"http://127.0.0.1:8000"))
    assert ok
    assert 'id="notification-count"' in await ws.receive_from()
    await ws.disconnect()


async def test_foreign_origin_is_refused(alice: Any, application: Any, layer: Any) -> None:
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(session_cookie)(alice)
    ok, _ = await open_socket(application, (b"cookie", cookie), (b"origin", b"http://evil.example"))
    assert not ok
    ok, _ = await open_socket(application, (b"cookie", cookie))  # no Origin at all
    assert not ok


async def test_no_session_is_closed_with_4401(application: Any, layer: Any, db: Any) -> None:
    ok, ws = await open_socket(application, (b"origin", b"http://127.0.0.1:8000"))
    assert ok
    assert (await ws.receive_output())["code"] == CLOSE_UNAUTHENTICATED


async def test_unknown_path_is_refused(application: Any, layer: Any, db: Any) -> None:
    communicator = WebsocketCommunicator(application, "/ws/other/", headers=[(b"origin", b"http://127.0.0.1")])
    with pytest.raises(ValueError, match="No route found"):
        await communicator.connect()
