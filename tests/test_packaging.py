"""The wheel carries the app with its partials and CSS (one copy, mapped at build time), and nothing else."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import notifications

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "--target", "wheel", "--directory", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    [path] = out.glob("*.whl")
    return zipfile.ZipFile(path)


def test_wheel_carries_the_partials_and_css(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for partial in (ROOT / "templates" / "partials").glob("*.html"):
        assert f"notifications/templates/partials/{partial.name}" in names
    assert "notifications/static/notifications/notifications.css" in names
    assert "notifications/templates/notifications/history.html" in names
    assert "notifications/migrations/0001_initial.py" in names
    assert "notifications/py.typed" in names  # type checkers read the package's hints


def test_wheel_carries_the_compiled_catalogues(wheel: zipfile.ZipFile) -> None:
    """A pip-installed bar speaks German, French and Arabic: the .mo files (and their .po sources) ship."""
    names = set(wheel.namelist())
    for language in ("de", "fr", "ar"):
        assert f"notifications/locale/{language}/LC_MESSAGES/django.mo" in names
        assert f"notifications/locale/{language}/LC_MESSAGES/django.po" in names


def test_wheel_holds_the_app_alone(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"notifications"}


def test_the_docs_give_every_module_its_job() -> None:
    """The module table of docs/reference/architecture.md names every module of the app, so the map cannot fall
    behind the code."""
    package = Path(notifications.__file__).parent
    page = (ROOT / "docs" / "reference" / "architecture.md").read_text()
    table = page[page.index("## The code, module by module") :].split("\n\n")[2]
    assert table.startswith("| module | its one job |"), table[:80]
    modules = {str(path.relative_to(package)) for path in package.glob("*.py") if path.name != "__init__.py"} | {
        "templatetags/notifications.py",
        "management/commands/",
    }
    listed = set(re.findall(r"`([a-z_/]+(?:\.py|/))`", table))
    assert modules - listed == set()
