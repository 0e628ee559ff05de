"""Each reader's language and time zone: for their pages, their sockets' frames and their emails.

The language is the user's own choice (preferences page), else the one their browser asked for on their last
page view (remembered by :class:`notifications.middleware.ReaderMiddleware`, so frames and emails sent while they
are away use it too), else ``settings.LANGUAGE_CODE``. The time zone is their choice, else ``settings.TIME_ZONE``.
"""

from __future__ import annotations

import contextlib
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone, translation

from ..models import Preferences
from . import UserPk


@dataclass(frozen=True)
class Reader:
    """How one person reads: a language code and a time zone name ("": the site's)."""

    language: str
    time_zone: str = ""

    def activate(self, request: HttpRequest) -> None:
        """For the rest of this request (what :class:`~notifications.middleware.ReaderMiddleware` does with a
        reader's choice)."""
        translation.activate(self.language)
        request.LANGUAGE_CODE = self.language
        timezone.activate(zone(self.time_zone))

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Render in this reader's language and time zone."""
        with translation.override(self.language), timezone.override(zone(self.time_zone)):
            yield


def site_reader() -> Reader:
    return Reader(supported(settings.LANGUAGE_CODE) or "en")


def supported(code: str) -> str:
    """``code`` as one of ``settings.LANGUAGES`` ("de-at" -> "de"), or "" when the site does not offer it."""
    if not code:
        return ""
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return ""


@cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    """A time zone by name; the site's for "" or a name this system does not know."""
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def reader_of(prefs: Preferences | None) -> Reader:
    if prefs is None:
        return site_reader()
    language = supported(prefs.language) or supported(prefs.seen_language) or site_reader().language
    return Reader(language, prefs.time_zone)


def readers(user_ids: Sequence[UserPk], rows: Mapping[UserPk, Preferences] | None = None) -> dict[UserPk, Reader]:
    """Each user's :class:`Reader` (``rows``: their stored preferences, else read here: one query per 2,000)."""
    from .preferences import load

    rows = load(user_ids) if rows is None else rows
    return {pk: reader_of(rows.get(pk)) for pk in user_ids}


@cache
def time_zones() -> tuple[str, ...]:
    """The time zone names a reader may choose (read once per process: it scans the system's zone files)."""
    return tuple(sorted(zoneinfo.available_timezones()))
