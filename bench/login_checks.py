"""What re-checking open sockets' logins costs: one check against one state read, same run, same database.

    .venv/bin/python -m bench.login_checks [--users 1000] [--rounds 5]

Uses a throwaway SQLite file (or DATABASE_URL). Prints the median time per login check and per state read
(what every connect already pays), their ratio, and what SESSION_CHECK_INTERVAL's default costs a process
holding 5,000 sockets, as a share of one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="login-checks-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'db.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo.settings"
    sys.path[:0] = [str(ROOT / "site"), str(ROOT)]
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from notifications import conf, notify
    from notifications.live.credentials import Login, login_holds, logins_hold
    from notifications.store.state import load_state

    call_command("migrate", verbosity=0)
    users = [get_user_model().objects.create_user(f"u{i}-{time.time_ns()}", password="pw") for i in range(args.users)]
    sessions = []
    for user in users:
        client = Client()
        client.force_login(user)
        sessions.append((user, client.cookies["sessionid"].value))
        notify(user, "something to read")

    def per_call(fn: object) -> float:
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            for user, key in sessions:
                fn(user, key)  # type: ignore[operator]
            times.append((time.perf_counter() - started) / len(sessions))
        return statistics.median(times)

    check = per_call(lambda user, key: login_holds(user.pk, key))
    state = per_call(lambda user, key: load_state(user))
    batched = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for start in range(0, len(sessions), 500):  # as the watchdog does: CHECK_BATCH logins per call
            logins_hold([Login(user.pk, key) for user, key in sessions[start : start + 500]])
        batched.append((time.perf_counter() - started) / len(sessions))
    batch = statistics.median(batched)
    interval = conf.DEFAULTS["SESSION_CHECK_INTERVAL"]
    print(f"database: {django.db.connection.vendor}, {args.users} users, median of {args.rounds} rounds")
    print(f"state read (what every connect pays): {state * 1e6:.0f} us")
    print(f"login check, one at a time (actions): {check * 1e6:.0f} us = {check / state:.2f} x a state read")
    print(f"login check, batched (the watchdog): {batch * 1e6:.0f} us = {batch / state:.2f} x a state read")
    print(
        f"5,000 sockets re-checked every {interval} s: {5000 / interval:.0f} checks/s = "
        f"{5000 / interval * batch * 100:.1f}% of one core batched ({5000 / interval * check * 100:.1f}% one by one)"
    )


if __name__ == "__main__":
    main()
