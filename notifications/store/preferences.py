"""Per-user choices: each kind on/off for the bar and for email, the digest on/off, "mute everything until".

The rules (also in the README):

- The push decision is made once, when ``notify`` stores the row: if the recipient has the kind off for the bar,
  or has muted everything until a later time, the row is stored with ``muted=True``. A muted row is never pushed,
  never counted in the badge and never listed in the bar; it shows in the history page. Changing a preference
  later does not change rows already stored.
- Email is decided when ``send_digests`` runs: a row is emailed if its kind may be emailed, the user has the kind
  on for email and the digest on. Muting (the timed "mute everything") concerns the bar only.
- A kind the user never touched follows its ``bar_default`` / ``email_default`` from settings.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import Preferences
from . import UserPk
from .kinds import Kind, all_kinds, get_kind
from .readers import zone
from .state import chunks

#: Choices of the "mute everything" control: each button's whole label (translated as one sentence).
MUTE_CHOICES = {"1h": _("Mute for 1 hour"), "8h": _("Mute for 8 hours"), "tomorrow": _("Mute until tomorrow")}


def get_preferences(user: AbstractBaseUser | UserPk) -> Preferences:
    """``user``'s preferences; an unsaved default row when they never chose anything."""
    pk = user.pk if isinstance(user, AbstractBaseUser) else user
    return Preferences.objects.filter(user_id=pk).first() or Preferences(user_id=pk)


def bar_enabled(prefs: Preferences, kind: Kind) -> bool:
    return bool(prefs.bar.get(kind.name, kind.bar_default))


def email_enabled(prefs: Preferences, kind: Kind) -> bool:
    return kind.email and prefs.digest and bool(prefs.email.get(kind.name, kind.email_default))


def is_muted(prefs: Preferences, now: datetime.datetime | None = None) -> bool:
    return prefs.muted_until is not None and prefs.muted_until > (now or timezone.now())


def load(user_ids: Sequence[UserPk]) -> dict[UserPk, Preferences]:
    """The stored preferences of those of ``user_ids`` who have any (one query per 2,000 users)."""
    rows: dict[UserPk, Preferences] = {}
    for chunk in chunks(list(user_ids)):
        rows.update((p.user_id, p) for p in Preferences.objects.filter(user_id__in=chunk))
    return rows


def muted_recipients(
    user_ids: Sequence[UserPk], kind_name: str, rows: Mapping[UserPk, Preferences] | None = None
) -> set[UserPk]:
    """Which of ``user_ids`` get a notification of ``kind_name`` stored muted (``rows``: their :func:`load`)."""
    kind = get_kind(kind_name)
    now = timezone.now()
    rows = load(user_ids) if rows is None else rows
    default = Preferences()
    muted = set()
    for pk in user_ids:
        prefs = rows.get(pk, default)
        if is_muted(prefs, now) or not bar_enabled(prefs, kind):
            muted.add(pk)
    return muted


def save_choices(
    user: AbstractBaseUser,
    *,
    bar: Mapping[str, bool],
    email: Mapping[str, bool],
    digest: bool | None = None,
) -> Preferences:
    """Store ``user``'s per-kind choices for the declared kinds (others are ignored)."""
    known = all_kinds()
    prefs = get_preferences(user)
    prefs.bar = {**prefs.bar, **{k: bool(v) for k, v in bar.items() if k in known}}
    prefs.email = {**prefs.email, **{k: bool(v) for k, v in email.items() if k in known}}
    if digest is not None:
        prefs.digest = digest
    prefs.save()
    return prefs


def save_reader(user: AbstractBaseUser, language: str, time_zone: str) -> Preferences:
    """Store ``user``'s language (a code of ``settings.LANGUAGES``) and time zone; "" for either follows their
    browser / the site. ``ValueError`` for anything else."""
    from django.conf import settings

    from .readers import time_zones

    if language and language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language {language!r}")
    if time_zone and time_zone not in time_zones():
        raise ValueError(f"unknown time zone {time_zone!r}")
    prefs = get_preferences(user)
    prefs.language, prefs.time_zone = language, time_zone
    prefs.save()
    return prefs


def mute_until(choice: str, now: datetime.datetime | None = None) -> datetime.datetime:
    """When a "mute everything" choice ends: 1 hour, 8 hours, or the next local midnight."""
    now = now or timezone.now()
    if choice == "1h":
        return now + datetime.timedelta(hours=1)
    if choice == "8h":
        return now + datetime.timedelta(hours=8)
    if choice == "tomorrow":
        local = timezone.localtime(now)
        midnight = datetime.datetime.combine(local.date() + datetime.timedelta(days=1), datetime.time())
        return timezone.make_aware(midnight, local.tzinfo) if timezone.is_naive(midnight) else midnight
    raise ValueError(f"unknown mute choice {choice!r}; expected one of {', '.join(MUTE_CHOICES)}")


#: What "Snooze" offers, by name; :func:`snooze_until` says when each ends.
SNOOZE_CHOICES = {"hour": _("In an hour"), "tomorrow": _("Tomorrow morning"), "week": _("Next week")}
#: The hour a snooze until "tomorrow morning" or "next week" ends, in the reader's time zone.
MORNING = datetime.time(9)


def snooze_until(choice: str, zone_name: str = "", now: datetime.datetime | None = None) -> datetime.datetime:
    """When a snooze choice ends: in an hour, tomorrow at 9:00 or next Monday at 9:00 in the time zone named
    ``zone_name`` (the reader's; "" for the site's)."""
    now = now or timezone.now()
    if choice == "hour":
        return now + datetime.timedelta(hours=1)
    local = now.astimezone(zone(zone_name))
    if choice == "tomorrow":
        day = local.date() + datetime.timedelta(days=1)
    elif choice == "week":
        day = local.date() + datetime.timedelta(days=7 - local.weekday())
    else:
        raise ValueError(f"unknown snooze choice {choice!r}; expected one of {', '.join(SNOOZE_CHOICES)}")
    return datetime.datetime.combine(day, MORNING, tzinfo=local.tzinfo)


def mute(user: AbstractBaseUser, choice: str) -> Preferences:
    """Mute everything in the bar for a while.

    ``choice``: a key of :data:`~notifications.store.preferences.MUTE_CHOICES`."""
    prefs = get_preferences(user)
    prefs.muted_until = mute_until(choice)
    prefs.save()
    return prefs


def unmute(user: AbstractBaseUser) -> Preferences:
    prefs = get_preferences(user)
    prefs.muted_until = None
    prefs.save()
    return prefs


def set_digest(user_pk: UserPk | str, enabled: bool) -> None:
    """Turn ``user_pk``'s email digest on or off (the unsubscribe link's job, whose token carries it as text; no user
    object needed)."""
    from django.contrib.auth import get_user_model

    # A deleted user's link has nothing left to turn off (and must not fail on the foreign key).
    if get_user_model()._default_manager.filter(pk=user_pk).exists():
        Preferences.objects.update_or_create(user_id=user_pk, defaults={"digest": enabled})


def kind_rows(prefs: Preferences) -> Iterable[tuple[Kind, bool, bool]]:
    """Each declared kind with the user's bar and email choice, for the preferences page."""
    for kind in all_kinds().values():
        yield kind, bar_enabled(prefs, kind), bool(prefs.email.get(kind.name, kind.email_default))


async def amute(user: AbstractBaseUser, choice: str) -> Preferences:
    """Async :func:`mute`."""
    from channels.db import database_sync_to_async

    prefs: Preferences = await database_sync_to_async(mute)(user, choice)
    return prefs


async def aunmute(user: AbstractBaseUser) -> Preferences:
    """Async :func:`unmute`."""
    from channels.db import database_sync_to_async

    prefs: Preferences = await database_sync_to_async(unmute)(user)
    return prefs
