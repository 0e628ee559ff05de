"""Hardening against real daphne: logout closes sockets, a stalled client cannot hold others up."""

from __future__ import annotations

import base64
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from testing.browser import RECORD_CLOSE_CODE, log_in, wait_live
from testing.processes import DemoServer
from testing.sockets import raw_client


def test_logging_out_closes_that_sessions_tabs_but_not_other_devices(server: DemoServer, new_context: Any) -> None:
    [(alice, pw)] = server.create_users("alice")
    laptop = new_context()
    tab_a = laptop.new_page()
    log_in(tab_a, server.base_url, alice, pw)
    tab_b = laptop.new_page()
    tab_b.goto(server.base_url + "/")
    wait_live(tab_b)
    tab_b.evaluate(RECORD_CLOSE_CODE)
    phone = new_context().new_page()
    log_in(phone, server.base_url, alice, pw)

    tab_a.get_by_role("button", name="Log out").click()
    expect(tab_a).to_have_url(f"{server.base_url}/accounts/login/")
    tab_b.wait_for_function("window.__closeCode === 4401")  # 4401: htmx does not retry

    server.notify(alice, "only the phone is still logged in")
    expect(phone.locator("#notification-list > li").first).to_contain_text("only the phone")


def test_deactivated_user_is_disconnected(server: DemoServer, user_page: Callable[..., Page]) -> None:
    [(alice, pw)] = server.create_users("alice")
    page = user_page(alice, pw)
    page.evaluate(RECORD_CLOSE_CODE)
    server.manage(
        "shell",
        "-c",
        f"from django.contrib.auth.models import User; u = User.objects.get(username='{alice}'); "
        "u.is_active = False; u.save()",
    )
    page.wait_for_function("window.__closeCode === 4401")


def stalled_socket(server: DemoServer, cookie: str) -> socket.socket:
    """A WebSocket that completes the handshake, then never reads again (a frozen tab, a dead phone)."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /ws/notifications/ HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {server.base_url}\r\nCookie: {cookie}\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def test_a_stalled_client_does_not_hold_up_the_others_and_is_dropped(
    start_server: Callable[..., DemoServer], new_context: Any
) -> None:
    # daphne pings every second and drops a socket that has not answered within 3 seconds.
    server = start_server("--ping-interval", "1", "--ping-timeout", "3")
    [(alice, pw)] = server.create_users("alice")
    page = new_context().new_page()
    log_in(page, server.base_url, alice, pw)
    session = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    stalled = stalled_socket(server, f"sessionid={session['value']}")

    # 300 notifications of ~1 KB each: far more than the stalled socket's buffers hold.
    started = time.monotonic()
    server.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from notifications import notify; "
        f"u = User.objects.get(username='{alice}'); [notify(u, f'burst {{i}} ' + 'x' * 900) for i in range(300)]",
    )
    expect(page.locator("#notification-count")).to_have_text("300")
    print(f"300 notifications reached the live tab {time.monotonic() - started:.2f}s after the burst started")

    # The server gives up on the stalled socket (it aborts it, so its buffer is freed): reading it now drains
    # what the kernel still holds, then meets the reset (or the end), not a timeout.
    stalled.settimeout(30)
    try:
        while stalled.recv(65536):
            pass
    except ConnectionResetError:
        pass
    finally:
        stalled.close()


NESTED = '{"action":"read","id":' + "[" * 1000 + "]" * 1000 + "}"


def close_code_after(server: DemoServer, cookie: str | None, *frames: str | bytes) -> int:
    """Connect, send ``frames``, and return the close code the server sent."""
    from websockets.exceptions import ConnectionClosed

    with raw_client(server, cookie) as ws:
        try:
            for frame in frames:
                ws.send(frame)
            while True:
                ws.recv(timeout=10)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
    raise AssertionError("unreachable")


def test_close_codes_reach_a_real_client_through_daphne(server: DemoServer, new_context: Any) -> None:
    """What the README promises a client sees, measured on the wire, not only in the test communicator."""
    from websockets.exceptions import InvalidStatus

    [(alice, pw)] = server.create_users("alice")
    page = new_context().new_page()
    log_in(page, server.base_url, alice, pw)
    cookie = "sessionid=" + next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")

    assert close_code_after(server, None) == 4401
    assert close_code_after(server, cookie, b"\x00binary") == 4415
    assert close_code_after(server, cookie, '{"action": "read", "id": "' + "9" * 5000 + '"}') == 4413
    # Garbage is ignored: the socket stays open and still delivers.
    with raw_client(server, cookie) as ws:
        ws.recv(timeout=10)  # state
        for frame in ("not json", "[]", '{"action": "drop"}', '{"action": "read", "id": "-1"}', NESTED):
            ws.send(frame)
        server.notify(alice, "still here")
        assert "still here" in ws.recv(timeout=10)
    # A flood: the user's action budget is shared by all of their sockets, so it ends with the first 4429.
    assert close_code_after(server, cookie, *['{"action": "nothing"}'] * 31) == 4429
    assert close_code_after(server, cookie, '{"action": "nothing"}') == 4429
    # A foreign Origin never gets a socket.
    with pytest.raises(InvalidStatus) as refused, raw_client(server, cookie, origin="http://evil.example"):
        pass
    assert refused.value.response.status_code == 403


def send_raw_text_frame(sock: socket.socket, payload: bytes) -> None:
    """A masked text frame with any bytes as its payload (a client library would refuse invalid UTF-8)."""
    mask = os.urandom(4)
    assert len(payload) < 126
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def close_code_of(sock: socket.socket) -> int:
    """Read frames until the server's close frame; its status code."""

    def read(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed without a close frame")
            data += chunk
        return data

    while True:
        first, second = read(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(read(2), "big")
        elif length == 127:
            length = int.from_bytes(read(8), "big")
        payload = read(length)
        if first & 0x0F == 0x8:
            return int.from_bytes(payload[:2], "big")


def test_the_action_budget_holds_across_server_processes(
    server: DemoServer, start_server: Callable[..., DemoServer], new_context: Any
) -> None:
    """Before: each process counted a user's actions on its own, so a user (or a stolen session) with sockets on
    N processes behind a load balancer had N budgets. Now they share one, in the layer's Redis."""
    other = start_server()
    [(mallory, pw)] = server.create_users("mallory")
    page = new_context().new_page()
    log_in(page, server.base_url, mallory, pw)
    cookie = "sessionid=" + next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    page.close()
    with raw_client(server, cookie) as ws:
        ws.recv(timeout=10)  # the state: the socket is open
        for _ in range(20):  # two thirds of ACTION_RATE_LIMIT (30) on one process
            ws.send('{"action": "nothing"}')
        ws.ping().wait(timeout=10)  # daphne has read them all (the new socket below takes longer to open)
    # The other process: 11 more are over the budget of 30 in all.
    assert close_code_after(other, cookie, *['{"action": "nothing"}'] * 11) == 4429


def test_invalid_utf8_closes_the_socket_and_leaves_no_subscription(
    server: DemoServer, server_env: dict[str, str], new_context: Any
) -> None:
    import redis

    [(alice, pw)] = server.create_users("alice")
    page = new_context().new_page()
    log_in(page, server.base_url, alice, pw)
    cookie = "sessionid=" + next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    page.close()  # only the raw socket is left for alice
    script = f"from django.contrib.auth.models import User; print(User.objects.get(username='{alice}').pk)"
    pk = server.manage("shell", "-c", script).stdout.split()[-1]
    client = redis.Redis.from_url(server_env["REDIS_URL"])
    pattern = f"{server_env['CHANNELS_PREFIX']}__group__notifications.*.user.{pk}"

    sock = stalled_socket(server, cookie)
    try:
        sock.settimeout(10)
        deadline = time.monotonic() + 10
        while not client.pubsub_channels(pattern) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.pubsub_channels(pattern), "the socket never joined its group"
        send_raw_text_frame(sock, b'{"action": "\xff\xfe"}')
        try:
            code = close_code_of(sock)  # autobahn fails the connection: 1007 (invalid payload), or drops it
        except ConnectionError:
            code = 1006
        assert code in (1007, 1006)
    finally:
        sock.close()
    while client.pubsub_channels(pattern) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.pubsub_channels(pattern) == [], "the closed socket is still subscribed"
    client.close()
