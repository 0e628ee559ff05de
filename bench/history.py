"""The history page's time against the length of the history: one user with 100 rows, one with 100,000.

Usage: ``python -m bench.history [--database sqlite|postgres|both] [--small 100] [--large 100000] [--reps 40]
[--archive-index]``

For each database: a fresh schema (SQLite: a file in a temporary folder; PostgreSQL: a database of its own,
``bench_history``, made afresh on the server of ``DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432``),
the demo's settings (its kinds: "comment" is a tab) and two users in the same table, "small" with ``--small``
rows and "large" with ``--large``, one a second back from now. Their newest 100 rows are alike (1 in 4 unread,
1 in 4 archived, 1 in 3 a comment, 1 in 4 about an object), so both pages show the same items and the bar the
same counts; the large user's older rows are the long history (read, the same shares archived, comments and
objects). Then ``ANALYZE``. Each request goes through Django's test client (middleware, session, the bar,
templates; no network), logged in; after warm-up, the small and the large user's requests alternate,
``--reps`` times each.

It prints, per page, the items shown, the medians of the wall time, of this process's CPU time (SQLite runs
inside it; PostgreSQL does not) and of the time spent in the database (the queries' wall time, summed), each
for the small and the large user with the ratio large / small, and the query count. ``--archive-index`` first
adds an index the app does not have (yet), ``(recipient, -updated_at, -id)`` over archived rows, which the
Archive tab needs to read a page and its count without sorting the whole archive.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .common import PY, ROOT

PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DATABASE = "bench_history"
HTMX = {"HX-Request": "true", "HX-Target": "notification-history"}
ITEM = re.compile(r'id="history-notification-\d+"')


#: Both users' newest rows, alike: 1 in 4 unread, 1 in 4 archived, 1 in 3 a comment, 1 in 4 about an object.
RECENT = 100


def seed(user: Any, rows: int, target: Any) -> None:
    """``rows`` notifications, one a second back from now. The newest :data:`RECENT` are the same for every
    user (so both pages show the same items, and the bar the same unread count); the older ones are the long
    history, read, with the same share archived, comments and objects."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from notifications.models import Notification

    now = timezone.now()
    about = ContentType.objects.get_for_model(target)
    Notification.objects.bulk_create(
        (
            Notification(
                recipient=user,
                message=f"Build {i} finished",
                kind="comment" if i % 3 == 0 else "build",
                level="success",
                url=f"/builds/{i}/",
                created_at=now - datetime.timedelta(seconds=i + 1),
                updated_at=now - datetime.timedelta(seconds=i + 1),
                read_at=None if i < RECENT and i % 4 == 1 else now,
                archived_at=now if i % 4 == 3 else None,
                target_type=about if i % 4 == 0 else None,
                target_id=str(target.pk) if i % 4 == 0 else "",
            )
            for i in reversed(range(rows))  # the oldest first, as they would have been stored
        ),
        batch_size=5000,
    )


#: Not in the app's migrations (yet): ``--archive-index`` adds it, to show what the Archive tab needs.
ARCHIVE_INDEX = {"fields": ["recipient", "-updated_at", "-id"], "name": "notif_recipient_archived"}


def child(opts: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from notifications.models import Notification
    from notifications.store import inbox

    call_command("migrate", verbosity=0)
    User = get_user_model()
    target = User.objects.create(username="history-target")
    users = {
        "small": User.objects.create(username="history-small"),
        "large": User.objects.create(username="history-large"),
    }
    seed(users["small"], opts.small, target)
    seed(users["large"], opts.large, target)
    if opts.archive_index:
        from django.db import models
        from django.db.models import Q

        index = models.Index(**ARCHIVE_INDEX, condition=Q(archived_at__isnull=False))
        with connection.schema_editor() as editor:
            editor.add_index(Notification, index)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)

    def deep(name: str) -> str:
        """A cursor in the middle of the user's All tab."""
        rows = inbox.rows(users[name].pk, "all")
        middle = rows.order_by("-updated_at", "-id")[rows.count() // 2]
        return inbox.encode(middle)

    pages: dict[str, tuple[str, dict[str, str]]] = {
        "/notifications/ (All, first page)": ("", {}),
        "?show=unread": ("?show=unread", {}),
        "?show=archived": ("?show=archived", {}),
        "?show=kind:comment": ("?show=kind:comment", {}),
        "deep page (?before=, middle of All)": ("?before={deep}", {}),
        'htmx "Load more" (middle of All)': ("?before={deep}", HTMX),
    }
    cursors = {name: deep(name) for name in users}

    db_time = [0.0]

    def timed_query(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            db_time[0] += time.perf_counter() - start

    def get(name: str, query: str, headers: dict[str, str]) -> tuple[float, float, float, int]:
        """Wall, CPU (this process) and database (wall, summed over the queries) milliseconds; items shown."""
        db_time[0] = 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(timed_query):
            response = clients[name].get("/notifications/" + query.format(deep=cursors[name]), headers=headers)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert response.status_code == 200, response.status_code
        shown = len(ITEM.findall(response.content.decode()))
        return wall * 1000, cpu * 1000, db_time[0] * 1000, shown

    result: dict[str, Any] = {}
    for page, (query, headers) in pages.items():
        for _ in range(5):  # warm up: connections, templates, caches
            for name in users:
                get(name, query, headers)
        times: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in users}
        for rep in range(opts.reps):
            for name in users if rep % 2 == 0 else reversed(list(users)):
                gc.collect()
                times[name].append(get(name, query, headers))
        queries = {}
        for name in users:
            with CaptureQueriesContext(connection) as captured:
                get(name, query, headers)
            queries[name] = len(captured)
        result[page] = {"times": times, "queries": queries}
    print(json.dumps(result))


def fresh_postgres() -> str:
    """A new, empty database of the bench's own on the PostgreSQL server of ``DATABASE_URL``; its URL."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(os.environ.get("DATABASE_URL", PG_SERVER))
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(PG_DATABASE)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(PG_DATABASE)))
    return urlunsplit(parts._replace(path=f"/{PG_DATABASE}"))


def run(database: str, opts: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = f"sqlite:///{workdir / 'history.sqlite3'}" if database == "sqlite" else fresh_postgres()
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'site'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "demo.settings",
        "DATABASE_URL": url,
        "DJANGO_ALLOWED_HOSTS": "testserver",  # Django's test client
    }
    env.pop("REDIS_URL", None)  # the in-memory layer: nothing here is pushed to a socket
    args = [PY, "-m", "bench.history", "--child", "--small", str(opts.small), "--large", str(opts.large)]
    args += ["--reps", str(opts.reps), *(["--archive-index"] if opts.archive_index else [])]
    out = subprocess.run(args, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


SIZES = ("small", "large")


def _pair(values: dict[str, int]) -> str:
    return str(values["small"]) if values["small"] == values["large"] else f"{values['small']} / {values['large']}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--archive-index", action="store_true", help="add the index the Archive tab needs")
    parser.add_argument("--child", action="store_true")
    opts = parser.parse_args()
    if opts.child:
        child(opts)
        return
    databases = ["sqlite", "postgres"] if opts.database == "both" else [opts.database]
    print(f"Medians of {opts.reps} requests each; milliseconds, {opts.small:,} rows -> {opts.large:,} rows (ratio).\n")
    print("| database | page | items | wall | CPU (this process) | database | queries |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for database in databases:
            for page, found in run(database, opts, Path(tmp)).items():
                cells = []
                for column in range(3):
                    small, large = (statistics.median(t[column] for t in found["times"][name]) for name in SIZES)
                    cells.append(f"{small:.1f} -> {large:.1f} ({large / small:.2f}x)")
                shown = {name: found["times"][name][0][3] for name in SIZES}
                queries = found["queries"]
                print(f"| {database} | {page} | {_pair(shown)} | {' | '.join(cells)} | {_pair(queries)} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
