"""Read on visit: the page of an object marks the reader's notifications about it read, in one line.

- a class-based view: ``class TicketView(MarkReadMixin, DetailView)``;
- a function view: ``@marks_read(Ticket)`` (the object's primary key is the URL's ``pk``);
- a template: ``{% load notifications %}{% mark_read_for ticket %}``.

Each costs one query when nothing is unread; every open tab of the reader follows when something changed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Generic, TypeVar

from django.db import models
from django.http import HttpRequest, HttpResponse

from ..store import api

V = TypeVar("V", bound=Callable[..., HttpResponse])
M = TypeVar("M", bound=models.Model)


class MarkReadMixin(Generic[M]):
    """For views with ``get_object()`` (``DetailView``, ``UpdateView``...): the object's notifications are
    read once it is found, before the page (and its bar) renders. Typed: ``MarkReadMixin[Ticket]``."""

    request: HttpRequest

    def get_object(self, queryset: models.QuerySet[M] | None = None) -> M:
        obj: M = super().get_object(queryset)  # type: ignore[misc]
        api.mark_read_for(self.request.user, obj)  # type: ignore[arg-type]
        return obj


def marks_read(model: type[models.Model], url_kwarg: str = "pk") -> Callable[[V], V]:
    """A function view's decorator: the notifications about ``model``'s object whose primary key is the URL's
    ``url_kwarg`` are read before the view runs (no object is loaded for it)."""

    def decorator(view: V) -> V:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if url_kwarg in kwargs:
                api.mark_read_about(request.user, model, kwargs[url_kwarg])  # type: ignore[arg-type]
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
