"""A raw WebSocket client for a real server (``websockets``' sync client): what a browser's socket sends and
reads, without the browser."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

    from testing.processes import DemoServer


def raw_client(server: DemoServer, cookie: str | None, origin: str | None = None) -> ClientConnection:
    """A socket to ``server``'s bar route, with this ``Cookie`` header and ``Origin`` (the server's own by default)."""
    from websockets.sync.client import connect

    headers = {"Origin": origin or server.base_url}
    if cookie:
        headers["Cookie"] = cookie
    return connect(f"ws://127.0.0.1:{server.port}/ws/notifications/", additional_headers=headers, open_timeout=10)
