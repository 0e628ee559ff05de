"""User stories about a Redis outage: the page says so, and catches up without a reload when Redis is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from testing.browser import log_in
from testing.processes import DemoServer, RedisServer


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[tuple[DemoServer, RedisServer]]:
    """A daphne with a Redis of its own, which the test may stop and start."""
    with RedisServer() as redis:
        server = DemoServer(
            tmp_path,
            {"DATABASE_URL": f"sqlite:///{tmp_path / 'outage.sqlite3'}", "REDIS_URL": redis.url},
        )
        server.manage("migrate", "--no-input", "-v0")
        server.start()
        try:
            yield server, redis
        finally:
            server.stop()


def test_alice_sees_live_updates_paused_during_a_redis_outage_and_misses_nothing(
    outage: tuple[DemoServer, RedisServer], new_context: Any
) -> None:
    server, redis = outage
    [(alice, pw)] = server.create_users("alice")
    page = new_context().new_page()
    log_in(page, server.base_url, alice, pw)
    status = page.locator("#notification-status")
    expect(status).to_be_hidden()

    redis.stop()
    expect(status).to_be_visible()
    expect(status).to_have_text("Live updates paused")
    server.notify(alice, "stored while Redis was down")  # stored; the push fails

    redis.start()
    # No reload, and the socket never dropped: the server re-sends the state once its layer answers again.
    expect(page.locator("#notification-list > li").first).to_contain_text("stored while Redis was down")
    expect(page.locator("#notification-count")).to_have_text("1")
    expect(status).to_be_hidden()
    server.notify(alice, "live again")
    expect(page.locator("#notification-list > li").first).to_contain_text("live again")
