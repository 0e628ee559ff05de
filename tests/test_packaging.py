"""The wheel carries the app with its partials and CSS (one copy, mapped at build time), and nothing else."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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


def test_wheel_holds_the_app_alone(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"notifications"}
