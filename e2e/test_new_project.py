"""An integrator's first hour: the tutorial's snippets (docs/tutorial.md) turn a new project into a live bar.

The test does what a Django developer would, with the snippets read from docs/tutorial.md at test time (for each
``<!-- integration:NAME -->`` marker, the first fenced code block after it), so it fails when they stop working:
``pip install`` the checkout with the tutorial's own command (and nothing else) into a fresh virtualenv,
``django-admin startproject``, apply the settings, asgi.py, urls.py and template snippets, ``migrate``, ``check``
(no ``notifications.*`` warning) and ``check --deploy`` (no error of the app), ``manage.py runserver`` (daphne's,
so it serves the WebSocket too), log in with Chromium, and watch a ``manage.py notify`` from another process
arrive in the open page through a private Redis.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from testing.processes import ROOT, RedisServer, free_port, stop_process, wait_for_port

TUTORIAL = ROOT / "docs" / "tutorial.md"
SNIPPETS = ("install", "settings.py", "asgi.py", "urls.py", "template")
TUTORIAL_REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "correct-horse-battery-staple"
# The test's own settings would leak into the new project through these; it must use startproject's (SQLite).
LEAKY_ENV = ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DATABASE_URL", "REDIS_URL")

# Test scaffolding beyond the marked snippets, kept minimal (the tutorial shows it too, unmarked): a
# login-protected page that renders the template snippet.
SCAFFOLD_SETTINGS = """
TEMPLATES[0]["DIRS"] = [BASE_DIR / "templates"]
LOGIN_URL = "/admin/login/"
"""
SCAFFOLD_URLS = """
from django.contrib.auth.decorators import login_required
from django.views.generic import TemplateView

urlpatterns += [path("", login_required(TemplateView.as_view(template_name="page.html")))]
"""


def tutorial_snippets() -> dict[str, str]:
    """For each integration marker, the body of the first fenced code block after it."""
    text = TUTORIAL.read_text()
    snippets = {}
    for name in SNIPPETS:
        pattern = rf"<!-- integration:{re.escape(name)} -->.*?^```[^\n]*\n(.*?)^```"
        match = re.search(pattern, text, re.DOTALL | re.MULTILINE)
        assert match is not None, f"docs/tutorial.md has no code block after <!-- integration:{name} -->"
        snippets[name] = match.group(1)
    return snippets


def clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in LEAKY_ENV}


def run(*args: str | Path, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command like a developer in a terminal; fail with its output if it fails."""
    started = time.monotonic()
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env={**clean_env(), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    command = " ".join(str(arg) for arg in args)
    assert result.returncode == 0, f"{command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    print(f"[{time.monotonic() - started:6.1f}s] {command}")
    return result


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + "\n" + text)


def tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else "(no log)"


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{base_url}/")
    expect(page.locator("#notification-bar .nb-synced")).to_be_attached()  # the socket has sent its state


@pytest.mark.timeout(900)  # building, a pip install from the index, and four manage.py commands
def test_a_new_project_following_the_tutorial_gets_live_notifications_under_runserver(
    page: Page, tmp_path: Path
) -> None:
    snippets = tutorial_snippets()

    # 1. Install: the tutorial's command as it is, in a fresh virtualenv, beside a checkout (this one).
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    (tmp_path / "django-htmx-notification-bar").symlink_to(ROOT)
    install = snippets["install"].strip()
    assert install == 'pip install "./django-htmx-notification-bar[daphne,redis]"', install
    run("bash", "-c", install, cwd=tmp_path, timeout=300, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    version = run(python, "-c", "import django; print(django.get_version())", cwd=tmp_path).stdout.strip()
    print(f"Django {version} in the new project's virtualenv ({python})")

    project = tmp_path / "project"
    project.mkdir()
    run(venv / "bin" / "django-admin", "startproject", "mysite", project, cwd=tmp_path)
    settings, urls = project / "mysite" / "settings.py", project / "mysite" / "urls.py"
    assert "from django.urls import path" in urls.read_text()  # the urls.py snippet relies on it

    with RedisServer() as redis:
        # 2.-5. The snippets, applied as the tutorial says (with the test's private Redis).
        assert TUTORIAL_REDIS_URL in snippets["settings.py"]
        append(settings, snippets["settings.py"].replace(TUTORIAL_REDIS_URL, redis.url))
        (project / "mysite" / "asgi.py").write_text(snippets["asgi.py"])
        append(urls, snippets["urls.py"])
        (project / "templates").mkdir()
        (project / "templates" / "page.html").write_text(snippets["template"])
        append(settings, SCAFFOLD_SETTINGS)  # test scaffolding, not marked: a page to look at
        append(urls, SCAFFOLD_URLS)

        manage = (python, project / "manage.py")
        run(*manage, "migrate", cwd=project)
        check = run(*manage, "check", cwd=project)
        assert "notifications." not in check.stdout + check.stderr, check.stdout + check.stderr
        # The deployment checks: none of this app's is an error. (A bare startproject fails Django's own, e.g.
        # Django 6.1's mail.E001 for its console mailer: not this app's to judge, hence the fail level.)
        deploy = run(*manage, "check", "--deploy", "--fail-level", "CRITICAL", cwd=project)
        assert "(notifications.E" not in deploy.stdout + deploy.stderr, deploy.stdout + deploy.stderr
        run(
            *(*manage, "createsuperuser", "--noinput", "--username", "ada", "--email", "ada@example.com"),
            cwd=project,
            DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        )

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = tmp_path / "runserver.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [*map(str, manage), "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=project,
                env=clean_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for_port(port, timeout=60, proc=server)
                log_in(page, base_url, "ada", PASSWORD)

                sent = run(*manage, "notify", "ada", "Hello from a shell", cwd=project)
                assert "Stored a notification for ada." in sent.stdout
                assert "in-memory channel layer" not in sent.stderr  # the Redis layer of the settings snippet

                expect(page.locator("#notification-list > li").first).to_contain_text("Hello from a shell")
                expect(page.locator("#notification-count")).to_have_text("1")
                expect(page).to_have_title("(1) My site")  # the snippet's title= keeps the count in the tab
            except Exception as error:
                raise AssertionError(f"{error}\n--- runserver log (tail) ---\n{tail(log_path)}") from error
            finally:
                page.goto("about:blank")  # leave first: a page left open would try to reconnect to nobody
                stop_process(server)
        assert "Starting ASGI/Daphne" in log_path.read_text(), tail(log_path)  # daphne's runserver, not Django's
