"""Browser-test fixtures: one real daphne for the session, Debian's Chromium, artifacts on failure."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from testing.browser import CHROMIUM, CHROMIUM_ARGS, log_in
from testing.processes import DemoServer
from testing.styleguide import STYLEGUIDE_CONTEXT

expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(item.fspath).parent.name == "e2e":
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def _server_env(workdir: Path, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": _database_url(workdir),
        "REDIS_URL": redis_url,
        # Its own key space, even on a shared Redis (and beside the other xdist workers' servers).
        "CHANNELS_PREFIX": f"e2e-{uuid.uuid4().hex[:8]}",
    }


def _database_url(workdir: Path) -> str:
    """SQLite in the session's own folder; with a PostgreSQL DATABASE_URL, a fresh database of this test
    session (and xdist worker) on that server, so parallel workers never migrate or broadcast into one."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return url or f"sqlite:///{workdir / 'e2e.sqlite3'}"
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_e2e_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server_env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> dict[str, str]:
    workdir = tmp_path_factory.mktemp("e2e")
    env = _server_env(workdir, redis_url)
    DemoServer(workdir, env).manage("migrate", "--no-input", "-v0")
    env["E2E_WORKDIR"] = str(workdir)
    return env


@pytest.fixture(scope="session")
def server(server_env: dict[str, str]) -> Iterator[DemoServer]:
    """The demo on daphne, with Redis as channel layer so manage.py commands reach its sockets."""
    demo = DemoServer(Path(server_env["E2E_WORKDIR"]), server_env)
    demo.start()
    yield demo
    demo.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    item.stash.setdefault(_failed, False)
    if report.failed:
        item.stash[_failed] = True
    return report


_failed = pytest.StashKey[bool]()
_frames = pytest.StashKey[list[str]]()


@pytest.fixture
def new_context(
    new_context: Callable[..., BrowserContext], request: pytest.FixtureRequest
) -> Callable[..., BrowserContext]:
    """pytest-playwright's, recording every WebSocket frame of every page (traces hold none): a failing test
    leaves them in ``websocket-frames.txt`` beside its trace."""
    frames = request.node.stash.setdefault(_frames, [])

    def record(page: Page) -> None:
        def on_socket(ws: Any) -> None:
            ws.on("framereceived", lambda payload: frames.append(f"{time.strftime('%X')} < {ws.url}\n{payload}"))
            ws.on("framesent", lambda payload: frames.append(f"{time.strftime('%X')} > {ws.url}\n{payload}"))
            ws.on("close", lambda _: frames.append(f"{time.strftime('%X')} closed {ws.url}"))

        page.on("websocket", on_socket)

    def make(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        context.on("page", record)
        return context

    return make


@pytest.fixture(autouse=True)
def keep_server_log_on_failure(request: pytest.FixtureRequest, output_path: str) -> Iterator[None]:
    """On failure, server.log beside the trace and screenshot holds what each daphne logged during the test."""
    offsets = {path: path.stat().st_size for path in DemoServer.log_paths if path.exists()}
    yield
    if request.node.stash.get(_failed, False):
        folder = Path(output_path)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "websocket-frames.txt").write_text("\n\n".join(request.node.stash.get(_frames, [])))
        with (folder / "server.log").open("w") as out:
            for path in DemoServer.log_paths:
                out.write(f"==> {path.name} <==\n")
                with path.open(errors="replace") as log:
                    log.seek(offsets.get(path, 0))
                    out.write(log.read())


@pytest.fixture(autouse=True)
def fail_on_console_errors(browser: Any) -> None:
    """Every console error and uncaught exception of the test's pages (htmx:oobErrorNoTarget, a CSP
    violation, a failed request...) fails it, with the messages in the test's own output, not only in the
    trace. A test that expects some marks itself ``@pytest.mark.console_errors("substring", ...)``. Checked
    right after the test's body (see pytest_runtest_call), before fixtures stop servers the pages still use."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    result = yield  # a test that failed already raises here: its own failure is the one to show
    browser = getattr(item, "funcargs", {}).get("browser")
    if browser is not None:
        marker = item.get_closest_marker("console_errors")
        allowed = marker.args if marker else ()
        errors = [
            f"{page.url}: {text}"
            for context in browser.contexts
            for page in context.pages
            for text in [m.text for m in page.console_messages() if m.type == "error"]
            + [f"uncaught {e}" for e in page.page_errors()]
            if not any(a in text for a in allowed)
        ]
        if errors:
            pytest.fail("errors in the browser console:\n" + "\n".join(errors), pytrace=False)
    return result


@pytest.fixture
def user_page(server: DemoServer, new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """``user_page(username, password)``: a logged-in page in a browser context of its own."""

    def make(username: str, password: str, **context_options: Any) -> Page:
        page = new_context(**context_options).new_page()
        log_in(page, server.base_url, username, password)
        return page

    return make


@pytest.fixture
def start_server(server_env: dict[str, str]) -> Iterator[Callable[..., DemoServer]]:
    """``start_server(*daphne_args)``: another daphne (same database and Redis as ``server``), stopped after."""
    started: list[DemoServer] = []

    def start(*daphne_args: str) -> DemoServer:
        demo = DemoServer(Path(server_env["E2E_WORKDIR"]), server_env, daphne_args=daphne_args)
        demo.start()
        started.append(demo)
        return demo

    yield start
    for demo in started:
        demo.stop()


@pytest.fixture
def own_server(start_server: Callable[..., DemoServer]) -> DemoServer:
    """A daphne of the test's own, free to stop and restart."""
    return start_server()


@pytest.fixture
def styleguide(server: DemoServer, new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """``styleguide(**context_options)``: the styleguide, anonymous, loaded with its fonts."""

    def make(**options: Any) -> Page:
        page = new_context(**{**STYLEGUIDE_CONTEXT, **options}).new_page()
        response = page.goto(f"{server.base_url}/styleguide/")
        assert response is not None and response.status == 200
        expect(page.locator("#state-history")).to_be_visible()
        assert page.evaluate("document.fonts.ready.then(fonts => fonts.status)") == "loaded"
        return page

    return make
