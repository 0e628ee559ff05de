"""Pages in the signed-in reader's language and time zone (``notifications.store.readers`` decides them)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from .models import Preferences
from .store.readers import Reader, supported


class ReaderMiddleware:
    """Pages in the signed-in reader's language and time zone; remembers the language their browser asks for.

    Put it after ``LocaleMiddleware`` and ``AuthenticationMiddleware``. One query per signed-in request (their
    preferences), and a write only when their browser's language changed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        prefs = Preferences.objects.filter(user_id=user.pk).first()
        browser = supported(getattr(request, "LANGUAGE_CODE", "") or translation.get_language_from_request(request))
        if browser and browser != (prefs.seen_language if prefs else ""):
            Preferences.objects.update_or_create(user_id=user.pk, defaults={"seen_language": browser})
        if prefs is not None:
            chosen = supported(prefs.language)
            Reader(chosen or translation.get_language(), prefs.time_zone).activate(request)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
