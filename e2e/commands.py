"""A long-lived ``manage.py`` for the browser tests: Django starts once, then runs one command per line.

Each line on stdin is a JSON list of arguments, run as ``manage.py <arguments>`` would run them; one JSON line
on stdout answers with the exit code and what the command printed. It is still a process of its own beside
the server, as a worker or a cron job is; it only saves Django's start (0.7 to 0.9 s of CPU) per command,
and the browser tests run over a hundred of them.

    python -m e2e.commands        (with DJANGO_SETTINGS_MODULE and DATABASE_URL/REDIS_URL set)
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback

import django
from django.core.management import ManagementUtility
from django.db import close_old_connections


def run(argv: list[str]) -> dict[str, object]:
    """Run one command; its exit code and output, as a subprocess would have them."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            ManagementUtility(["manage.py", *argv]).execute()
        except SystemExit as exit_:  # a CommandError, or --help: run_from_argv exits
            code = exit_.code if isinstance(exit_.code, int) else 1
        except Exception:
            traceback.print_exc()
            code = 1
        finally:
            close_old_connections()
    return {"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    django.setup()
    answers = sys.stdout
    for line in sys.stdin:
        answers.write(json.dumps(run(json.loads(line))) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
