"""The release: the wheel carries the app with its partials, CSS and catalogues (one copy, mapped at build time)
and nothing else; the sdist builds it; both pass ``twine check``; the version comes from one place."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from email.parser import Parser
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


def test_the_server_and_the_redis_layer_are_extras(wheel: zipfile.ZipFile) -> None:
    """Every install needs Django, Channels and django-htmx; daphne and channels-redis come with the extras
    ``[daphne]`` and ``[redis]`` (the system checks E012 and W005 name them), and the demo extra pulls both in."""
    [name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(wheel.read(name).decode())
    requires = metadata.get_all("Requires-Dist") or []
    hard = {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower() for r in requires if "extra ==" not in r}
    assert hard == {"django", "channels", "django-htmx"}
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"redis", "daphne", "demo", "test"} <= extras
    for extra in ("redis", "demo", "test"):  # hatchling writes the extras an extra includes out in full
        assert any(r.startswith("channels-redis") and f"extra == '{extra}'" in r for r in requires), extra
    for extra in ("daphne", "demo", "test"):
        assert any(r.startswith("daphne") and f"extra == '{extra}'" in r for r in requires), extra


def test_the_app_works_without_the_extras(tmp_path: Path) -> None:
    """With daphne, autobahn, twisted, channels-redis and redis unimportable: every module imports, the checks
    pass (in-memory layer, no daphne in INSTALLED_APPS), and a notification is stored and pushed."""
    (tmp_path / "no_extras_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n"
        'INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "daphne"]  # noqa: F405\n'
        'CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}\n'
        'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}\n'
    )
    script = textwrap.dedent(
        """
        import sys
        BLOCKED = ("daphne", "autobahn", "twisted", "channels_redis", "redis")
        for name in BLOCKED:
            sys.modules[name] = None  # import fails as if not installed
        import importlib, pkgutil
        import django
        django.setup()
        import notifications
        for module in pkgutil.walk_packages(notifications.__path__, "notifications."):
            importlib.import_module(module.name)
        from django.core.management import call_command
        call_command("check", fail_level="ERROR")
        call_command("migrate", verbosity=0)
        from channels.layers import get_channel_layer
        from django.contrib.auth.models import User
        from notifications import notify
        layer, sent = get_channel_layer(), []
        async def group_send(group, message):
            sent.append(message)
        layer.group_send = group_send  # the push, whatever its groups and frames
        notify(User.objects.create(username="ada"), "Hello without extras")
        assert "Hello without extras" in repr(sent), sent
        assert not [name for name in BLOCKED if sys.modules[name] is not None]
        """
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "no_extras_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), str(ROOT / "site")]),
    }
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


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
    folders = ("", "live/", "store/", "web/", "mail/")
    modules = {
        str(path.relative_to(package))
        for folder in folders
        for path in package.glob(f"{folder}*.py")
        if path.name != "__init__.py"
    } | {"templatetags/notifications.py", "management/commands/"}
    listed = set(re.findall(r"`([a-z_/]+(?:\.py|/))`", table))
    assert modules - listed == set()
