"""Restart scenario: a daphne process (A) holding N sockets is restarted; this project (S) against the blog (B).

``.venv/bin/python -m bench.restart [--n 5000] [--others 200] [--reps 1] [--variants S,B] [--out DIR]``

Variant S, this project:

1. Servers A and B (this project, daphne + RedisPubSubChannelLayer, both on core 0); N users' sockets on A,
   ``--others`` other users' sockets on B (load generator on core 1).
2. Throughout, ``--rate`` notifications/s to random users on B (per-user
   push latency measured while A goes down and comes back).
3. A is stopped (SIGTERM), and while it is down every A user gets ``--during`` notifications (one notify() each
   for all of them, stored, published to nobody).
4. A is started again on the same port. The load generator reconnects every dropped socket to the same URL
   (so with the stale ``?v=`` of its first page) with the htmx ws extension's back-off (full jitter, see
   bench.loadgen.reconnect_delay; a model of its delays and close codes, not a browser).

Measured: seconds from A listening again (and from A being stopped) until every A socket is open again and
until every A user has seen every notification stored for them (``converged``: ids in any frame); reconnect
attempts, refused (A down), handshake timeouts (unanswered within ``--handshake-timeout``), other failures;
B users' push p50/p99 over the whole run.

Variant B, the blog design (bench/blog_asgi.py; not S's server B above): A serves it, with the same daphne
options, pinning, mode, Redis and reconnect model; the same N users' sockets (no ``?v=``, ready at the
handshake), stopped and started again the same way. It keeps no per-user state, so nothing is sent while A is
down, there are no other users and no server B (push latency n/a), and converged = back (every socket open).

Variants run interleaved per repetition, each with its own fresh servers and load generator. Prints one JSON
line per variant and repetition, then a markdown table and, per repetition, S converged / B back as a ratio
(with ``--out DIR``: also DIR/restart.jsonl and DIR/restart.md).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from .common import PY, ROOT, SERVER_CPU, Redis, Server, Worker, django_env, free_port, pinned, server_args, setup_db


class FdServer:
    """daphne serving a listening socket this process holds (``--fd``). EXPERIMENTAL, see below.

    The idea: while no daphne runs, connections wait in the socket's backlog instead of being refused, and
    (``fd-overlap``) the new process starts before the old one stops. Found: at 300 sockets nothing was
    refused, at 2,000 thousands were; Twisted's port calls ``shutdown(2)`` on its listening socket when it stops
    (twisted/internet/tcp.py ``_closeSocket``), which may shut the shared socket for the new process too (not
    verified). Do not recommend it before that is settled.
    """

    def __init__(
        self,
        listener: socket.socket,
        env: dict[str, str],
        log: Path,
        extra: list[str],
        app: str = "demo.asgi:application",
    ) -> None:
        self.port = listener.getsockname()[1]
        self.log = log
        start = log.stat().st_size if log.exists() else 0
        args = [PY, "-m", "daphne", "--fd", str(listener.fileno()), "-v", "1", *extra, app]
        with log.open("a") as out:
            self.proc = subprocess.Popen(
                pinned(SERVER_CPU, args),
                env={**env, "BENCH_DAPHNE_LOG": "INFO"},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=[listener.fileno()],
            )
        deadline = time.monotonic() + 30
        while b"Listening on" not in log.read_bytes()[start:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daphne --fd did not start; see {log}")
            time.sleep(0.05)
        self.ps = psutil.Process(self.proc.pid)

    def rss(self) -> int:
        return self.ps.memory_info().rss

    def stop(self) -> None:
        from testing.processes import stop_process

        stop_process(self.proc)


def listening_socket(port: int, backlog: int, *, reuseport: bool = False) -> socket.socket:
    """A listening socket on ``port`` for a daphne started with ``--fd`` (``reuseport``: in the port's
    SO_REUSEPORT group, shared with other processes' sockets)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(backlog)
    listener.set_inheritable(True)
    return listener


def run(variant: str, ctx: dict[str, Any], opts: argparse.Namespace) -> dict[str, Any]:
    """One restart of A serving ``variant`` (S: this project, B: the blog design)."""
    blog = variant == "B"
    work: Path = ctx["work"]
    redis: Redis = ctx["redis"]
    redis.flush()
    env = django_env(work, redis.url, "pubsub")
    cookies = ctx["cookies"]
    on_a, on_b = cookies[: opts.n], cookies[opts.n : opts.n + opts.others]
    a_uids, b_uids = [c["uid"] for c in on_a], [c["uid"] for c in on_b]
    port_a, port_b = free_port(), free_port()
    product = {"kind": "blog" if blog else "product", "layer": "pubsub", "backlog": opts.backlog}
    app = "bench.blog_asgi:application" if blog else "demo.asgi:application"  # as server_args picks it
    log_a = work / ("A-blog.log" if blog else "A.log")
    # daphne answers 403 to a handshake its application has not accepted within 5 s (its default): under a
    # reconnect burst that throws away the work done for it, and the client retries later.
    extra = ["--websocket_connect_timeout", str(int(opts.connect_timeout))] if opts.connect_timeout else []
    product["daphne_args"] = extra
    listener = listening_socket(port_a, opts.backlog or 50) if opts.mode.startswith("fd") else None

    def start_a() -> Any:
        if listener is not None:
            return FdServer(listener, env, log_a, extra, app)
        if opts.mode == "reuseport":
            # A socket of its own for each process, in one SO_REUSEPORT group: the old process's listener
            # leaves the group when it exits, and the new one's stays (as systemd's ReusePort=yes sockets do).
            own = listening_socket(port_a, opts.backlog or 50, reuseport=True)
            try:
                return FdServer(own, env, log_a, extra, app)
            finally:
                own.close()  # daphne holds it now; a copy here would keep taking connections after it exits
        return Server(server_args(product, port_a), env, port_a, log_a)

    servers: dict[str, Any] = {"A": start_a()}
    if not blog:  # B: no other users, so no server B
        servers["B"] = Server(server_args(product, port_b), env, port_b, work / "B.log")
    workers: list[Worker] = []
    out: dict[str, Any] = {
        "variant": variant,
        "n": opts.n,
        "others": opts.others,
        "backlog": opts.backlog or 50,
        "mode": opts.mode,
        "daphne_connect_timeout": opts.connect_timeout or 5,
        "client_handshake_timeout": opts.handshake_timeout,
    }
    try:
        if not blog:  # B: no stored state to version, no notifications to send or to time
            trigger = Worker([PY, "-m", "bench.trigger", "product"], env, work / "trigger.log")
            paced = Worker([PY, "-m", "bench.trigger", "product"], env, work / "trigger2.log")
            workers += [trigger, paced]
            trigger.call("reset", active=a_uids + b_uids)
            paced.call("seq", start=1_000_000)  # its stamps never collide with the other trigger's
            versions = trigger.call("versions", uids=a_uids + b_uids)["versions"]
            for c in on_a + on_b:
                c["v"] = versions[str(c["uid"])]
        loadgen = Worker([PY, "-m", "bench.loadgen"], env, work / "loadgen.log")
        workers.append(loadgen)
        loadgen.call("configure", mode={"product": not blog, "collect_ids": not blog, "reconnect": "htmx"})
        for name, clients in (("A", on_a),) if blog else (("A", on_a), ("B", on_b)):
            port = servers[name].port
            r = loadgen.call(
                "connect",
                url=f"ws://127.0.0.1:{port}/ws/notifications/",
                origin=f"http://127.0.0.1:{port}",
                clients=clients,
                first_frame=not blog,  # B sends nothing on connect: ready at the handshake (as bench.connect)
                concurrency=100,
                timeout=opts.handshake_timeout,
            )
            out[f"connect_{name}"] = {k: r[k] for k in ("ok", "failed", "rate", "failures_sample")}
            if r["failed"]:
                raise RuntimeError(f"initial connect to {name} failed: {r['failures_sample']}")
        out["rss_a_mb"] = servers["A"].rss() / 2**20

        # B users' pushes during the whole restart, from a second trigger process.
        result: dict[str, Any] = {}
        duration = opts.settle + opts.window

        def pace() -> None:
            result.update(paced.call("paced", pool=b_uids, rate=opts.rate, duration=duration, tick=1 / opts.rate))

        thread = threading.Thread(target=pace)
        if not blog:
            thread.start()
        time.sleep(opts.settle / 2)

        old = servers["A"]
        if opts.mode in ("fd-overlap", "reuseport"):  # the new process first, on the port; then the old one goes
            t_start = time.monotonic()
            servers["A"] = start_a()
            t_listen = time.monotonic()
        t_stop = time.monotonic()
        old.stop()
        t_down = time.monotonic()
        expected: dict[str, list[int]] = {}
        if not blog:
            for _ in range(opts.during):
                trigger.call("send", uids=a_uids)
            stored = trigger.call("ids")["ids"]
            expected = {str(u): stored.get(str(u), []) for u in a_uids}
        if opts.mode not in ("fd-overlap", "reuseport"):
            time.sleep(opts.downtime)
            t_start = time.monotonic()
            servers["A"] = start_a()
            t_listen = time.monotonic()
        t_listen = max(t_listen, t_down)  # overlap: count from the old process gone
        all_open = converged = open_99 = None
        last: dict[str, Any] = {}
        while time.monotonic() - t_listen < opts.window:
            last = loadgen.call("progress", uids=a_uids, expected=expected)
            if open_99 is None and last["open"] >= 0.99 * len(a_uids):
                open_99 = last["now"] - t_listen
            if all_open is None and last["open"] == len(a_uids):
                all_open = last["now"] - t_listen
            if converged is None and last["converged"] == len(a_uids):
                converged = last["now"] - t_listen
            if blog:  # nothing to see: converged = back
                converged = all_open
            if all_open is not None and converged is not None:
                break
            time.sleep(0.1)
        if not blog:
            thread.join()
        stats = None if blog else loadgen.call("stats", expected=result["expected"], drain=3)
        others = (  # B: no other users (n/a)
            None
            if stats is None
            else {k: stats[k] for k in ("expected", "received", "gaps", "dups", "p50", "max")}
            | {"p99_ms": stats["p99"] * 1000 if stats["p99"] is not None else None}
        )
        out.update(
            {
                "stop_s": t_down - t_stop,
                "down_s": t_listen - t_down,
                "start_s": t_listen - t_start,
                "open_99pct_after_listen_s": open_99,
                "all_open_after_listen_s": all_open,
                "converged_after_listen_s": converged,
                "all_open_after_stop_s": None if all_open is None else all_open + (t_listen - t_stop),
                "converged_after_stop_s": None if converged is None else converged + (t_listen - t_stop),
                "open_at_end": last.get("open"),
                "converged_at_end": last.get("open") if blog else last.get("converged"),
                "missing_ids_at_end": None if blog else last.get("missing_ids"),
                "reconnect": last.get("reconnect"),
                "others_push": others,
                "rss_a_after_mb": servers["A"].rss() / 2**20,
            }
        )
    finally:
        for w in workers:
            w.stop()
        for s in servers.values():
            s.stop()
        if listener is not None:
            listener.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--others", type=int, default=200)
    p.add_argument("--rate", type=float, default=50)
    p.add_argument("--during", type=int, default=2, help="notifications per A user while A is down")
    p.add_argument("--downtime", type=float, default=0.0, help="extra seconds A stays down")
    p.add_argument("--settle", type=float, default=4.0)
    p.add_argument("--window", type=float, default=60.0)
    p.add_argument("--handshake-timeout", type=float, default=10.0)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument(
        "--connect-timeout", type=float, default=0, help="daphne --websocket_connect_timeout (0: its default, 5 s)"
    )
    p.add_argument(
        "--mode",
        default="port",
        choices=["port", "fd-gap", "fd-overlap", "reuseport"],
        help="port: stop, then start on the port (refused meanwhile); fd-gap: the same on a held socket (queued "
        "meanwhile); fd-overlap: start the new process on the held socket, then stop the old one; reuseport: "
        "start the new process on a socket of its own in the port's SO_REUSEPORT group, then stop the old one",
    )
    p.add_argument("--backlog", type=int, default=2048, help="daphne's listen backlog (0: Twisted's default, 50)")
    p.add_argument("--variants", default="S,B", help="comma-separated, run in this order in each repetition: S, B")
    p.add_argument("--out", type=Path, default=None, help="also write restart.jsonl and restart.md in this directory")
    opts = p.parse_args()
    variants = opts.variants.split(",")
    if set(variants) - {"S", "B"}:
        p.error(f"--variants: S and/or B, not {opts.variants!r}")
    work = Path(tempfile.mkdtemp(prefix="nbrestart-"))
    print(f"work dir {work}", flush=True)
    if opts.out is not None:
        opts.out.mkdir(parents=True, exist_ok=True)
        (opts.out / "restart.jsonl").write_text("")  # this run's lines only
    runs: list[dict[str, Any]] = []
    redis = Redis(work)
    try:
        cookies = json.loads(setup_db(work, redis.url, opts.n + opts.others).read_text())
        for rep in range(opts.reps):
            for variant in variants:
                load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
                try:
                    r = run(variant, {"work": work, "redis": redis, "cookies": [dict(c) for c in cookies]}, opts)
                except Exception as e:
                    r = {"variant": variant, "error": f"{type(e).__name__}: {e}"}
                r["rep"], r["load_before"] = rep, load
                runs.append(r)
                print(json.dumps(r), flush=True)
                if opts.out is not None:
                    with (opts.out / "restart.jsonl").open("a") as f:
                        f.write(json.dumps(r) + "\n")
    finally:
        redis.stop()
    md = table(runs)
    print("\n" + md)
    if opts.out is not None:
        (opts.out / "restart.md").write_text(f"`python -m bench.restart {' '.join(sys.argv[1:])}`\n\n{md}\n")


def table(runs: list[dict[str, Any]]) -> str:
    """A markdown row per run, then S converged / B back per repetition (S's converged and B's back, both from
    A listening again and from A being stopped)."""

    def sec(x: float | None) -> str:
        return "never" if x is None else f"{x:.1f}"

    def ms(x: float | None) -> str:
        return "-" if x is None else f"{x:.1f}"

    lines = [
        "| rep | variant | N | load avg (1 min) before | A stop s | A down s | back (of N) at end | 99% back s "
        "after listen | all back s after listen / stop | converged s after listen / stop | missing ids at end | "
        "attempts / refused / timeouts / other | others' push p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        load = r["load_before"].split("load average:")[-1].split(",")[0].strip()
        if "error" in r:
            lines.append(f"| {r['rep']} | {r['variant']} | | {load} | {r['error']} |")
            continue
        rc = r.get("reconnect") or {}
        tries = " / ".join(f"{rc.get(k, 0):,}" for k in ("attempts", "refused", "timeout", "other"))
        push = r["others_push"]
        lines.append(
            f"| {r['rep']} | {r['variant']} | {r['n']:,} | {load} | {r['stop_s']:.2f} | {r['down_s']:.2f} | "
            f"{r['open_at_end'] if r['open_at_end'] is not None else '?'} | {sec(r['open_99pct_after_listen_s'])} | "
            f"{sec(r['all_open_after_listen_s'])} / {sec(r['all_open_after_stop_s'])} | "
            f"{sec(r['converged_after_listen_s'])} / {sec(r['converged_after_stop_s'])} | "
            f"{'n/a' if r['missing_ids_at_end'] is None else r['missing_ids_at_end']} | "
            f"{tries} | "
            + ("n/a |" if push is None else f"{ms(push['p50'] and push['p50'] * 1000)} / {ms(push['p99_ms'])} |")
        )
    lines.append("")
    for rep in sorted({r["rep"] for r in runs}):
        by = {r["variant"]: r for r in runs if r["rep"] == rep and "error" not in r}
        if "S" not in by or "B" not in by:
            continue
        s, b = by["S"], by["B"]
        parts = []
        for since in ("listen", "stop"):
            sc, bb = s[f"converged_after_{since}_s"], b[f"all_open_after_{since}_s"]
            ratio = "n/a" if sc is None or bb is None or bb <= 0 else f"{sc / bb:.2f}x"
            parts.append(
                f"{ratio} from A {'listening' if since == 'listen' else 'stopped'} ({sec(sc)} s / {sec(bb)} s)"
            )
        lines.append(f"- rep {rep}: S converged / B back = {', '.join(parts)}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
