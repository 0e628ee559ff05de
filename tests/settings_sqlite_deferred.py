"""The demo's settings with SQLite's default (deferred) transactions, for the two-hosts digest test."""

from __future__ import annotations

from demo.settings import *  # noqa: F403
from demo.settings import DATABASES

DATABASES["default"]["OPTIONS"].pop("transaction_mode", None)
