"""Deployment trust against real processes: daphne, redis-server, another process holding a SQLite lock.

No browser: a raw WebSocket client (``websockets``' sync client) reads the frames the server sends.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import secrets
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection

from testing.processes import DemoServer, RedisServer, stop_process
from testing.sockets import raw_client

#: The requirement: a database call stuck for one socket delays no other socket's handshake by more than this.
HANDSHAKE_BUDGET = 1.0


def login_cookie(server: DemoServer, username: str, password: str) -> str:
    """Log in through the form over plain HTTP; returns the ``sessionid=...`` Cookie header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_url = f"{server.base_url}/accounts/login/"
    with opener.open(login_url, timeout=10) as response:
        form = response.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token, "the login form carries no CSRF token"
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token[1]})
    request = urllib.request.Request(login_url, data=body.encode(), headers={"Referer": login_url})
    with opener.open(request, timeout=10) as response:
        response.read()
    session = next((cookie.value for cookie in jar if cookie.name == "sessionid"), None)
    assert session, f"logging in as {username} set no session cookie"
    return f"sessionid={session}"


def user_pk(server: DemoServer, username: str) -> int:
    script = f"from django.contrib.auth.models import User; print(User.objects.get(username={username!r}).pk)"
    return int(server.manage("shell", "-c", script).stdout.split()[-1])  # after 5.2's auto-import banner


def frames_within(ws: ClientConnection, seconds: float) -> list[str]:
    """Every frame the socket receives in the next ``seconds`` (it must stay open meanwhile)."""
    received: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            received.append(str(ws.recv(timeout=left)))
        except TimeoutError:
            break
    return received


def frame_containing(ws: ClientConnection, text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = str(ws.recv(timeout=left))
        except TimeoutError:
            break
        if text in frame:
            return frame
    raise AssertionError(f"no frame containing {text!r} within {timeout}s")


def time_to_state(server: DemoServer, cookie: str) -> tuple[str, str | None]:
    """Connect and read the first frame: (the frame, None), or ("", why) if the socket never delivered one."""
    try:
        with raw_client(server, cookie) as ws:
            return str(ws.recv(timeout=10)), None
    except (InvalidHandshake, ConnectionClosed, TimeoutError, OSError) as error:
        return "", repr(error)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def servers() -> Iterator[list[DemoServer]]:
    """Demo servers a test creates; each is stopped after the test."""
    created: list[DemoServer] = []
    yield created
    for server in created:
        server.stop()


def demo(servers: list[DemoServer], workdir: Path, env: dict[str, str]) -> DemoServer:
    """A migrated demo server on its own daphne (started; stopped by the ``servers`` fixture)."""
    # Deliberately no CHANNELS_PREFIX: both deployments keep the settings' default prefix.
    server = DemoServer(workdir, {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), **env})
    server.env.pop("CHANNELS_PREFIX", None)
    server.manage("migrate", "--no-input", "-v0")
    servers.append(server)
    server.start()
    return server


def test_two_projects_on_one_redis_never_see_each_others_notifications(
    tmp_path: Path, redis: RedisServer, servers: list[DemoServer]
) -> None:
    """Two deployments share one Redis (different database numbers, same default prefix, different
    SECRET_KEYs) and each has a user with the same primary key. Redis pub/sub channels ignore the database
    number, so without a per-deployment namespace in the group names, A's ``notify`` would reach B's user's
    socket. Proves: B's socket sees nothing of A's notification, while B's own notification still arrives
    (so the silence is not a dead socket or a dead channel layer).
    """
    redis_base = f"redis://127.0.0.1:{redis.port}"
    server_a = demo(
        servers, tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}", "REDIS_URL": f"{redis_base}/1"}
    )
    server_b = demo(
        servers, tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}", "REDIS_URL": f"{redis_base}/2"}
    )
    server_a.manage("seed_demo", "alice:pw-a")
    server_b.manage("seed_demo", "bert:pw-b")
    assert user_pk(server_a, "alice") == user_pk(server_b, "bert"), "the test needs both users on the same pk"

    with raw_client(server_b, login_cookie(server_b, "bert", "pw-b")) as ws:
        assert 'id="notification-list"' in str(ws.recv(timeout=10))  # B's state: subscribed from here on

        server_a.notify("alice", "secret from A")
        leaked = [frame for frame in frames_within(ws, 3) if "secret from A" in frame]
        assert not leaked, f"deployment B's socket received deployment A's notification: {leaked}"

        server_b.notify("bert", "for B")
        frame_containing(ws, "for B")


LOCK_HOLDER = textwrap.dedent(
    """
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=20)
    db.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(15)
    db.execute("ROLLBACK")
    """
)


@pytest.fixture
def lock_holder() -> Iterator[list[subprocess.Popen[str]]]:
    """Lock-holding processes a test starts; each is killed after the test."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        stop_process(proc, timeout=2)
        if proc.stdout is not None:
            proc.stdout.close()


def hold_write_lock(procs: list[subprocess.Popen[str]], database: Path) -> None:
    """Another process takes SQLite's write lock on ``database`` and keeps it for ~15 s."""
    proc = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(database)], stdout=subprocess.PIPE, text=True)
    procs.append(proc)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked", "the lock holder did not get the write lock"


def test_a_stuck_write_does_not_stall_another_users_handshake(
    tmp_path: Path, redis: RedisServer, servers: list[DemoServer], lock_holder: list[subprocess.Popen[str]]
) -> None:
    """Another process holds SQLite's write lock; alice's ``read_all`` (an UPDATE) then waits on it for up
    to the 20 s busy timeout. If database calls shared one thread (Channels' ``database_sync_to_async``),
    bob's handshake would queue behind alice's stuck write. Proves: bob's state frame arrives within 1 s
    while alice's write is still stuck.
    """
    database = tmp_path / "stuck.sqlite3"
    server = demo(servers, tmp_path, {"DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": redis.url})
    assert database.is_absolute()  # sqlite:////abs/path: four slashes
    server.manage("seed_demo", "alice:pw-a", "bob:pw-b")
    server.notify("alice", "something unread")  # so read_all has an UPDATE to do
    alice_cookie = login_cookie(server, "alice", "pw-a")
    bob_cookie = login_cookie(server, "bob", "pw-b")

    hold_write_lock(lock_holder, database)
    with raw_client(server, alice_cookie) as alice:
        assert "something unread" in str(alice.recv(timeout=10))
        alice.send(json.dumps({"action": "read_all"}))
        time.sleep(0.3)  # alice's UPDATE is now waiting on the lock

        started = time.monotonic()
        first, failure = time_to_state(server, bob_cookie)
        elapsed = time.monotonic() - started
        print(f"bob's handshake and state took {elapsed:.3f}s while alice's write was stuck")
        assert failure is None, f"bob got no state ({failure}) after {elapsed:.2f}s behind alice's stuck write"
        assert 'id="notification-list"' in first
        assert elapsed < HANDSHAKE_BUDGET, f"bob's state took {elapsed:.2f}s behind alice's stuck write"
        assert lock_holder[0].poll() is None, "the lock was released before bob connected: nothing was proven"
        with pytest.raises(TimeoutError):  # alice's read_all has not finished (it would have sent her new state)
            alice.recv(timeout=0)
