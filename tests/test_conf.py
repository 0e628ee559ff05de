"""The settings module: defaults, the project's overrides, typos refused, and every key documented."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from notifications import conf

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_nothing_set_gives_the_defaults(settings: Any) -> None:
    settings.NOTIFICATIONS = {}
    assert {name: conf.get(name) for name in conf.DEFAULTS} == conf.DEFAULTS


def test_a_project_value_overrides_its_key_only(settings: Any) -> None:
    settings.NOTIFICATIONS = {"BAR_SIZE": 3}
    assert conf.get("BAR_SIZE") == 3
    assert conf.get("PAGE_SIZE") == conf.DEFAULTS["PAGE_SIZE"]


def test_a_changed_setting_is_read_again() -> None:
    with override_settings(NOTIFICATIONS={"PAGE_SIZE": 5}):
        assert conf.get("PAGE_SIZE") == 5
        with override_settings(NOTIFICATIONS={"PAGE_SIZE": 7}):
            assert conf.get("PAGE_SIZE") == 7
        assert conf.get("PAGE_SIZE") == 5


def test_a_misspelt_key_is_refused_by_name(settings: Any) -> None:
    settings.NOTIFICATIONS = {"BAR_SZIE": 3, "PAGESIZE": 1}
    with pytest.raises(KeyError, match="Unknown NOTIFICATIONS setting\\(s\\): BAR_SZIE, PAGESIZE"):
        conf.get("BAR_SIZE")


def test_every_key_is_documented_in_the_settings_reference_with_its_default() -> None:
    """docs/reference/settings.md renders its table from conf.py at build time (docs/_ext/notifications_docs.py):
    every key needs a comment above it (or is named by the comment of the key right above it)."""
    spec = importlib.util.spec_from_file_location("notifications_docs", DOCS / "_ext" / "notifications_docs.py")
    assert spec is not None and spec.loader is not None
    extension = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # for its dataclasses
    spec.loader.exec_module(extension)
    rows = {row.name: row for row in extension.settings_rows()}  # raises ValueError naming undocumented keys
    assert list(rows) == list(conf.DEFAULTS)
    for name, default in conf.DEFAULTS.items():
        assert rows[name].default == repr(default).replace("'", '"'), name
        assert rows[name].meaning or rows[name].see in rows, name
    assert "```{notifications-settings}" in (DOCS / "reference" / "settings.md").read_text()
