"""The project's notification kinds, declared once in ``NOTIFICATIONS["KINDS"]``.

A kind names a sort of notification (comment, build, invite...) and carries its label, its default level,
its partial, its grouping rule, whether it may be emailed and whether users get it by default. ``notify`` takes
any ``kind`` string; an undeclared one behaves as :data:`DEFAULT_KIND`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from . import conf

ITEM_TEMPLATE = "partials/notification_item.html"
GROUP_BY = (None, "kind", "url")
KEYS = {"label", "level", "template", "group_by", "email", "bar_default", "email_default"}


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    level: str = "info"
    #: None: partials/notification_<name>.html when it exists, else the default item partial.
    template: str | None = None
    #: None: no grouping unless the caller passes group_key; "kind": one unread item per kind; "url": per url.
    group_by: str | None = None
    #: May this kind be emailed at all (in digests)?
    email: bool = True
    bar_default: bool = True
    email_default: bool = True

    def group_key(self, url: str) -> str:
        if self.group_by == "kind":
            return f"kind:{self.name}"
        if self.group_by == "url":
            return f"kind:{self.name}:{url}"
        return ""


DEFAULT_KIND = Kind(name="", label="Other")


@cache
def all_kinds() -> dict[str, Kind]:
    """The declared kinds, in declaration order."""
    return {
        name: Kind(name=name, **{"label": name.replace("_", " ").capitalize(), **options})
        for name, options in conf.get("KINDS").items()
    }


def get_kind(name: str) -> Kind:
    """The declared kind ``name``, or :data:`DEFAULT_KIND` (with that name) for any other string."""
    kind = all_kinds().get(name)
    if kind is None:
        return Kind(name=name, label=name.replace("_", " ").capitalize() or DEFAULT_KIND.label)
    return kind


@cache
def item_template(name: str) -> str:
    """The partial a notification of kind ``name`` renders with (looked up once per kind)."""
    kind = all_kinds().get(name)
    if kind is None:
        return ITEM_TEMPLATE
    if kind.template:
        return kind.template
    candidate = f"partials/notification_{name}.html"
    try:
        get_template(candidate)
    except TemplateDoesNotExist:
        return ITEM_TEMPLATE
    return candidate


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting in {"NOTIFICATIONS", "TEMPLATES"}:
        all_kinds.cache_clear()
        item_template.cache_clear()
