"""A designer restyles every partial and page: other classes, wrappers, element names, quotes. No unit test may
notice, because tests read meaning (ids, data- and ARIA attributes, text, out-of-band targets, links) through
testing/html.py, never markup.

The restyle is testing/restyle.py's. The unit tests that render partials or pages run again in another pytest
process, with the restyled copy first in the template search path (tests/settings.py reads
NOTIFICATIONS_RESTYLED_TEMPLATES). A markup assertion (``'class="nb-item"' in html``, ``">1</span>"``, a tag name)
fails there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from notifications import notify
from notifications.store.state import load_state
from notifications.web import rendering
from testing.html import badge, ids, items
from testing.restyle import CONTRACT_CLASSES, Restyled, fresh, is_protocol, restyle

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {
    ROOT / "templates" / "partials": "partials",
    ROOT / "notifications" / "templates" / "notifications": "notifications",
}
#: The modules that render partials, frames or pages and assert on them.
MODULES = [
    "test_api",
    "test_connect_version",
    "test_consumers",
    "test_digests",
    "test_faults",
    "test_history",
    "test_locale",
    "test_preferences",
    "test_pushes",
    "test_router",
    "test_readers",
    "test_rendering",
    "test_rtl",
    "test_state",
    "test_subscriptions",
    "test_templatetags",
    "test_views",
]
#: Slow tests of those modules that read no markup (other processes, a Redis subscription count).
NOT_MARKUP = "not two_hosts_at_once and not leaves_no_subscription_in_redis"
CLASS_ATTRIBUTE = re.compile(r"""\bclass=(["'])(.*?)\1""", re.S)


def classes(text: str) -> set[str]:
    """The class names a template writes literally (not the parts it fills in)."""
    names: set[str] = set()
    for _, value in CLASS_ATTRIBUTE.findall(re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", text)):
        names |= set(value.split())
    return names


@pytest.fixture(scope="module")
def restyled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Restyled]]:
    target = tmp_path_factory.mktemp("restyled-templates")
    return target, restyle(SOURCES, target)


def test_the_restyle_leaves_no_class_element_name_or_quote_of_the_originals(
    restyled: tuple[Path, dict[str, Restyled]],
) -> None:
    """So that the run below proves something: a restyle that changed nothing would pass any test."""
    _, done = restyled
    designed = {name: result for name, result in done.items() if not is_protocol(Path(name))}
    original: set[str] = set()
    for source in SOURCES:
        for path in source.rglob("*.html"):
            if not is_protocol(path):
                original |= classes(path.read_text(encoding="utf-8"))
    assert len(original) > 50
    for name, result in designed.items():
        assert not (classes(result.text) & (original - CONTRACT_CLASSES)), name
        markup = re.sub(r"\{% comment %\}.*?\{% endcomment %\}", "", result.text, flags=re.S)
        assert not re.search(r"<(p|strong|section)\b", markup), name  # renamed (spans: wrappers now)
    assert sum(r.renamed for r in designed.values()) > 40 and sum(r.wrapped for r in designed.values()) > 100
    item = done["partials/notification_item.html"].text
    assert "id='{{ id_prefix" in item and fresh("nb-item") in item  # other quotes, other classes


def test_the_restyled_templates_render_the_same_meaning(
    restyled: tuple[Path, dict[str, Restyled]], alice: Any, settings: Any
) -> None:
    target, _ = restyled
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [target, *settings.TEMPLATES[0]["DIRS"]]}]
    n = notify(alice, "Build 42 finished", level="success")
    html = rendering.render_bar(load_state(alice))
    assert fresh("nb-item") in html and "nb-item" not in html  # the copy is the one rendered
    assert items(html) == [(n.pk, "false")] and badge(html) == 1
    assert {"notification-bar", "notification-count", "notification-list", "notification-toast"} <= set(ids(html))


def test_the_unit_tests_pass_against_the_restyled_templates(restyled: tuple[Path, dict[str, Restyled]]) -> None:
    """About 30 s (two workers): the rendering tests once more, in a pytest process of their own."""
    target, _ = restyled
    env = {
        key: value
        for key, value in os.environ.items()
        # Its own SQLite database, in-memory layer and Redis: nothing shared with this run's workers.
        if not key.startswith(("PYTEST_", "DATABASE_URL", "REDIS_URL"))
    }
    env |= {"NOTIFICATIONS_RESTYLED_TEMPLATES": str(target), "CHANNELS_PREFIX": f"restyled-{uuid.uuid4().hex[:8]}"}
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "-q"),
            *("-k", NOT_MARKUP, "-o", "addopts=-ra --strict-markers"),
            *(f"tests/{module}.py" for module in MODULES),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"restyled templates in {target}:\n{output[-20_000:]}"
    assert f"restyled templates first: {target}" in output  # tests/conftest.py says so: the copy was in use
