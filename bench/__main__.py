"""One command: ``.venv/bin/python -m bench`` -> bench/results/results.md, chart.png, runs.jsonl.

Every variant runs in the same invocation, on the same machine, interleaved (rep 1 of every variant, then
rep 2, ...) so background load hits them alike. The server under test is pinned to core 0; the load
generator, the trigger and redis share core 1; the CPU seconds of each process are recorded per phase.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .common import PY, ROOT, Cpu, Redis, Server, Worker, django_env, free_port, server_args, setup_db

RESULTS = ROOT / "bench" / "results"

VARIANTS: dict[str, dict[str, Any]] = {
    "F": {"label": "F: raw websockets, one pre-encoded frame", "kind": "floor", "layer": "pubsub"},
    "B": {"label": "B: blog design (one group, JSON), daphne + pubsub", "kind": "blog", "layer": "pubsub"},
    "S-core": {"label": "S: this project, daphne + RedisChannelLayer", "kind": "product", "layer": "core"},
    "S-pubsub": {"label": "S: this project, daphne + RedisPubSubChannelLayer", "kind": "product", "layer": "pubsub"},
    "S-uvicorn": {
        "label": "S: this project, uvicorn + RedisPubSubChannelLayer",
        "kind": "product",
        "layer": "pubsub",
        "uvicorn": True,
    },
}
LADDER = [400, 800, 1600, 3200, 6400, 12800, 25600]


def paced(callers: list[Worker], **step: Any) -> dict[str, Any]:
    """``step["rate"]`` deliveries/s shared by the caller processes, which run at once (one thread each)."""
    share = {**step, "rate": step["rate"] / len(callers)}
    with ThreadPoolExecutor(len(callers)) as pool:
        results = list(pool.map(lambda caller: caller.call("paced", **share), callers))
    return {
        "expected": [e for r in results for e in r["expected"]],
        "sent": sum(r["sent"] for r in results),
        "achieved_rate": sum(r["achieved_rate"] for r in results),
        "batch": results[0]["batch"],
    }


def warm_up(caller: Worker, uid: int) -> None:
    """A caller's first notify() pays for its process starting up (the delivery loop's thread and Redis
    connection, the templates): ~200 ms, which was the max, and often the p99, of every unicast phase. Warmed
    up, as the server is, with a notification to ``uid``, a user outside the run."""
    caller.call("send", uids=[uid])


def run_one(name: str, n: int, ctx: dict[str, Any], opts: argparse.Namespace) -> dict[str, Any]:
    variant = VARIANTS[name]
    work: Path = ctx["workdir"]
    redis: Redis = ctx["redis"]
    redis.flush()
    env = django_env(work, redis.url, variant["layer"])
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws/notifications/"
    origin = f"http://127.0.0.1:{port}"
    clients = ctx["cookies"][:n]
    uids = [c["uid"] for c in clients]
    out: dict[str, Any] = {"variant": name, "n": n}
    log = work / f"{name}-{n}.log"

    trigger_args = [PY, "-m", "bench.trigger", variant.get("trigger", variant["kind"])]
    if variant["kind"] == "floor":
        trigger_args.append(f"ws://127.0.0.1:{port}/control")
    server = Server(server_args(variant, port), env, port, log)
    loadgen = trigger = None
    workers: list[Worker] = []  # more caller processes (the sustained phase)
    try:
        trigger = Worker(trigger_args, env, work / "trigger.log")
        if variant["kind"] != "floor":
            # Exactly the N users are active: notify_all reaches them, and the session auth accepts them.
            trigger.call("reset", active=uids)
        outsider = ctx["cookies"][n]["uid"]  # a user no socket of this run logs in as
        if variant["kind"] == "product":
            warm_up(trigger, outsider)
        loadgen = Worker([PY, "-m", "bench.loadgen"], env, work / "loadgen.log")
        product = variant["kind"] == "product"
        loadgen.call("configure", mode={"product": product})
        cpu = Cpu({"server": server.ps, "loadgen": loadgen.ps, "trigger": trigger.ps, "redis": redis.ps})

        # Warm up (imports, first queries, templates) with 10 of the N users, then the baseline RSS.
        warm = loadgen.call("connect", url=url, origin=origin, clients=clients[:10], first_frame=product)
        if warm["failed"]:
            raise RuntimeError(f"warm-up failed: {warm['failures_sample']}")
        loadgen.call("close")
        loadgen.call("configure", clear=True)
        time.sleep(0.5)
        rss0 = server.rss()

        # Connect N authenticated clients (ready = handshake, plus the state frame for S).
        cpu.mark()
        conn = loadgen.call(
            "connect",
            url=url,
            origin=origin,
            clients=clients,
            first_frame=product,
            concurrency=opts.concurrency,
            timeout=60,
        )
        out["connect"] = {**conn, **cpu.read()}
        out["connect_rate"] = conn["rate"]
        out["connect_failures"] = conn["failed"]
        time.sleep(2)
        out["rss_base_mb"] = rss0 / 2**20
        out["rss_idle_mb"] = server.rss() / 2**20
        out["rss_per_conn_kb"] = (server.rss() - rss0) / 1024 / max(1, conn["ok"])
        connected = uids
        expected_sockets = conn["ok"]

        # Per-user push: one notification to one random user, paced.
        if variant["kind"] != "blog":
            cpu.mark()
            r = trigger.call(
                "paced",
                pool=connected,
                rate=opts.unicast_rate,
                duration=opts.unicast_seconds,
                tick=1 / opts.unicast_rate,
            )
            s = loadgen.call("stats", expected=r["expected"], drain=5)
            out["unicast"] = {**s, **cpu.read(), "sent": r["sent"]}
            out["unicast_p50_ms"] = s["p50"] * 1000 if s["p50"] is not None else None
            out["unicast_p99_ms"] = s["p99"] * 1000 if s["p99"] is not None else None
            out["unicast_gaps"] = s["gaps"]
            calls = sorted(r["calls"])
            out["unicast_call_p50_ms"] = statistics.median(calls) * 1000
            out["unicast_call_p99_ms"] = calls[int(len(calls) * 0.99)] * 1000

        # Broadcast: one notification to everyone; fan-out time = until the last socket has it.
        cpu.mark()
        fan, calls, bgaps = [], [], 0
        for _ in range(opts.broadcasts if n < 5000 else opts.broadcasts_5k):
            r = trigger.call("send", uids=None)
            w = loadgen.call("wait", seq=r["seq"], count=expected_sockets, timeout=30)
            fan.append(w["max"])
            calls.append(r["call"])
            bgaps += expected_sockets - w["n"]
            if w["n"] < expected_sockets:
                break  # sockets lost: more broadcasts would only wait out the timeout again
            time.sleep(0.3)
        out["broadcast"] = {"fanout": fan, "call": calls, **cpu.read()}
        out["fanout_ms"] = statistics.median([f for f in fan if f is not None]) * 1000 if any(fan) else None
        out["notify_all_call_ms"] = statistics.median(calls) * 1000
        out["broadcast_gaps"] = bgaps

        # Sustained: doubling deliveries/s until p99 >= 500 ms, a gap, or the trigger cannot keep the pace.
        if variant["kind"] != "blog" and n in opts.sustained_n:
            # Several caller processes, each with its own stamps, so the server and not one caller is the limit.
            callers = [trigger]
            for k in range(1, opts.callers):
                extra = Worker(trigger_args, env, work / f"trigger{k}.log")
                extra.call("seq", start=k * 10_000_000)
                if variant["kind"] == "product":
                    warm_up(extra, outsider)
                callers.append(extra)
            workers += callers[1:]
            steps = []
            best = None
            for rate in LADDER:
                cpu.mark()
                r = paced(callers, pool=connected, rate=rate, duration=opts.step_seconds, tick=opts.tick)
                c = cpu.read()
                s = loadgen.call("stats", expected=r["expected"], drain=3)
                ok = (
                    s["p99"] is not None
                    and s["p99"] < 0.5
                    and s["gaps"] == 0
                    and s["dups"] == 0
                    and r["achieved_rate"] >= 0.9 * rate
                )
                server_core = c["server_cpu_pct"] / 100
                step = {
                    "rate": rate,
                    "achieved": r["achieved_rate"],
                    "batch": r["batch"],
                    "callers": len(callers),
                    "ok": ok,
                    "p50_ms": (s["p50"] or 0) * 1000,
                    "p99_ms": (s["p99"] or 0) * 1000,
                    "gaps": s["gaps"],
                    "per_server_core": r["achieved_rate"] / server_core if server_core > 0.01 else None,
                    **c,
                }
                steps.append(step)
                print(
                    f"    sustained {rate}/s: {json.dumps({k: v for k, v in step.items() if k != 'wall'})}", flush=True
                )
                if not ok:
                    break
                best = step
                time.sleep(0.5)
            out["sustained_steps"] = steps
            out["sustained_rate"] = best["achieved"] if best else 0
            out["sustained_per_core"] = best["per_server_core"] if best else None
            out["sustained_server_cpu_pct"] = best["server_cpu_pct"] if best else None
            out["sustained_limit"] = steps[-1] if steps and not steps[-1]["ok"] else None
        st = loadgen.call("status")
        out["unexpected_closes"] = st["unexpected_close"]
        loadgen.call("close")
    finally:
        for w in (loadgen, trigger, *workers):
            if w is not None:
                w.stop()
        server.stop()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--variants", default="F,B,S-core,S-pubsub")
    p.add_argument("--n", default="100,1000,5000")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--reps-5k", type=int, default=1)
    p.add_argument("--broadcasts", type=int, default=5)
    p.add_argument("--broadcasts-5k", type=int, default=3)
    p.add_argument("--unicast-rate", type=float, default=50)
    p.add_argument("--unicast-seconds", type=float, default=4)
    p.add_argument("--sustained-n", default="1000")
    p.add_argument("--callers", type=int, default=2, help="caller processes in the sustained phase")
    p.add_argument("--step-seconds", type=float, default=4)
    p.add_argument("--tick", type=float, default=0.05)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--out", default=str(RESULTS))
    opts = p.parse_args()
    opts.sustained_n = [int(x) for x in opts.sustained_n.split(",") if x]
    sizes = [int(x) for x in opts.n.split(",")]
    names = opts.variants.split(",")
    outdir = Path(opts.out)
    outdir.mkdir(parents=True, exist_ok=True)

    t_start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="nbbench-"))
    print(f"work dir {work}", flush=True)
    redis = Redis(work)
    runs: list[dict[str, Any]] = []
    try:
        cookies = json.loads(setup_db(work, redis.url, max(sizes) + 10).read_text())
        random.seed(1)
        ctx = {"workdir": work, "redis": redis, "cookies": cookies}
        jsonl = (outdir / "runs.jsonl").open("w")
        for rep in range(max(opts.reps, opts.reps_5k)):
            for n in sizes:
                if rep >= (opts.reps_5k if n >= 5000 else opts.reps):
                    continue
                for name in names:
                    t0 = time.monotonic()
                    try:
                        r = run_one(name, n, ctx, opts)
                    except Exception as e:
                        r = {"variant": name, "n": n, "error": f"{type(e).__name__}: {e}"}
                    r["rep"] = rep
                    r["seconds"] = time.monotonic() - t0
                    runs.append(r)
                    jsonl.write(json.dumps(r) + "\n")
                    jsonl.flush()
                    keys = (
                        "connect_rate",
                        "connect_failures",
                        "rss_per_conn_kb",
                        "unicast_p99_ms",
                        "fanout_ms",
                        "sustained_rate",
                        "error",
                    )
                    summary = {k: (round(r[k], 2) if isinstance(r.get(k), float) else r.get(k)) for k in keys}
                    print(
                        f"[{time.monotonic() - t_start:6.0f}s] rep {rep} N={n} {name}: {summary} ({r['seconds']:.0f}s)",
                        flush=True,
                    )
        jsonl.close()
    finally:
        redis.stop()
    from .report import write_report

    write_report(runs, outdir, total_seconds=time.monotonic() - t_start, opts=vars(opts))
    print(f"wrote {outdir / 'results.md'} and {outdir / 'chart.png'} in {time.monotonic() - t_start:.0f}s")


if __name__ == "__main__":
    sys.exit(main())
