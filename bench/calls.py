"""What one ``notify()`` costs its caller, stage by stage (no server, no sockets).

Usage: ``python -m bench.calls [--users 100] [--calls 1000] [--batch 1,20] [--rate 50]``

The same set-up as ``bench`` (a private redis-server, a fresh SQLite database with the bench users, the
RedisPubSubChannelLayer), then one process, pinned to the load core, calls ``notify()`` ``--calls`` times at
``--rate`` calls a second for each batch size (recipients per call, distinct users) and prints per batch
size the call's median, p90, p99 and max, the median of each stage, and the garbage collections of 5 ms or
more that fell inside calls. The stages (wall time, nested in the call): ``muted`` (the recipients'
preferences), ``after commit`` (everything the push does once the rows are committed), and within it
``counts`` (the unread counts), ``render`` (the frames' templates) and ``publish`` (waiting for the group
sends on the delivery loop). What is left of the call is validating and storing (insert and commit).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from .common import LOAD_CPU, PY, ROOT, Redis, django_env, pinned, setup_db

STAGES = ("muted", "after commit", "counts", "render", "publish")


def child(opts: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from notifications.live import delivery, pushes
    from notifications.store import api, preferences
    from notifications.web import rendering

    spent: defaultdict[str, float] = defaultdict(float)

    def timed(owner: Any, name: str, stage: str) -> None:
        func = getattr(owner, name)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - start

        setattr(owner, name, wrapper)

    timed(preferences, "muted_recipients", "muted")
    timed(pushes, "new_items", "after commit")
    timed(pushes, "unread_counts", "counts")
    timed(rendering, "render_to_string", "render")  # every template render (cached count frames are not)
    timed(delivery._LoopThread, "run", "publish")

    pauses: list[float] = []
    started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pause = time.perf_counter() - started[0]
            if pause >= 0.005:  # a young-generation pass takes well under 1 ms; these are the ones that show
                pauses.append(pause)

    users = list(get_user_model()._default_manager.order_by("pk")[: opts.users])
    api.notify(users[-1], "warm-up: the delivery loop, the Redis connection, the templates")
    gc.callbacks.append(on_gc)
    for batch in opts.batch:
        calls, stages, in_calls = [], defaultdict(list), []
        interval, next_at = 1 / opts.rate, time.monotonic()
        for i in range(opts.calls):
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += interval
            recipients = random.sample(users, batch)
            spent.clear()
            pauses.clear()
            start = time.perf_counter()
            api.notify(recipients[0] if batch == 1 else recipients, f"bench.calls {batch} {i}")
            calls.append(time.perf_counter() - start)
            for stage in STAGES:
                stages[stage].append(spent[stage])
            in_calls += pauses
        calls.sort()
        print(
            json.dumps(
                {
                    "batch": batch,
                    "calls": len(calls),
                    "median_ms": statistics.median(calls) * 1000,
                    "p90_ms": calls[int(len(calls) * 0.9)] * 1000,
                    "p99_ms": calls[int(len(calls) * 0.99)] * 1000,
                    "max_ms": calls[-1] * 1000,
                    "stages_median_ms": {s: statistics.median(v) * 1000 for s, v in stages.items()},
                    "gc_in_calls": len(in_calls),
                    "gc_max_ms": max(in_calls, default=0) * 1000,
                }
            ),
            flush=True,
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--batch", default="1,20", help="recipients per call, comma-separated")
    p.add_argument("--rate", type=float, default=50, help="calls per second")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    opts = p.parse_args()
    opts.batch = [int(b) for b in opts.batch.split(",")]
    if opts.child:
        child(opts)
        return
    work = Path(tempfile.mkdtemp(prefix="nbcalls-"))
    redis = Redis(work)
    try:
        env = django_env(work, redis.url)
        setup_db(work, redis.url, opts.users)
        args = [PY, "-m", "bench.calls", "--child", *sys.argv[1:]]
        out = subprocess.run(pinned(LOAD_CPU, args), env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    finally:
        redis.stop()
    print(f"notify() at {opts.rate:g} calls/s, {opts.calls} calls per batch size, {opts.users} users (ms)\n")
    print("| recipients | median | p90 | p99 | max | " + " | ".join(STAGES) + " | GC pauses >= 5 ms in calls (max) |")
    print("|" + "---|" * (6 + len(STAGES)))
    for line in out.stdout.splitlines():
        r = json.loads(line)
        stages = " | ".join(f"{r['stages_median_ms'].get(s, 0):.2f}" for s in STAGES)
        print(
            f"| {r['batch']} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | "
            f"{stages} | {r['gc_in_calls']} ({r['gc_max_ms']:.1f}) |"
        )


if __name__ == "__main__":
    main()
