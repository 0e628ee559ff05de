"""Settings for the unit tests: the demo project's, with a throwaway database and a fast hasher.

``DATABASE_URL`` / ``REDIS_URL`` switch them to PostgreSQL / channels-redis exactly as in the demo.
"""

from __future__ import annotations

import os

from demo.settings import *  # noqa: F403

if not os.environ.get("DATABASE_URL"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# tests/test_restyled.py: the unit tests against a restyled copy of the templates, searched first.
if os.environ.get("NOTIFICATIONS_RESTYLED_TEMPLATES"):
    TEMPLATES = [  # a copy: the demo's own list stays as it is
        {**TEMPLATES[0], "DIRS": [os.environ["NOTIFICATIONS_RESTYLED_TEMPLATES"], *TEMPLATES[0]["DIRS"]]}  # noqa: F405
    ]
WHITENOISE_USE_FINDERS = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"notifications": {"level": "INFO", "propagate": True}},
}

# Parallel workers (pytest-xdist) on one shared REDIS_URL: each its own keys and pub/sub channels.
if os.environ.get("PYTEST_XDIST_WORKER") and "CONFIG" in CHANNEL_LAYERS["default"]:  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] += "-" + os.environ["PYTEST_XDIST_WORKER"]  # noqa: F405
