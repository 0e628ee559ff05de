"""Settings for the demo project.

Nothing set: SQLite (db.sqlite3 beside manage.py) and the in-memory channel layer, one process.
``REDIS_URL``: channels-redis, so several daphne processes (and manage.py notify) share one Redis.
``REDIS_SENTINELS`` ("host:port,host:port,host:port") with ``REDIS_MASTER_NAME`` (and optionally ``REDIS_DB``,
``REDIS_PASSWORD``, ``REDIS_SENTINEL_PASSWORD``): the same through Redis Sentinel, which follows a failover.
``DATABASE_URL``: any database dj-database-url understands, e.g. postgres://user@127.0.0.1:5432/db.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the repository root

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-insecure-secret-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "notifications",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The reader's own language and time zone on every page; remembers their browser's language for pushes.
    "notifications.middleware.ReaderMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo.urls"

# The languages the app ships catalogues for (and the demo's own strings); a reader's choice, their browser's,
# else LANGUAGE_CODE.
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("ar", "العربية")]
ASGI_APPLICATION = "demo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The repository's templates/ holds the partials (a wheel carries them inside the package instead).
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=0, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the server read while manage.py notify (another process) writes; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }


def _sentinel_host(sentinels: str) -> dict[str, object]:
    """channels-redis's host entry for a Sentinel-managed master (REDIS_SENTINELS="host:port,host:port,...")."""
    addresses = []
    for address in sentinels.split(","):
        host, _, port = address.strip().rpartition(":")
        addresses.append((host.strip("[]"), int(port)))
    entry: dict[str, object] = {
        "sentinels": addresses,
        "master_name": os.environ.get("REDIS_MASTER_NAME", "mymaster"),
        "db": int(os.environ.get("REDIS_DB", "0")),
    }
    if os.environ.get("REDIS_PASSWORD"):  # the master's (and its replicas')
        entry["password"] = os.environ["REDIS_PASSWORD"]
    if os.environ.get("REDIS_SENTINEL_PASSWORD"):  # the sentinels' own, when they require one
        entry["sentinel_kwargs"] = {"password": os.environ["REDIS_SENTINEL_PASSWORD"]}
    return entry


# REDIS_SENTINELS (a master that Redis Sentinel fails over) wins over REDIS_URL (one Redis).
_redis_host = _sentinel_host(os.environ["REDIS_SENTINELS"]) if os.environ.get("REDIS_SENTINELS") else None
if _redis_host or os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            # One PUBLISH per group_send, whatever the group's size (see README, "Channel layer").
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [_redis_host or os.environ["REDIS_URL"]],
                "prefix": os.environ.get("CHANNELS_PREFIX", "nb"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

NOTIFICATIONS: dict[str, object] = {
    # The history page inside the demo's own layout (header, signed-in user, fonts).
    "BASE_TEMPLATE": "demo/base.html",
    # The demo's kinds: what the preferences page lists and the styleguide shows.
    "KINDS": {
        # A sentence rendered in each reader's language; one unread item per ticket ("alice and 2 others ...");
        # a tab of its own on the history page.
        "comment": {
            "label": _("Comments"),
            "tab": True,
            "level": "info",
            "group_by": "target",
            "message": _("{actor} commented: {excerpt}"),
            "grouped_message": ngettext_lazy(
                "{actor} and {count} other commented", "{actor} and {count} others commented", "count"
            ),
        },
        "build": {"label": "Builds", "level": "success"},
        "invite": {"label": "Invitations", "level": "warning", "template": "partials/notification_invite.html"},
        "security": {"label": "Security alerts", "level": "error", "email": True, "bar_default": True},
        "digest_only": {"label": "Weekly summaries", "bar_default": False},
    },
    "DIGEST_DELAY": int(os.environ.get("DIGEST_DELAY", "3600")),
    "BASE_URL": os.environ.get("BASE_URL", "http://localhost:8000"),
}
if os.environ.get("NOTIFICATIONS_HEARTBEAT_INTERVAL"):  # the browser tests shorten it
    NOTIFICATIONS["HEARTBEAT_INTERVAL"] = float(os.environ["NOTIFICATIONS_HEARTBEAT_INTERVAL"])


# Digests go to an SMTP server when EMAIL_PORT is set (the tests start aiosmtpd); else to the console.
if os.environ.get("EMAIL_PORT"):
    _MAILER = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": os.environ.get("EMAIL_HOST", "127.0.0.1"), "port": int(os.environ["EMAIL_PORT"])},
    }
else:
    _MAILER = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
if django.VERSION >= (6, 1):
    MAILERS = {"default": _MAILER}  # Django 6.1 replaces EMAIL_BACKEND/EMAIL_HOST/... with MAILERS
else:
    EMAIL_BACKEND = _MAILER["BACKEND"]
    EMAIL_HOST = _MAILER.get("OPTIONS", {}).get("host", "localhost")
    EMAIL_PORT = _MAILER.get("OPTIONS", {}).get("port", 25)
DEFAULT_FROM_EMAIL = "notifications@example.com"

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# A project's own stylesheet in the styleguide (DEMO_PROJECT_STATIC: its folder, DEMO_PROJECT_CSS: the file in it).
if os.environ.get("DEMO_PROJECT_STATIC"):
    STATICFILES_DIRS.append(Path(os.environ["DEMO_PROJECT_STATIC"]))
STYLEGUIDE_STYLESHEETS = [p for p in os.environ.get("DEMO_PROJECT_CSS", "").split(",") if p]
# Serve straight from the finders (no collectstatic step for the demo). In production set DJANGO_STATIC_ROOT,
# run collectstatic, and whitenoise serves the collected (compressed, cached) files.
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
# Without collectstatic (no STATIC_ROOT) files are served from their sources: look at them on every request.
# Whitenoise otherwise keeps each file's length from start-up, and an edited stylesheet comes out cut to it.
WHITENOISE_AUTOREFRESH = DEBUG or not STATIC_ROOT

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if django.VERSION >= (6, 0):
    # A strict Content-Security-Policy (Django 6's own support): no inline script or style, nothing from
    # elsewhere; the styleguide's one <style> carries the request's nonce. htmx adds no inline style (its
    # indicator styles are off, see the templates' htmx-config meta) and evaluates nothing.
    from django.utils.csp import CSP

    MIDDLEWARE.insert(1, "django.middleware.csp.ContentSecurityPolicyMiddleware")
    TEMPLATES[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")
    SECURE_CSP = {
        "default-src": [CSP.NONE],
        "script-src": [CSP.SELF, CSP.NONCE],
        "style-src": [CSP.SELF, CSP.NONCE],
        "img-src": [CSP.SELF, "data:"],
        "connect-src": [CSP.SELF],  # the bar's WebSocket (same host) and htmx requests
        "form-action": [CSP.SELF],
        "base-uri": [CSP.NONE],
        "frame-ancestors": [CSP.NONE],
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"notifications": {"handlers": ["console"], "level": "INFO"}},
}
