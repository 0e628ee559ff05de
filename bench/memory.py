"""Where an idle socket's memory goes: N sockets on one server, and the server's memory by allocator.

``.venv/bin/python -m bench.memory [--variants B,S-pubsub] [--n 1000] [--reps 1]``

For each variant: 10 sockets to warm up, a snapshot, N more sockets (100 handshakes in flight), a snapshot.
Each snapshot (taken inside the server, bench/memhook) holds its RSS, pymalloc's arenas (small Python
objects), glibc's bytes in use (everything else malloc'ed, C libraries included) and SQLite's own allocations.
Prints one JSON line per run: each figure's growth per socket, in KiB.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from .__main__ import VARIANTS
from .common import PY, ROOT, Redis, Server, Worker, django_env, free_port, server_args, setup_db


def snapshot(server: Server, dump: Path) -> dict[str, Any]:
    lines = dump.read_text().splitlines() if dump.exists() else []
    os.kill(server.proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = dump.read_text().splitlines() if dump.exists() else []
        if len(now) > len(lines):
            return dict(json.loads(now[-1]))
        time.sleep(0.1)
    raise RuntimeError("the server wrote no memory snapshot")


def run(name: str, n: int, work: Path, redis: Redis, cookies: list[dict[str, Any]]) -> dict[str, Any]:
    variant = VARIANTS[name]
    redis.flush()
    env = django_env(work, redis.url, variant["layer"])
    dump = work / f"memory-{name}-{n}-{time.monotonic_ns()}.jsonl"
    hook = f"{ROOT / 'bench' / 'memhook'}:{env['PYTHONPATH']}"
    server_env = {**env, "PYTHONPATH": hook, "BENCH_MEMORY_DUMP": str(dump)}
    port = free_port()
    url, origin = f"ws://127.0.0.1:{port}/ws/notifications/", f"http://127.0.0.1:{port}"
    server = Server(server_args(variant, port), server_env, port, work / f"{name}-{n}.log")
    trigger = Worker([PY, "-m", "bench.trigger", variant["kind"]], env, work / "trigger.log")
    loadgen = Worker([PY, "-m", "bench.loadgen"], env, work / "loadgen.log")
    try:
        clients = cookies[:n]
        product = variant["kind"] == "product"
        trigger.call("reset", active=[c["uid"] for c in clients])
        loadgen.call("configure", mode={"product": product})
        loadgen.call("connect", url=url, origin=origin, clients=clients[:10], first_frame=product)
        loadgen.call("close")
        loadgen.call("configure", clear=True)
        time.sleep(0.5)
        before = snapshot(server, dump)
        conn = loadgen.call(
            "connect", url=url, origin=origin, clients=clients, first_frame=product, concurrency=100, timeout=120
        )
        time.sleep(2)
        after = snapshot(server, dump)
    finally:
        for proc in (loadgen, trigger, server):
            proc.stop()
    ok = max(1, conn["ok"])
    per = {key: (after[key] - before[key]) / 1024 / ok for key in ("rss", "glibc_in_use", "sqlite")}
    per["pymalloc"] = (after["pymalloc_arenas"] - before["pymalloc_arenas"]) * 1024 / ok  # 1 MiB arenas
    return {
        "variant": name,
        "n": n,
        "connected": conn["ok"],
        "per_socket_kib": {k: round(v, 2) for k, v in per.items()},
        "sqlite_mib": [round(before["sqlite"] / 2**20, 2), round(after["sqlite"] / 2**20, 2)],
        "threads": after["threads"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="B,S-pubsub")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    redis = Redis(work)
    try:
        cookies = json.loads(setup_db(work, redis.url, args.n + 10).read_text())
        for _ in range(args.reps):
            for name in args.variants.split(","):
                print(json.dumps(run(name, args.n, work, redis, cookies)), flush=True)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
