"""Connect scenario: connect rate at N sockets and a burst of concurrent handshakes, S against B in one run.

``.venv/bin/python -m bench.connect [--n 1000] [--burst 2000] [--reps 3]``

Variants, interleaved per repetition (same machine, same load):

- ``B``: the blog design (bench/blog_asgi.py), ready = handshake;
- ``S``: this project, the socket URL carries the version of the state the page just rendered (``?v=``, as the
  bar's ``ws-connect`` does), ready = the first frame (the live indicator when the page is current);
- ``S-cold``: this project without ``?v=`` (as before issue 13), ready = the state frame;
- ``B-backlog``, ``S-backlog``: B and S with daphne listening with a backlog of 2048 (Twisted's default: 50);
- ``S-uvicorn``, ``B-uvicorn``: S and B served by uvicorn as the deployment docs run it (``--ws
  websockets-sansio``; uvloop, backlog 2048);
- ``S-before``: S from another checkout (``--before PATH``, e.g. a ``git worktree`` of the commit before a change),
  on the same database and Redis.

Every user's bar holds 3 stored notifications (so S's state frame has content). Phase 1: N clients, 100
handshakes in flight. Phase 2 (burst): ``--burst`` clients all at once; counted: ready within 5 s, failures.
Prints one JSON line per run and a median table (ratios to B of the same run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import PY, Cpu, Redis, Server, Worker, django_env, free_port, server_args, setup_db

VARIANTS: dict[str, dict[str, Any]] = {
    "B": {"kind": "blog", "layer": "pubsub"},
    "S": {"kind": "product", "layer": "pubsub", "versions": True},
    "S-cold": {"kind": "product", "layer": "pubsub", "versions": False},
    # The same with daphne listening with a backlog of 2048 instead of Twisted's 50 (-e tcp:...:backlog=2048).
    "B-backlog": {"kind": "blog", "layer": "pubsub", "backlog": 2048},
    "S-backlog": {"kind": "product", "layer": "pubsub", "versions": True, "backlog": 2048},
    # ... and daphne waiting 30 s (not 5) for the application to accept before it drops a handshake.
    "S-backlog-ct30": {
        "kind": "product",
        "layer": "pubsub",
        "versions": True,
        "backlog": 2048,
        "daphne_args": ["--websocket_connect_timeout", "30"],
    },
    "B-backlog-ct30": {
        "kind": "blog",
        "layer": "pubsub",
        "backlog": 2048,
        "daphne_args": ["--websocket_connect_timeout", "30"],
    },
    # uvicorn, as docs/howto/deployment.md runs it.
    "S-uvicorn": {"kind": "product", "layer": "pubsub", "versions": True, "uvicorn": True, "ws": "websockets-sansio"},
    "B-uvicorn": {"kind": "blog", "layer": "pubsub", "uvicorn": True, "ws": "websockets-sansio"},
    # S from the checkout named by --before (daphne, as S).
    "S-before": {"kind": "product", "layer": "pubsub", "versions": True, "before": True},
}


def variant_server(
    variant: dict[str, Any], port: int, env: dict[str, str], before: str | None
) -> tuple[list[str], dict[str, str]]:
    """The server's command line and environment for ``variant``."""
    args = server_args(variant, port)
    if variant.get("ws"):
        args[args.index("--ws") + 1] = variant["ws"]
    if variant.get("before"):
        if not before:
            raise RuntimeError("S-before needs --before PATH (a checkout to run S from)")
        # That checkout's modules, not ours: its directory first on the path (python -m puts the cwd there).
        env = {**env, "PYTHONPATH": f"{before}/site:{before}"}
        args = ["env", "-C", before, *args]
    return args, env


def run(name: str, ctx: dict[str, Any], opts: argparse.Namespace) -> dict[str, Any]:
    variant = VARIANTS[name]
    work: Path = ctx["work"]
    redis: Redis = ctx["redis"]
    redis.flush()
    env = django_env(work, redis.url, variant["layer"])
    port = free_port()
    url, origin = f"ws://127.0.0.1:{port}/ws/notifications/", f"http://127.0.0.1:{port}"
    product = variant["kind"] == "product"
    clients = [dict(c) for c in ctx["cookies"]]
    if variant.get("versions"):
        for c in clients:
            c["v"] = ctx["versions"][str(c["uid"])]
    server = Server(*variant_server(variant, port, env, opts.before), port, work / f"connect-{name}.log")
    loadgen = None
    out: dict[str, Any] = {"variant": name}
    try:
        loadgen = Worker([PY, "-m", "bench.loadgen"], env, work / "loadgen.log")
        loadgen.call("configure", mode={"product": product})
        cpu = Cpu({"server": server.ps})
        warm = loadgen.call("connect", url=url, origin=origin, clients=clients[:10], first_frame=product)
        if warm["failed"]:
            raise RuntimeError(f"warm-up failed: {warm['failures_sample']}")
        loadgen.call("close")
        cpu.mark()
        r = loadgen.call(
            "connect", url=url, origin=origin, clients=clients[: opts.n], first_frame=product, concurrency=100
        )
        out["connect"] = {**r, **cpu.read()}
        st = loadgen.call("status")
        out["connect"]["bytes_per_socket"] = st["bytes"] / max(1, r["ok"])
        loadgen.call("close")
        loadgen.call("configure", clear=True)
        time.sleep(1)
        cpu.mark()
        r = loadgen.call(
            "connect",
            url=url,
            origin=origin,
            clients=clients[: opts.burst],
            first_frame=product,
            concurrency=opts.burst,
            timeout=30,
        )
        out["burst"] = {**r, **cpu.read()}
        loadgen.call("close")
    finally:
        if loadgen is not None:
            loadgen.stop()
        server.stop()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--variants", default="B,S,S-cold,B-backlog,S-backlog")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--burst", type=int, default=2000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--before", default=None, help="a checkout to run the S-before variant from")
    opts = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nbconnect-"))
    redis = Redis(work)
    runs: list[dict[str, Any]] = []
    uptime = [subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()]
    try:
        users = max(opts.n, opts.burst)
        cookies = json.loads(setup_db(work, redis.url, users).read_text())
        env = django_env(work, redis.url)
        trigger = Worker([PY, "-m", "bench.trigger", "product"], env, work / "trigger.log")
        uids = [c["uid"] for c in cookies]
        trigger.call("reset", active=uids)
        trigger.call("fill_bars", uids=uids, per_user=3)
        versions = trigger.call("versions", uids=uids)["versions"]
        trigger.stop()
        ctx = {"work": work, "redis": redis, "cookies": cookies, "versions": versions}
        for rep in range(opts.reps):
            for name in opts.variants.split(","):
                try:
                    r = run(name, ctx, opts)
                except Exception as e:
                    r = {"variant": name, "error": f"{type(e).__name__}: {e}"}
                r["rep"] = rep
                runs.append(r)
                print(json.dumps(r), flush=True)
            uptime.append(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    finally:
        redis.stop()
    print("\nload:", *uptime, sep="\n  ")
    print(table(runs, opts))


def table(runs: list[dict[str, Any]], opts: argparse.Namespace) -> str:
    def med(name: str, phase: str, key: str) -> float | None:
        xs = [r[phase][key] for r in runs if r["variant"] == name and phase in r and r[phase].get(key) is not None]
        return statistics.median(xs) if xs else None

    names = list(dict.fromkeys(r["variant"] for r in runs))
    b = med("B", "connect", "rate")
    lines = [
        f"| variant | connect/s at {opts.n} (x B) | server CPU % | bytes/socket | "
        f"burst {opts.burst}: ready within 5 s | failed | last ready s | p99 ready s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        rate = med(name, "connect", "rate")
        ratio = f" ({rate / b:.2f}x)" if rate and b else ""
        lines.append(
            f"| {name} | {rate or 0:,.0f}{ratio} | {med(name, 'connect', 'server_cpu_pct') or 0:.0f} | "
            f"{med(name, 'connect', 'bytes_per_socket') or 0:,.0f} | "
            f"{med(name, 'burst', 'ready_within_5s') or 0:,.0f} | "
            f"{med(name, 'burst', 'failed') or 0:,.0f} | {med(name, 'burst', 'elapsed') or 0:.2f} | "
            f"{med(name, 'burst', 'ready_p99') or 0:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
