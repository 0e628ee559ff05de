"""What ``notify()`` costs its caller against the store floor, in one process, on one database.

Usage: ``python -m bench.notify_cost [--database sqlite|postgres|both] [--calls 400] [--many 10000]``

For each database: a fresh schema (SQLite: a file in a temporary folder; PostgreSQL: ``DATABASE_URL``, default
the machine's ``postgres://postgres@127.0.0.1:5432/test``), the channel layer on a private redis-server, users;
then, interleaved call by call so both see the same machine, ``notify(user, ...)`` against its floor
``Notification.objects.create(...)`` of the same fields, and ``notify(10,000 users)`` against
``bulk_create`` of the same rows. It prints each one's p50 and p99 and the ratio to its floor (p50 to p50, p99 to
p99). What notify() pays for: validating, reading the recipients' preferences (muting; a cache may serve),
storing; the push follows the commit on the process's outbox thread and is not the caller's cost (the bench
waits for it between calls, outside the timing, so the outbox does not compete with the next call).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from testing.processes import RedisServer

from .common import PY, ROOT

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/test"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def child(opts: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from notifications import notify
    from notifications.live import delivery
    from notifications.models import Notification

    call_command("migrate", verbosity=0)
    User = get_user_model()
    User.objects.filter(username__startswith="cost").delete()
    Notification.objects.all().delete()
    users = User.objects.bulk_create([User(username=f"cost{i}") for i in range(opts.many)])
    one = users[0]
    fields = {"message": "Build 42 finished", "level": "success", "url": "/builds/42/"}

    def floor_one() -> None:
        Notification.objects.create(recipient=one, **fields)

    def notify_one() -> None:
        notify(one, **fields)

    def floor_many() -> None:
        Notification.objects.bulk_create([Notification(recipient_id=u.pk, **fields) for u in users], batch_size=1000)

    def notify_many() -> None:
        notify(users, **fields)

    def timed(func: Any) -> float:
        start = time.perf_counter()
        func()
        spent = time.perf_counter() - start
        delivery.flush(timeout=60)  # the push after the commit: not the caller's time, and not the next call's
        return spent * 1000

    for _ in range(20):  # warm up: connections, templates, caches
        timed(floor_one), timed(notify_one)
    one_floor, one_notify = [], []
    for _ in range(opts.calls):
        one_floor.append(timed(floor_one))
        one_notify.append(timed(notify_one))
    many_floor, many_notify = [], []
    for _ in range(opts.many_calls):
        many_floor.append(timed(floor_many))
        many_notify.append(timed(notify_many))
    print(json.dumps({"one": [one_floor, one_notify], "many": [many_floor, many_notify]}))


def run(database: str, opts: argparse.Namespace, workdir: Path, redis_url: str) -> dict[str, Any]:
    url = (
        f"sqlite:///{workdir / 'cost.sqlite3'}" if database == "sqlite" else os.environ.get("DATABASE_URL", PG_DEFAULT)
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'site'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "demo.settings",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
    }
    args = [PY, "-m", "bench.notify_cost", "--child", "--calls", str(opts.calls), "--many", str(opts.many)]
    args += ["--many-calls", str(opts.many_calls)]
    out = subprocess.run(args, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--many", type=int, default=10_000)
    parser.add_argument("--many-calls", type=int, default=5)
    parser.add_argument("--child", action="store_true")
    opts = parser.parse_args()
    if opts.child:
        child(opts)
        return
    databases = ["sqlite", "postgres"] if opts.database == "both" else [opts.database]
    print("| database | call | floor p50 / p99 (ms) | notify p50 / p99 (ms) | ratio p50 / p99 |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp, RedisServer() as redis:
        for database in databases:
            result = run(database, opts, Path(tmp), redis.url)
            for name, label in (("one", "notify(one user)"), ("many", f"notify({opts.many:,} users)")):
                floor, cost = result[name]
                f50, f99, n50, n99 = pct(floor, 0.5), pct(floor, 0.99), pct(cost, 0.5), pct(cost, 0.99)
                print(
                    f"| {database} | {label} | {f50:.2f} / {f99:.2f} | {n50:.2f} / {n99:.2f} "
                    f"| {n50 / f50:.2f}x / {n99 / f99:.2f}x |"
                )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
