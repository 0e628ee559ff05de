"""A server chosen by numbers: variant S (this project, RedisPubSubChannelLayer) under daphne, uvicorn and
granian in one run, interleaved per repetition -> bench/results/servers.md (+ servers.jsonl).

``.venv/bin/python -m bench.servers [--n 1000] [--reps 3] [--servers daphne,uvicorn,granian]``

Per server and repetition, on the machine's two cores (the server alone on core 0; the load generator
``bench.fleet_client``, the two trigger processes and redis-server on core 1):

1. **connect**: N authenticated sockets (session cookie), 100 handshakes in flight; ready = the state frame
   arrived. Rate = N / time until the last was ready.
2. **RSS per idle socket**: (RSS of the server's process tree with N idle sockets, 2 s after the last one -
   RSS after a 10-socket warm-up) / N.
3. **push p50/p99**: one notify() per random user, 50/s for 4 s, stamped just before the call: the latency
   covers storing, rendering, publishing, the server and the socket.
4. **sustained, server saturated**: a ladder of per-user delivery rates (x1.5 a step, 3 s each). Deliveries
   are published by ``bench.fleet_trigger``'s replay of what real notify() calls (batches of random users)
   published, so the caller is not the limit (see that module); a step passes with p99 < 500 ms, no gap, no
   duplicate and >= 90% of the pace. Reported: the highest passing rate, the server's CPU there, and the
   server's CPU in the first failing step (near 100%: the server was the limit).
5. **graceful shutdown**: SIGTERM with the N sockets open: the close code each socket got (no close frame =
   1006), seconds until the process exited (SIGKILL after 30 s), log lines with "Traceback"/"ERROR".

Ratios are to daphne's median in the same run. Timings are noisy (other work runs on the machine): compare
within a run.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import namedtuple
from pathlib import Path
from typing import Any

import psutil

from testing.processes import stop_process, wait_for_port

from .common import PY, ROOT, SERVER_CPU, Cpu, Redis, Worker, django_env, free_port, pinned, setup_db

RESULTS = ROOT / "bench" / "results"
APP = "demo.asgi:application"


def daphne_args(port: int, *, connect_timeout: int | None = None, app: str = APP) -> list[str]:
    # An endpoint string for a listen backlog of 2048 (Twisted's default is 50; bench/results/connect.md).
    extra = ["--websocket_connect_timeout", str(connect_timeout)] if connect_timeout else []
    return [PY, "-m", "daphne", "-e", f"tcp:port={port}:interface=127.0.0.1:backlog=2048", "-v", "0", *extra, app]


def uvicorn_args(port: int, *, ws: str = "websockets-sansio", app: str = APP) -> list[str]:
    return [
        *(PY, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)),
        *("--loop", "uvloop", "--http", "httptools", "--ws", ws),
        # Channels' ProtocolTypeRouter has no "lifespan" entry; a browser would negotiate permessage-deflate
        # (uvicorn's default: on), which costs a zlib context per socket; the bench client never offers it.
        *("--lifespan", "off", "--ws-per-message-deflate", "false"),
        *("--no-access-log", "--log-level", "warning", "--backlog", "2048", "--timeout-graceful-shutdown", "10"),
    ]


def granian_args(port: int, *, app: str = APP) -> list[str]:
    return [
        *(PY, "-m", "granian", "--interface", "asginl", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "1", "--runtime-mode", "st", "--loop", "uvloop", "--backlog", "2048"),
        *("--log-level", "warning", "--no-access-log", "--workers-kill-timeout", "10", app),
    ]


SERVERS: dict[str, Any] = {
    "daphne": daphne_args,
    "uvicorn": uvicorn_args,  # websockets' sans-I/O protocol (the legacy one is deprecated upstream)
    "uvicorn-wsproto": lambda port, **kw: uvicorn_args(port, ws="wsproto", **kw),
    "granian": granian_args,
}


def command_line(name: str, port: int | str = "PORT") -> str:
    args = SERVERS[name](port)
    return " ".join(["python" if a == PY else a for a in args])


Times = namedtuple("Times", "user system")


class Tree:
    """A process and its children, as one (RSS and CPU seconds summed: granian runs its app in a worker)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.dead = 0.0  # CPU seconds of children seen before that have exited

    def procs(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []

    def rss(self) -> int:
        total = 0
        for p in self.procs():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total

    def cpu_times(self) -> Times:
        user = system = 0.0
        for p in self.procs():
            try:
                t = p.cpu_times()
                user, system = user + t.user, system + t.system
            except psutil.Error:
                pass
        return Times(user, system)


class ServerProcess:
    """One ASGI server process (tree) on ``cpu``, its output appended to ``log``."""

    def __init__(
        self,
        name: str,
        port: int,
        env: dict[str, str],
        log: Path,
        cpu: str | None = SERVER_CPU,
        args: list[str] | None = None,
    ) -> None:
        self.name, self.port, self.log_path = name, port, log
        self.log_start = log.stat().st_size if log.exists() else 0
        self._log = log.open("a")
        t0 = time.monotonic()
        argv = args or SERVERS[name](port)
        self.proc = subprocess.Popen(
            pinned(cpu, argv) if cpu else argv, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for_port(port, proc=self.proc, timeout=60)
        self.start_s = time.monotonic() - t0
        self.ps = Tree(self.proc.pid)

    def rss(self) -> int:
        return self.ps.rss()

    def terminate(self, timeout: float = 30) -> dict[str, Any]:
        """SIGTERM; the seconds until it exited (SIGKILL after ``timeout``)."""
        t0 = time.monotonic()
        killed = False
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                killed = True
                for p in self.ps.procs()[::-1]:
                    with contextlib.suppress(psutil.Error):
                        p.kill()
                self.proc.wait(5)
        self._log.close()
        return {"exit_s": time.monotonic() - t0, "killed": killed, "returncode": self.proc.returncode}

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop_process(self.proc)
        for p in self.ps.procs():  # granian's worker, if its main process went first
            with contextlib.suppress(psutil.Error):
                p.kill()
        if not self._log.closed:
            self._log.close()

    def log_errors(self) -> dict[str, Any]:
        text = self.log_path.read_bytes()[self.log_start :].decode("utf-8", "replace")
        lines = [ln for ln in text.splitlines() if re.search(r"Traceback|ERROR|Error|CRITICAL", ln)]
        return {"error_lines": len(lines), "sample": lines[:3]}


def log_summary(path: Path, top: int = 5) -> list[list[Any]]:
    """The most frequent lines of a server log, numbers replaced by #: [[count, line], ...]."""
    counts: dict[str, int] = {}
    if path.exists():
        for line in path.read_text("utf-8", "replace").splitlines():
            if line.strip() and not line.startswith(" "):
                key = re.sub(r"\d+", "#", line.strip())[:160]
                counts[key] = counts.get(key, 0) + 1
    return [[n, line] for line, n in sorted(counts.items(), key=lambda kv: -kv[1])[:top]]


LADDER_START = 1000
LADDER_FACTOR = 1.5
LADDER_MAX = 120_000


def core_times() -> list[tuple[float, float]]:
    """(busy, total) seconds per core since boot."""
    out = []
    for t in psutil.cpu_times(percpu=True):
        total = sum(t)
        out.append((total - t.idle - getattr(t, "iowait", 0.0), total))
    return out


def core_busy(before: list[tuple[float, float]]) -> list[float]:
    """Per core, the % of time busy (any process, ours or anybody's) since ``before``."""
    return [
        100 * (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0
        for (b0, t0), (b1, t1) in zip(before, core_times(), strict=False)
    ]


def pct_ms(x: float | None) -> float | None:
    return None if x is None else x * 1000


def code_hash() -> str:
    """A digest of the product's code and templates as they are now (others edit them while a run goes on:
    a run whose variants saw different code says so)."""
    digest = hashlib.sha1()
    for folder in ("notifications", "templates", "site"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".html", ".txt", ".css"):
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def migrate(env: dict[str, str]) -> None:
    """Bring the run's database up to the code as it is now (a migration may have landed since the last)."""
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=120)


def run_one(name: str, ctx: dict[str, Any], opts: argparse.Namespace) -> dict[str, Any]:
    work: Path = ctx["work"]
    redis: Redis = ctx["redis"]
    redis.flush()
    env = django_env(work, redis.url, "pubsub")
    migrate(env)
    port = free_port()
    url, origin = f"ws://127.0.0.1:{port}/ws/notifications/", f"http://127.0.0.1:{port}"
    n = opts.n
    clients = ctx["cookies"][:n]
    uids = [c["uid"] for c in clients]
    outsider = ctx["cookies"][n]["uid"]
    out: dict[str, Any] = {"server": name, "n": n, "command": command_line(name), "code": code_hash()}
    server = ServerProcess(name, port, env, work / f"{name}.log")
    out["start_s"] = server.start_s
    workers: list[Worker] = []
    try:
        trigger = Worker([PY, "-m", "bench.trigger", "product"], env, work / "trigger.log")
        workers.append(trigger)
        fleet = Worker([PY, "-m", "bench.fleet_trigger"], env, work / "fleet_trigger.log")
        workers.append(fleet)
        client = Worker([PY, "-m", "bench.fleet_client"], env, work / "client.log")
        workers.append(client)
        trigger.call("reset", active=uids)
        fleet.call("seq", start=50_000_000)
        trigger.call("send", uids=[outsider])  # the caller's start-up (delivery thread, templates) paid here
        client.call("configure", mode={"product": True})
        cpu = Cpu({"server": server.ps, "client": client.ps, "trigger": trigger.ps, "fleet": fleet.ps})

        warm = client.call("connect", url=url, origin=origin, clients=clients[:10], first_frame=True, timeout=60)
        if warm["failed"]:
            raise RuntimeError(f"warm-up failed: {warm['failures_sample']}")
        client.call("close")
        client.call("configure", clear=True)
        time.sleep(0.5)
        rss0 = server.rss()

        # 1-2. connect, RSS
        cpu.mark()
        conn = client.call(
            "connect", url=url, origin=origin, clients=clients, first_frame=True, concurrency=100, timeout=60
        )
        out["connect"] = {k: conn[k] for k in ("ok", "failed", "failures_sample", "elapsed", "ready_p99")}
        out["connect"].update(cpu.read())
        out["connect_rate"] = conn["rate"]
        out["connect_failures"] = conn["failed"]
        time.sleep(2)
        rss1 = server.rss()
        out["rss_base_mb"] = rss0 / 2**20
        out["rss_idle_mb"] = rss1 / 2**20
        out["rss_per_socket_kb"] = (rss1 - rss0) / 1024 / max(1, conn["ok"])

        # 3. push latency, real notify() one user at a time
        cpu.mark()
        r = trigger.call("paced", pool=uids, rate=opts.unicast_rate, duration=opts.unicast_seconds, tick=0)
        s = client.call("stats", expected=r["expected"], drain=5)
        out["push"] = {**{k: s[k] for k in ("expected", "received", "gaps", "dups")}, **cpu.read()}
        out["push_p50_ms"], out["push_p99_ms"] = pct_ms(s["p50"]), pct_ms(s["p99"])
        calls = sorted(r["calls"])
        out["notify_call_p50_ms"] = statistics.median(calls) * 1000

        # 4. sustained per-user deliveries, the server saturated
        steps: list[dict[str, Any]] = []
        rate = float(opts.ladder_start)
        mode = "replay"
        retried = False
        while rate <= LADDER_MAX:
            batch = max(1, min(len(uids), round(rate * opts.tick)))
            # Enough distinct calls for the step, or (when fewer are enough) a cycle long enough that a user's
            # item comes back only after ~20 newer ones for that user (a tab drops an item its bar shows).
            calls_needed = math.ceil(rate * opts.step_seconds / batch) + 2
            calls_needed = min(calls_needed, max(12, math.ceil(21 * len(uids) / batch) + 1))
            step: dict[str, Any] = {"rate": round(rate), "batch": batch}
            if mode == "replay":
                prep = fleet.call("prepare", pool=uids, batch=batch, calls=calls_needed)
                step["prepare_s"] = prep["seconds"]
                if not prep["restampable"]:
                    mode = "notify"
                    out["replay_unsupported"] = prep
            time.sleep(0.3)
            cpu.mark()
            cores0 = core_times()
            if mode == "replay":
                r = fleet.call("replay", rate=rate, duration=opts.step_seconds, tick=opts.tick)
            else:
                r = trigger.call("paced", pool=uids, rate=rate, duration=opts.step_seconds, tick=opts.tick)
            c = cpu.read()
            busy = core_busy(cores0)
            s = client.call("stats", expected=r["expected"], drain=3)
            ok = (
                s["p99"] is not None
                and s["p99"] < 0.5
                and s["gaps"] == 0
                and s["dups"] == 0
                and r["achieved_rate"] >= 0.9 * rate
            )
            step.update(
                {
                    "mode": mode,
                    "achieved": r["achieved_rate"],
                    "ok": ok,
                    "p50_ms": pct_ms(s["p50"]),
                    "p99_ms": pct_ms(s["p99"]),
                    "gaps": s["gaps"],
                    "dups": s["dups"],
                    **{k: v for k, v in c.items() if k != "wall"},
                    # The server's core busy with anything (the server, or other people's work on the machine):
                    # near 100% at a failing step means the server had no more CPU to get.
                    "core0_busy_pct": busy[0] if busy else None,
                    "core1_busy_pct": busy[1] if len(busy) > 1 else None,
                    "retry": retried,
                }
            )
            steps.append(step)
            print(f"    {name} sustained {step}", flush=True)
            if not ok and not retried:
                retried = True  # one more try at the same rate: a noisy neighbour may have caused it
                time.sleep(1)
                continue
            if not ok:
                break
            retried = False
            rate *= LADDER_FACTOR
        out["sustained_steps"] = steps
        passing = [s for s in steps if s["ok"]]
        best = passing[-1] if passing else None
        out["sustained_rate"] = best["achieved"] if best else 0
        out["sustained_server_cpu_pct"] = best["server_cpu_pct"] if best else None
        out["sustained_per_core"] = (
            best["achieved"] / (best["server_cpu_pct"] / 100) if best and best["server_cpu_pct"] > 1 else None
        )
        fail = steps[-1] if steps and not steps[-1]["ok"] else None
        out["limit_server_cpu_pct"] = fail["server_cpu_pct"] if fail else None
        out["limit_core0_busy_pct"] = fail["core0_busy_pct"] if fail else None
        out["limit_client_cpu_pct"] = fail["client_cpu_pct"] if fail else None
        out["sustained_mode"] = mode

        # 5. graceful shutdown with the N sockets open
        time.sleep(1)
        client.call("fleet_reset")
        still = client.call("fleet")["open"]
        t_term = time.monotonic()
        term = server.terminate(timeout=30)
        time.sleep(1)
        f = client.call("fleet", since=t_term, drops=True)
        drops = f["drops"]
        out["shutdown"] = {
            "open_before": still,
            **term,
            "close_codes": f["close_codes"],
            "first_drop_s": min(d[0] for d in drops) - t_term if drops else None,
            "last_drop_s": max(d[0] for d in drops) - t_term if drops else None,
            "still_open": f["open"],
        }
        out["log"] = server.log_errors()
        client.call("close")
    finally:
        for w in workers:
            w.stop()
        server.stop()
    return out


def med(values: list[Any]) -> float | None:
    vals = [v for v in values if isinstance(v, int | float)]
    return statistics.median(vals) if vals else None


def fmt(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def write_md(runs: list[dict[str, Any]], opts: argparse.Namespace, path: Path, header: dict[str, Any]) -> None:
    names = list(dict.fromkeys(r["server"] for r in runs))
    ok = {name: [r for r in runs if r["server"] == name and "error" not in r] for name in names}

    def m(name: str, key: str) -> float | None:
        return med([r.get(key) for r in ok[name]])

    def ratio(name: str, key: str) -> str:
        base, v = m("daphne", key) if "daphne" in ok else None, m(name, key)
        return f" ({v / base:.2f}x)" if v is not None and base else ""

    lines = [
        "# ASGI servers for variant S (issue: cheap for the caller, cheap per socket, back in seconds)",
        "",
        "Command (from the repository root):",
        "",
        "```sh",
        header["command"],
        "```",
        "",
        f"Product code: `{header['commit']}` plus the uncommitted changes of the work tree at the time "
        f"({header['dirty']} files changed), which were mid-rewrite: the numbers are of that state.",
        f"Machine: 2 cores, shared with other engineers' test runs. Load average before / after: "
        f"{header['load_before']} / {header['load_after']}. Wall time {header['minutes']:.1f} min.",
        "",
        "Layout: the server alone on core 0 (`taskset -c 0`; granian's worker process inherits it); the load "
        "generator (`bench.fleet_client`, picows + uvloop), two caller processes (`bench.trigger`, "
        "`bench.fleet_trigger`) and redis-server share core 1. RedisPubSubChannelLayer, SQLite. Servers "
        "interleaved per repetition; every figure is the median over the repetitions, (x) the ratio to "
        "daphne's median in this run.",
        "",
        "## Medians",
        "",
        f"| server | reps ok | connect/s at {opts.n} (ready = state frame) | failures | RSS per idle socket KiB "
        "| push p50 ms | push p99 ms (notify() -> frame, 50/s) | sustained deliveries/s (p99 < 500 ms) "
        "| server CPU % there | deliveries per server core-second | server CPU % / core 0 busy % in the last "
        "(failing) step |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        rs = ok[name]
        lines.append(
            f"| {name} | {len(rs)} of {sum(r['server'] == name for r in runs)} "
            f"| {fmt(m(name, 'connect_rate'), 0)}{ratio(name, 'connect_rate')} "
            f"| {fmt(m(name, 'connect_failures'), 0)} "
            f"| {fmt(m(name, 'rss_per_socket_kb'))}{ratio(name, 'rss_per_socket_kb')} "
            f"| {fmt(m(name, 'push_p50_ms'), 2)}{ratio(name, 'push_p50_ms')} "
            f"| {fmt(m(name, 'push_p99_ms'), 2)}{ratio(name, 'push_p99_ms')} "
            f"| {fmt(m(name, 'sustained_rate'), 0)}{ratio(name, 'sustained_rate')} "
            f"| {fmt(m(name, 'sustained_server_cpu_pct'), 0)} "
            f"| {fmt(m(name, 'sustained_per_core'), 0)}{ratio(name, 'sustained_per_core')} "
            f"| {fmt(m(name, 'limit_server_cpu_pct'), 0)} / {fmt(m(name, 'limit_core0_busy_pct'), 0)} |"
        )
    contended = [
        name for name in names if (m(name, "limit_core0_busy_pct") or 0) - (m(name, "limit_server_cpu_pct") or 0) > 25
    ]
    if contended:
        lines += [
            "",
            f"**Contended machine:** in the last ladder step of {', '.join(contended)} core 0 was busy far beyond "
            "what the server used (other people's processes run unpinned on both cores). The sustained rate then "
            "measures the CPU share the server got, not what it can do; deliveries per server core-second "
            "(rate / the server's own CPU share) is the figure that compares servers on such a machine.",
        ]
    lines += [
        "",
        "## Graceful shutdown (SIGTERM with the N sockets open)",
        "",
        "| server | rep | close codes the sockets got (count) | first / last socket closed, s after SIGTERM "
        "| process exited after s | killed | server log lines with Traceback/ERROR |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if "error" in r:
            continue
        sd = r["shutdown"]
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(sd["close_codes"].items())) or "none"
        lines.append(
            f"| {r['server']} | {r['rep']} | {codes} | {fmt(sd['first_drop_s'], 2)} / {fmt(sd['last_drop_s'], 2)} "
            f"| {fmt(sd['exit_s'], 2)} | {sd['killed']} | {r['log']['error_lines']} |"
        )
    lines += [
        "",
        "## Per repetition",
        "",
        "| server | rep | connect/s | RSS base MiB | RSS idle MiB | KiB/socket | push p50 / p99 ms | notify() call "
        "p50 ms | sustained /s (mode) | ladder: rate -> p99 ms, server CPU % / core 0 busy % (a failed step is tried "
        "once more) | code |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if "error" in r:
            lines.append(f"| {r['server']} | {r['rep']} | error: {r['error'][:200]} ||||||||| {r.get('code')} |")
            continue
        ladder = "; ".join(
            f"{s['rate']:,}{'' if s['ok'] else ' FAIL'} -> {fmt(s['p99_ms'], 0)}, {fmt(s['server_cpu_pct'], 0)}"
            f"/{fmt(s.get('core0_busy_pct'), 0)}"
            for s in r["sustained_steps"]
        )
        lines.append(
            f"| {r['server']} | {r['rep']} | {fmt(r['connect_rate'], 0)} | {fmt(r['rss_base_mb'])} "
            f"| {fmt(r['rss_idle_mb'])} | {fmt(r['rss_per_socket_kb'])} "
            f"| {fmt(r['push_p50_ms'], 2)} / {fmt(r['push_p99_ms'], 2)} | {fmt(r['notify_call_p50_ms'], 2)} "
            f"| {fmt(r['sustained_rate'], 0)} ({r['sustained_mode']}) | {ladder} | {r.get('code')} |"
        )
    codes = sorted({r["code"] for r in runs if "code" in r})
    if len(codes) > 1:
        lines += [
            "",
            f"**The product's code changed during this run** ({len(codes)} versions: {', '.join(codes)}; "
            "`code` in servers.jsonl per run): compare runs of the same version.",
        ]
    lines += ["", "## Server command lines (PORT: a free loopback port)", ""]
    for name in names:
        lines += [f"- {name}: `{command_line(name)}`"]
    lines += [
        "",
        "Run with `PYTHONPATH=site:.` and `DJANGO_SETTINGS_MODULE=bench.settings` (the demo's settings with "
        "RedisPubSubChannelLayer), from the repository root. The demo's ASGI app is `site/demo/asgi.py`.",
        "",
    ]
    if header.get("notes"):
        lines += ["## Notes", "", *header["notes"], ""]
    path.write_text("\n".join(lines))


SHUTDOWN_NOTES = [
    "Which server can close open sockets with 1012 (Service Restart) on SIGTERM (the htmx ws extension "
    "reconnects after 1006, 1011, 1012 and 1013 only, `hx-ws-2.js` line 256), from the sources installed here "
    "and the measured codes above:",
    "",
    "- **daphne** (4.2): SIGTERM stops Twisted's reactor; `Server.kill_all_applications` (daphne/server.py) "
    "cancels every application instance and the connections go with the process, without a close frame: "
    "browsers see 1006. The application cannot send 1012 through daphne at all: autobahn's `sendClose` accepts "
    "only 1000 and 3000-4999 (autobahn/websocket/protocol.py), and htmx does not reconnect after those.",
    "- **uvicorn** (>= 0.20, Kludex/uvicorn#1753): `Server.shutdown` closes the listening sockets, then calls "
    "`shutdown()` on every connection; each WebSocket implementation sends close **1012** "
    "(websockets_sansio_impl `send_close(1012)`, wsproto_impl `CloseConnection(code=1012)`, the legacy "
    "websockets_impl `fail_connection(1012)`) and hands the application `websocket.disconnect` with code 1012, "
    "then waits up to `--timeout-graceful-shutdown` s for the application's tasks.",
    "- **granian** (2.8): on SIGTERM the worker calls hyper's `graceful_shutdown()` on its connections "
    "(src/workers.rs), which does not reach upgraded (WebSocket) connections; nothing in its source sends 1001 or "
    "1012, and the sockets see 1006 when the worker exits. An application may close with any code "
    "(`websocket.close` maps to tungstenite's CloseCode), but granian tells it nothing before it goes.",
]


def git_state() -> tuple[str, int]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    return commit.stdout.strip(), len([ln for ln in dirty.stdout.splitlines() if ln.strip()])


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in psutil.getloadavg())


def available(names: list[str]) -> tuple[list[str], list[str]]:
    """The servers whose package imports here; notes for the others."""
    ok, notes = [], []
    for name in names:
        module = {"daphne": "daphne", "granian": "granian"}.get(name, "uvicorn")
        r = subprocess.run([PY, "-c", f"import {module}"], capture_output=True)
        if r.returncode == 0:
            ok.append(name)
        else:
            notes.append(f"- {name}: not installed (`import {module}` failed), skipped.")
    return ok, notes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", default="daphne,uvicorn,granian")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--unicast-rate", type=float, default=50)
    p.add_argument("--unicast-seconds", type=float, default=4)
    p.add_argument("--ladder-start", type=float, default=LADDER_START)
    p.add_argument("--step-seconds", type=float, default=3)
    p.add_argument("--tick", type=float, default=0.05)
    p.add_argument("--out", default=str(RESULTS))
    opts = p.parse_args()
    names, notes = available(opts.servers.split(","))
    outdir = Path(opts.out)
    outdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="nbservers-"))
    print(f"work dir {work}", flush=True)
    t0 = time.monotonic()
    load_before = load()
    redis = Redis(work)
    runs: list[dict[str, Any]] = []
    try:
        cookies = json.loads(setup_db(work, redis.url, opts.n + 10).read_text())
        ctx = {"work": work, "redis": redis, "cookies": cookies}
        with (outdir / "servers.jsonl").open("w") as jsonl:
            for rep in range(opts.reps):
                for name in names:
                    t = time.monotonic()
                    try:
                        r = run_one(name, ctx, opts)
                    except Exception as e:
                        r = {"server": name, "n": opts.n, "error": f"{type(e).__name__}: {e}"}
                    r["rep"], r["seconds"], r["load"] = rep, time.monotonic() - t, load()
                    runs.append(r)
                    jsonl.write(json.dumps(r) + "\n")
                    jsonl.flush()
                    keys = ("connect_rate", "rss_per_socket_kb", "push_p99_ms", "sustained_rate", "error")
                    summary = {k: (round(r[k], 2) if isinstance(r.get(k), float) else r.get(k)) for k in keys}
                    print(f"rep {rep} {name}: {summary} shutdown={r.get('shutdown')} ({r['seconds']:.0f}s)", flush=True)
    finally:
        redis.stop()
    commit, dirty = git_state()
    argv = " ".join(__import__("sys").argv[1:])
    header = {
        "command": f".venv/bin/python -m bench.servers {argv}".strip(),
        "commit": commit,
        "dirty": dirty,
        "load_before": load_before,
        "load_after": load(),
        "minutes": (time.monotonic() - t0) / 60,
        "notes": [*notes, *SHUTDOWN_NOTES],
    }
    write_md(runs, opts, outdir / "servers.md", header)
    print(f"wrote {outdir / 'servers.md'}", flush=True)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
