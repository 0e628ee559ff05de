"""A PostgreSQL restart under a real server: daphne (or uvicorn) on a private PostgreSQL that the test stops and
starts, sockets of real clients, ``manage.py notify`` from another process.

Open sockets stay open through the outage; ``notify()`` meanwhile raises Django's ``OperationalError`` and
stores nothing, not even part of a notify to many users; once the database is back, the server's database
threads and the sender's outbox work at once and every socket converges on the database's state.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from testing.html import badge, ids, pks, swaps
from testing.postgres import PostgresServer
from testing.processes import DemoServer, RedisServer
from testing.sockets import raw_client

pytestmark = pytest.mark.timeout(120)

#: Close codes (and refused handshakes, seen by a browser as 1006) after which htmx's ws extension reconnects.
RECONNECTED_AFTER = {1006, 1011, 1012, 1013}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PostgresServer, DemoServer]]:
    """The demo on its own PostgreSQL and Redis, with a heartbeat every second."""
    with PostgresServer() as pg, RedisServer() as redis:
        env = {
            "DATABASE_URL": pg.url,
            "REDIS_URL": redis.url,
            "CHANNELS_PREFIX": f"pg-{uuid.uuid4().hex[:8]}",
            "NOTIFICATIONS_HEARTBEAT_INTERVAL": "1",
        }
        server = DemoServer(tmp_path_factory.mktemp("pg-restart"), env)
        server.manage("migrate", "--no-input", "-v0")
        server.start()
        try:
            yield pg, server
        finally:
            server.stop()


class _Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None  # the login's redirect is its answer: the session cookie came with it


def log_in(server: DemoServer, username: str, password: str) -> str:
    """The ``Cookie`` header of a session made by the login form, as a browser's."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _Stay())
    login = f"{server.base_url}/accounts/login/"
    opener.open(login, timeout=10).read()
    csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": csrf})
    with pytest.raises(urllib.error.HTTPError, match="302"):
        opener.open(urllib.request.Request(login, form.encode(), headers={"Referer": login}), timeout=10)
    assert "sessionid" in {cookie.name for cookie in jar}
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def is_heartbeat(frame: str) -> bool:
    return swaps(frame) == ["innerHTML:#notification-heartbeat-slot"]


class Tab:
    """One socket read on a thread of its own, as a browser tab reads it: the items and badge it shows."""

    def __init__(self, server: DemoServer, cookie: str, stack: contextlib.ExitStack) -> None:
        self.ws = stack.enter_context(raw_client(server, cookie))
        self.frames: list[tuple[float, str]] = []
        self.close_code: int | None = None
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for frame in self.ws:
                with self.changed:
                    self.frames.append((time.monotonic(), str(frame)))
                    self.changed.notify_all()
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else 1006
        with self.changed:
            self.close_code = self.close_code or 1000
            self.changed.notify_all()

    def wait_for(self, test: Callable[[str], bool], timeout: float = 10) -> str:
        """The first frame so far or to come that passes ``test``."""
        with self.changed:
            seen = 0
            deadline = time.monotonic() + timeout
            while True:
                for _, frame in self.frames[seen:]:
                    if test(frame):
                        return frame
                seen = len(self.frames)
                left = deadline - time.monotonic()
                if left <= 0 or self.close_code is not None:
                    raise AssertionError(f"no such frame within {timeout}s (closed: {self.close_code})")
                self.changed.wait(left)

    def heartbeats(self, since: float, until: float) -> int:
        return sum(1 for at, frame in list(self.frames) if since <= at <= until and is_heartbeat(frame))

    def badge(self) -> int | None:
        """What its badge shows now (the last frame that carried one)."""
        shown = [badge(frame) for _, frame in list(self.frames)]
        return next((count for count in reversed(shown) if count is not None), None)

    def pks(self) -> set[int]:
        """Every item any frame brought."""
        return {pk for _, frame in list(self.frames) for pk in pks(frame)}

    def send(self, action: str) -> None:
        self.ws.send(json.dumps({"action": action}))


def state(frame: str) -> bool:
    return "notification-list" in ids(frame)


def database_state(server: DemoServer, cookie: str) -> tuple[int | None, list[int]]:
    """The badge and items a new socket gets: the database's state, as the server renders it."""
    with contextlib.ExitStack() as stack:
        frame = Tab(server, cookie, stack).wait_for(state)
        return badge(frame), pks(frame)


def assert_converged(tabs: list[Tab], server: DemoServer, cookie: str, timeout: float = 10) -> None:
    """Every tab shows the database's state. The state is read again each round: an action still on its way when
    it was first read (the wait for its answer can be met by an earlier frame) would leave a stale target."""
    deadline = time.monotonic() + timeout
    while True:
        count, items = database_state(server, cookie)
        if all(tab.badge() == count and set(items) <= tab.pks() for tab in tabs):
            return
        assert time.monotonic() < deadline, [(tab.badge(), sorted(tab.pks())) for tab in tabs] + [(count, items)]
        time.sleep(0.2)


def stored(pg: PostgresServer, message: str) -> int:
    import psycopg

    with psycopg.connect(pg.url, autocommit=True) as connection:
        row = connection.execute("SELECT count(*) FROM notifications_notification WHERE message = %s", [message])
        return int(row.fetchone()[0])  # type: ignore[index]


def test_the_database_threads_and_the_outbox_work_at_once_after_a_restart(
    stack: tuple[PostgresServer, DemoServer],
) -> None:
    """Connections kept from before a restart are dead: the first call after it must not fail on one (it did:
    the first action was lost with "terminating connection due to administrator command", and the sender's
    first push after the restart was never sent, so open tabs stayed stale)."""
    pg, server = stack
    [(alice, password)] = server.create_users("alice")
    cookie = log_in(server, alice, password)
    with contextlib.ExitStack() as tabs_open:
        tabs = [Tab(server, cookie, tabs_open) for _ in range(2)]
        for tab in tabs:
            tab.wait_for(state)
        server.notify(alice, "before the restart")  # the sender's outbox thread keeps its connection
        for tab in tabs:
            tab.wait_for(lambda frame: badge(frame) == 1)
        tabs[0].send("read_all")  # a write thread keeps its connection
        for tab in tabs:
            tab.wait_for(lambda frame: badge(frame) == 0)

        pg.restart()

        tabs.append(Tab(server, cookie, tabs_open))  # the read thread's first call
        tabs[-1].wait_for(state)
        after = server.notify(alice, "right after the restart")  # the outbox's first push
        assert after.returncode == 0
        for tab in tabs:
            tab.wait_for(lambda frame: "right after the restart" in frame)
        tabs[1].send("read_all")  # a write thread's first call
        for tab in tabs:
            tab.wait_for(lambda frame: state(frame) and badge(frame) == 0)
        assert_converged(tabs, server, cookie)
        assert [tab.close_code for tab in tabs] == [None, None, None]


def test_open_sockets_stay_open_and_converge_across_an_outage(stack: tuple[PostgresServer, DemoServer]) -> None:
    """While PostgreSQL is down: heartbeats go on, notify() raises a clear error and stores nothing, a new
    socket is refused in a way the ws extension retries. After: everything converges without a page load."""
    from websockets.exceptions import InvalidStatus

    pg, server = stack
    (alice, alice_pw), (bob, bob_pw) = server.create_users("alice", "bob")
    alice_cookie, bob_cookie = log_in(server, alice, alice_pw), log_in(server, bob, bob_pw)
    with contextlib.ExitStack() as tabs_open:
        alice_tabs = [Tab(server, alice_cookie, tabs_open) for _ in range(2)]
        bob_tab = Tab(server, bob_cookie, tabs_open)
        tabs = [*alice_tabs, bob_tab]
        for tab in tabs:
            tab.wait_for(state)
        server.notify(alice, "before the outage")
        for tab in alice_tabs:
            tab.wait_for(lambda frame: "before the outage" in frame)

        pg.stop()
        down = time.monotonic()
        with pytest.raises(subprocess.CalledProcessError) as failed:
            server.notify(alice, "during the outage")
        # Django's own error, saying which database server could not be reached.
        assert "django.db.utils.OperationalError" in failed.value.stderr
        assert f'server at "127.0.0.1", port {pg.port} failed' in failed.value.stderr
        # A socket opened now cannot be authenticated: refused, which a browser sees as 1006 and retries.
        with pytest.raises(InvalidStatus) as refused, contextlib.ExitStack() as during:
            Tab(server, alice_cookie, during)
        assert refused.value.response.status_code >= 500
        alice_tabs[0].send("read_all")  # fails (logged); the tabs keep showing what the database holds
        time.sleep(3)
        pg.start()
        up = time.monotonic()

        assert all(tab.heartbeats(down + 1, up) >= 1 for tab in tabs), [tab.heartbeats(down, up) for tab in tabs]
        assert [tab.close_code for tab in tabs] == [None, None, None]
        assert stored(pg, "during the outage") == 0
        # The refused tab comes back (the ws extension retries after 1006) and reads the database's state.
        late = Tab(server, alice_cookie, tabs_open)
        late.wait_for(state)
        alice_tabs.append(late)
        server.notify(alice, "after the outage")
        for tab in alice_tabs:
            tab.wait_for(lambda frame: "after the outage" in frame)
        assert_converged(alice_tabs, server, alice_cookie)
        assert_converged([bob_tab], server, bob_cookie)
        assert [tab.close_code for tab in [*alice_tabs, bob_tab]] == [None] * 4


def test_a_notify_to_many_users_cut_off_by_a_restart_stores_nothing(stack: tuple[PostgresServer, DemoServer]) -> None:
    """``notify --all`` stops mid-transaction (it has inserted the rows of the users who get it in the bar and
    waits for a lock to count up a muted user's group) when PostgreSQL goes away: nobody gets it, and sending
    it again works."""
    import psycopg

    pg, server = stack
    users = server.create_users("a", "b", "c", "muted")
    muted, group = users[-1][0], f"restart-{uuid.uuid4().hex[:8]}"
    server.command(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; from notifications import notify; "
        "from notifications.models import Preferences; "
        f"user = get_user_model().objects.get(username={muted!r}); "
        "Preferences.objects.create(user=user, bar={'build': False}); "
        f"notify(user, 'earlier', kind='build', group_key={group!r})",
    )
    message = f"cut off {group}"
    lock = psycopg.connect(pg.url)  # a transaction holding the muted user's group row
    lock.execute(
        "SELECT n.id FROM notifications_notification n JOIN auth_user u ON u.id = n.recipient_id "
        "WHERE u.username = %s FOR UPDATE",
        [muted],
    )
    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(server.notify, "", message, "--all", "--kind", "build", "--group-key", group)
        with psycopg.connect(pg.url, autocommit=True) as watch:
            deadline = time.monotonic() + 15
            while not watch.execute(  # notify waits for the lock, with the others' rows inserted
                "SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.wait_event_type = 'Lock' "
                "AND l.granted AND l.mode = 'RowExclusiveLock' AND l.relation = 'notifications_notification'::regclass"
            ).fetchone():
                assert time.monotonic() < deadline and not sending.done(), "notify never waited for the lock"
                time.sleep(0.05)
        pg.stop()
        with pytest.raises(subprocess.CalledProcessError) as failed:
            sending.result(timeout=30)
    with contextlib.suppress(psycopg.Error):
        lock.close()
    assert "django.db.utils.OperationalError" in failed.value.stderr
    pg.start()
    assert stored(pg, message) == 0
    again = server.notify("", message, "--all", "--kind", "build", "--group-key", group)
    assert "Stored a notification" in again.stdout
    assert stored(pg, message) > len(users) - 1  # everyone of this test and earlier ones; the muted user's counts up
