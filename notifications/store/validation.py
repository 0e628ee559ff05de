"""Checks on what callers pass to notify(): clear errors for bad input, safe links only.

One rule for every way in: the API and the ``notify`` command call the ``clean_*`` functions; the model's
fields carry :func:`validate_url` and :func:`validate_actions`, so admin forms and ``full_clean()`` apply the
same rule; click-through checks the stored URL again before redirecting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from .. import conf


def clean_choice(value: object, *, field: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if value not in choices:
        raise ValueError(f"{field} must be one of {', '.join(choices)}, not {value!r}")
    return str(value)


def clean_text(value: object, *, field: str, max_length: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str, not {type(value).__name__}")
    text: str = value.strip()
    if required and not text:
        raise ValueError(f"{field} must not be empty")
    if len(text) > max_length:
        raise ValueError(f"{field} is {len(text)} characters long; the limit is {max_length}")
    return text


def is_safe_url(url: str) -> bool:
    """A relative URL, or an absolute http(s) URL on a host in ``ALLOWED_URL_HOSTS``; never ``javascript:``."""
    allowed = set(conf.get("ALLOWED_URL_HOSTS"))
    return url_has_allowed_host_and_scheme(url, allowed_hosts=allowed, require_https=False)


def clean_url(url: str, *, field: str = "url") -> str:
    url = clean_text(url, field=field, max_length=500)
    if url and not is_safe_url(url):
        raise ValueError(
            f"{field} {url!r} is not safe: use a relative URL or add its host to NOTIFICATIONS['ALLOWED_URL_HOSTS']"
        )
    return url


def clean_actions(actions: Iterable[Mapping[str, str]] | None) -> list[dict[str, str]]:
    """Action buttons: ``[{"label": "Approve", "url": "/builds/42/approve/"}, ...]``."""
    cleaned = []
    for action in actions or ():
        if not isinstance(action, Mapping) or set(action) != {"label", "url"}:
            raise ValueError(f"each action must be a mapping with 'label' and 'url', not {action!r}")
        label = clean_text(action["label"], field="action label", max_length=60, required=True)
        url = clean_url(action["url"], field="action url")
        if not url:
            raise ValueError(f"action {label!r} needs a url")
        cleaned.append({"label": label, "url": url})
    return cleaned


def clean_params(params: Mapping[str, object] | None) -> dict[str, str | int | float]:
    """A kind's message parameters: names to plain values (stored as JSON, shown through autoescaping)."""
    cleaned: dict[str, str | int | float] = {}
    for name, value in (params or {}).items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"parameter names must be identifiers, not {name!r}")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError(f"parameter {name!r} must be a str or a number, not {type(value).__name__}")
        if isinstance(value, str):
            value = clean_text(value, field=f"parameter {name!r}", max_length=200)
        cleaned[name] = value
    return cleaned


def clean_object(obj: object, *, field: str) -> Model:
    """A saved model instance (a notification's target or actor, a thing to follow)."""
    if not isinstance(obj, Model):
        raise TypeError(f"{field} must be a saved model instance, not {type(obj).__name__}")
    if obj.pk is None or obj._state.adding:
        raise ValueError(f"{field} {obj!r} is not saved: save it before notifying about it")
    return obj


def clean_target(obj: object, *, field: str = "target") -> Model:
    """:func:`clean_object`, and not of a model listed in ``NOTIFICATIONS["DENIED_TARGET_MODELS"]``."""
    checked = clean_object(obj, field=field)
    if checked._meta.label_lower in {label.lower() for label in conf.get("DENIED_TARGET_MODELS")}:
        raise ValueError(f"{field} may not be a {checked._meta.label} (NOTIFICATIONS['DENIED_TARGET_MODELS'])")
    return checked


def parse_pk(value: object) -> int | None:
    """A notification id from a form or a frame: a positive integer (or its digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        value = int(value)
    if isinstance(value, int) and 0 < value < 2**63:
        return value
    return None


def validate_url(value: str) -> None:
    """Model and form validator: the rule of :func:`clean_url` (relative, or on ``ALLOWED_URL_HOSTS``)."""
    try:
        clean_url(value)
    except (ValueError, TypeError) as error:
        raise ValidationError(_("Not a safe link: %(error)s"), code="unsafe_url", params={"error": error}) from error


def validate_actions(value: object) -> None:
    """Model validator: the rule of :func:`clean_actions` (a list of ``{"label", "url"}`` with safe URLs)."""
    if not isinstance(value, list):
        raise ValidationError(_("Actions must be a list."), code="invalid_actions")
    try:
        clean_actions(value)
    except (ValueError, TypeError) as error:
        raise ValidationError(str(error), code="invalid_actions") from error
