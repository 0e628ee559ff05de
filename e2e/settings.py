"""The demo's settings, as the browser tests' servers run them: only the password hasher differs.

Django's own test suites do the same: PBKDF2 spends about half a second of CPU per login and per user
created, on purpose, and the browser tests create and log in about two users per test on a 2-core machine.
"""

from __future__ import annotations

from demo.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
