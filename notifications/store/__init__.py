"""The store and its API: notify() and the other calls, a bar's state, kinds, preferences, subscriptions,
idempotent keys, readers and validation."""

from __future__ import annotations

from typing import TypeAlias

#: A user's primary key (``Notification.recipient_id``, ``Preferences.user_id``, dict keys per user). Typed as the
#: stubs type those fields, from the settings mypy runs with (Django's ``User``, an ``AutoField``): they check
#: every ORM lookup against it. A project's UUID or string keys work the same at run time; they come from
#: ``user.pk``, which the stubs leave untyped.
UserPk: TypeAlias = int
