"""The documentation builds without a warning, and its generated references hold everything in the code.

The build is the one ``scripts/docs.sh`` runs (``sphinx-build -W --keep-going -n``), once per test session,
into a temporary folder; it is skipped where the ``docs`` extra is not installed.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import notifications
from notifications import conf

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
#: What scripts/docs.sh runs: warnings are errors, references nitpicky.
SPHINX_BUILD = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html"]


def load_extension() -> ModuleType:
    """docs/_ext/notifications_docs.py, the Sphinx extension that generates the reference tables."""
    spec = importlib.util.spec_from_file_location("notifications_docs", DOCS / "_ext" / "notifications_docs.py")
    assert spec is not None and spec.loader is not None
    if spec.name not in sys.modules:  # its dataclasses look their module up there
        sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for name in ("sphinx", "myst_parser", "furo"):
        pytest.importorskip(name, reason="the docs extra is not installed")
    out = tmp_path_factory.mktemp("docs")
    result = subprocess.run(
        [*SPHINX_BUILD, "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout}\n{result.stderr}"
    assert "WARNING" not in result.stderr, result.stderr
    return out / "html"


def test_the_docs_build_with_warnings_as_errors(html: Path) -> None:
    for page in ("index", "tutorial", "reference/api", "reference/settings", "reference/checks", "changelog"):
        assert (html / f"{page}.html").is_file(), page


def test_every_setting_is_in_the_reference_with_its_default(html: Path) -> None:
    page = (html / "reference" / "settings.html").read_text()
    for name, default in conf.DEFAULTS.items():
        row = re.search(rf'<tr[^>]*><td><p id="setting-{name}">.*?</tr>', page, re.S)
        assert row is not None, f"{name} is not in the settings reference"
        shown = re.sub(r"<[^>]+>", "", row.group(0)).replace("&quot;", '"')
        assert repr(default).replace("'", '"') in shown, (name, shown)


def test_every_system_check_id_is_in_the_reference(html: Path) -> None:
    ids = set(re.findall(r'id="(notifications\.[EW]\d{3})"', (ROOT / "notifications" / "checks.py").read_text()))
    assert ids, "no check ids found in checks.py"
    page = (html / "reference" / "checks.html").read_text()
    assert {i for i in ids if f'id="check-{i}"' not in page} == set()
    assert {row.id for row in load_extension().check_rows()} == ids


def test_every_partial_is_listed_with_its_context(html: Path) -> None:
    page = (html / "designers" / "partials.html").read_text()
    partials = sorted((ROOT / "templates" / "partials").glob("*.html"))
    for path in partials:
        assert f"partials/{path.name}" in page, path.name
    with_context = [p for p in partials if "Context:" in p.read_text().split("{% endcomment %}")[0]]
    assert page.count("Context: </strong>") == len(with_context)


def test_every_public_name_is_in_the_api_reference(html: Path) -> None:
    page = (html / "reference" / "api.html").read_text()
    assert {name for name in notifications.__all__ if f'id="notifications.{name}"' not in page} == set()


def test_a_key_without_a_comment_fails_the_settings_reference() -> None:
    """The generator refuses an undocumented key instead of rendering an empty row (the build then fails)."""
    source = (ROOT / "notifications" / "conf.py").read_text()
    undocumented = source.replace("    # Items per page on the history page (/notifications/).\n", "")
    assert undocumented != source, "the comment above PAGE_SIZE changed: update this test"
    with pytest.raises(ValueError, match="PAGE_SIZE"):
        load_extension().settings_rows(undocumented)


def test_a_partial_without_a_header_fails_the_partials_reference(tmp_path: Path) -> None:
    (tmp_path / "notification_new.html").write_text("<p>{{ notification }}</p>\n")
    with pytest.raises(ValueError, match=r"notification_new\.html"):
        load_extension().partial_headers(tmp_path)
