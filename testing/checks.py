"""System checks for the unit tests."""

from __future__ import annotations

from typing import Any

from django.core import checks


def check_ids(**kwargs: Any) -> set[str]:
    """The ids of this app's system check messages. ``databases=[]``: static checks only (Django 6.1 would
    otherwise check every database, which these tests do not open)."""
    found = (m.id for m in checks.run_checks(databases=[], **kwargs))
    return {id for id in found if id is not None and id.startswith("notifications.")}
