"""Fixtures shared by the unit tests (tests/) and the browser tests (e2e/)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from testing.processes import RedisServer

# Visual checks of the styleguide: the `references` fixture and `--update-references`.
pytest_plugins = ["e2e.visual"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """REDIS_URL when set, else a private redis-server on a free port for this test session."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with RedisServer() as server:
        yield server.url
