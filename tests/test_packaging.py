"""The release: the wheel carries the app with its partials, CSS and catalogues (one copy, mapped at build time)
and nothing else; the sdist builds it; both pass ``twine check``; the version comes from one place."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import notifications

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, built as a release would be."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-t", "wheel", "--directory", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> zipfile.ZipFile:
    [path] = dist.glob("*.whl")
    return zipfile.ZipFile(path)


def test_both_distributions_pass_twine_check(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_the_version_comes_from_one_place(wheel: zipfile.ZipFile, dist: Path) -> None:
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    assert f"\nVersion: {notifications.__version__}\n" in wheel.read(metadata).decode()
    assert [p.name for p in dist.glob("*.tar.gz")] == [
        f"django_htmx_notification_bar-{notifications.__version__}.tar.gz"
    ]
    assert f"## {notifications.__version__.removesuffix('.dev0')} " in (ROOT / "CHANGELOG.md").read_text()


def test_the_sdist_holds_the_sources_a_wheel_is_built_from(dist: Path) -> None:
    [path] = dist.glob("*.tar.gz")
    with tarfile.open(path) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for needed in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "templates/partials/notification_item.html",
    ):
        assert needed in names
    assert "notifications/locale/ar/LC_MESSAGES/django.mo" in names
    assert not any(name.startswith(("site/", "tests/", "e2e/", "bench/")) for name in names)


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
