"""The settings module: defaults, the project's overrides, typos refused, and every key documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from notifications import conf

README = Path(__file__).resolve().parents[1] / "README.md"


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


def test_every_key_is_documented_in_the_readme_with_its_default() -> None:
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (`[^|]*`) \|", README.read_text(), flags=re.M))
    assert set(conf.DEFAULTS) <= set(rows), set(conf.DEFAULTS) - set(rows)
    for name, default in conf.DEFAULTS.items():
        assert rows[name] == "`" + repr(default).replace("'", '"') + "`", name
