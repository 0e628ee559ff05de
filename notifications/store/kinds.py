"""The project's notification kinds, declared once in ``NOTIFICATIONS["KINDS"]``.

A kind names a sort of notification (comment, build, invite...) and carries its label, its default level,
its partial, its grouping rule, whether it may be emailed and whether users get it by default. ``notify`` takes
any ``kind`` string; an undeclared one behaves as :data:`DEFAULT_KIND`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext, pgettext_lazy

from .. import conf

if TYPE_CHECKING:
    from django.contrib.contenttypes.models import ContentType
    from django_stubs_ext import StrPromise

logger = logging.getLogger("notifications")

ITEM_TEMPLATE = "partials/notification_item.html"
GROUP_BY = (None, "kind", "url", "target")
KEYS = {
    "label",
    "level",
    "template",
    "group_by",
    "email",
    "bar_default",
    "email_default",
    "message",
    "grouped_message",
    "email_unread_after",
    "tab",
}


@dataclass(frozen=True)
class Kind:
    name: str
    #: What people read (a lazy translation, e.g. gettext_lazy("Comments"), is welcome).
    label: str | Promise
    level: str = "info"
    #: None: partials/notification_<name>.html when it exists, else the default item partial.
    template: str | None = None
    #: None: no grouping unless the caller passes group_key; "kind": one unread item per kind; "url": per url;
    #: "target": per object the notification is about (a thread).
    group_by: str | None = None
    #: May this kind be emailed at all (in digests, or when still unread)?
    email: bool = True
    #: Seconds after which a notification of this kind that is still unread (and not dismissed) is emailed on
    #: its own, by :func:`notifications.send_unread_emails`; None: only the digest emails it.
    email_unread_after: int | None = None
    bar_default: bool = True
    email_default: bool = True
    #: A tab of its own on the history page (``?show=kind:<name>``), beside Unread, All and Archive.
    tab: bool = False
    #: The sentence, rendered in each reader's language: ``gettext_lazy("{actor} commented on {target}")``.
    #: Named fields: ``{actor}``, ``{target}``, ``{count}`` (the other actors) and the caller's ``params``.
    message: str | StrPromise = ""
    #: The sentence of a grouped item with other actors: ``ngettext_lazy("{actor} and {count} other ...",
    #: "{actor} and {count} others ...", "count")``, or a (singular, plural) pair.
    grouped_message: str | StrPromise | tuple[str, str] = ""

    def group_key(self, url: str, target_type: ContentType | None = None, target_id: str = "") -> str:
        if self.group_by == "kind":
            return f"kind:{self.name}"
        if self.group_by == "url":
            return f"kind:{self.name}:{url}"
        if self.group_by == "target" and target_type is not None:
            return f"kind:{self.name}:{target_type.pk}:{target_id}"
        return ""

    def render_message(self, values: Mapping[str, object]) -> str:
        """The kind's sentence in the active language, its fields filled from ``values`` ("" if it has none).

        A field the template names but ``values`` lacks renders as "{name}" (a kind's template changed while
        older rows lack the parameter): never an error in the bar.
        """
        if not self.message:
            return ""
        values = _Fields({"actor": "", "target": "", "count": 0, **values})
        count = values["count"] if isinstance(values["count"], int | float) else 0  # the other actors
        template = self.grouped_message if count and self.grouped_message else self.message
        try:
            if isinstance(template, tuple):
                return ngettext(template[0], template[1], count).format_map(values)
            if isinstance(template, str):  # a plain string: translated if the project's catalogue has it
                return gettext(template).format_map(values)
            # gettext_lazy, or ngettext_lazy(..., "count"), whose format() picks the plural form from "count"
            return str(template.format(**values))
        except (KeyError, ValueError, IndexError, AttributeError) as error:
            logger.error("The message template of kind %r does not format: %s", self.name, error)
            return str(self.message)


class _Fields(dict[str, object]):
    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


DEFAULT_KIND = Kind(name="", label=pgettext_lazy("notification kind", "Other"))


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
