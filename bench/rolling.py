"""A rolling restart: two server processes behind HAProxy, restarted one after the other while notifications
flow -> bench/results/rolling.md (+ rolling.jsonl).

``.venv/bin/python -m bench.rolling [--n 5000] [--servers daphne,uvicorn] [--reps 1]``

Per server (interleaved per repetition) on this 2-core machine:

1. Processes s1 and s2 of this project (RedisPubSubChannelLayer, SQLite), s1 on core 0 and s2 on core 1
   (``--pin split``; ``shared``: both on core 0, the helpers on core 1 as bench.restart does); HAProxy (Debian's
   package, one thread) on a free loopback port in front of them, ``balance leastconn`` (``--balance``), a TCP
   health check every 500 ms, ``retries 3`` with ``option redispatch 1`` (a refused connection is retried on
   the other server), ``timeout tunnel 1h`` for the upgraded sockets and an ``X-Backend`` response header
   naming the server, from which the client knows where each socket landed.
2. N authenticated sockets through HAProxy (``bench.fleet_client``), then notify() to one random user of the N
   at ``--rate`` per second for the whole run (``bench.fleet_trigger``, its own process), every call stamped.
3. Per restart (s1, then s2): a quiet window (``--quiet`` s), SIGTERM to the process, wait for it to exit
   (SIGKILL after 30 s), start it again on its port; wait until the sockets it held are back and have every
   notification (or ``--window`` s), then ``--settle`` s before the next restart.

Clients reconnect as the htmx ws extension would after the close code they got (``bench.fleet_client``):
after 1006/1011/1012/1013 with its full-jitter delay (0-1 s for the first try, doubling per failed try up to
64 s, reset when a socket opens); after any other code a browser would not reconnect at all; the client here
reconnects after a bounded back-off (``random() * min(--other-cap, 2 ** retry)`` s), and counts those sockets.

Measured per restart, from the SIGTERM (and from the new process listening):

- **back**: every user whose socket was on the restarted process has a socket opened since the SIGTERM (through
  HAProxy, to either process);
- **converged**: back, and each of those users has seen (in a new-item or a state frame) every notification
  sent to them until 1 s before that moment; **missing** = such notifications not seen when the window ended
  (0 when it converged);
- handshake attempts and failures (refused: nothing listening / HAProxy's 503; timed out after
  ``--handshake-timeout`` s; rejected: another HTTP answer);
- the close codes the sockets got, and how many took the non-htmx path;
- the push p50/p99 of users whose socket stayed on the other process, for notifications sent between the
  SIGTERM and convergence, against the same users' p99 in the quiet window just before.

At the end: notifications never seen by their user (all users, everything sent until 3 s before the end).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from testing.processes import stop_process, wait_for_port

from .common import PY, ROOT, Redis, Worker, django_env, free_port, setup_db
from .servers import (
    ServerProcess,
    code_hash,
    daphne_args,
    fmt,
    git_state,
    granian_args,
    load,
    log_summary,
    migrate,
    uvicorn_args,
)

RESULTS = ROOT / "bench" / "results"
ALL_CORES = "0,1"

ROLLING_SERVERS: dict[str, Any] = {
    # daphne as bench/results/restart.md found it best: waiting 30 s (not 5) for the app to accept a handshake.
    "daphne": lambda port: daphne_args(port, connect_timeout=30),
    "uvicorn": uvicorn_args,
    "granian": granian_args,
}

HAPROXY_CFG = """\
global
    maxconn {maxconn}
    nbthread 1

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout queue 10s
    # An upgraded WebSocket is a tunnel: idle for up to an hour (the servers ping every 20 s anyway).
    timeout tunnel 1h
    timeout client-fin 5s
    timeout server-fin 5s
    retries 3
    option redispatch 1

frontend ws
    bind 127.0.0.1:{port}
    maxconn {maxconn}
    default_backend servers

backend servers
    balance {balance}
    http-response set-header X-Backend %s
    default-server check inter 500ms fall 1 rise 1
    server s1 127.0.0.1:{p1}
    server s2 127.0.0.1:{p2}
"""


class HAProxy:
    def __init__(self, work: Path, p1: int, p2: int, balance: str, maxconn: int) -> None:
        self.port = free_port()
        self.cfg = work / "haproxy.cfg"
        self.cfg.write_text(HAPROXY_CFG.format(maxconn=maxconn, port=self.port, balance=balance, p1=p1, p2=p2))
        check = subprocess.run(["haproxy", "-c", "-f", str(self.cfg)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c: {check.stdout}{check.stderr}")
        self._log = (work / "haproxy.log").open("a")
        self.proc = subprocess.Popen(
            ["haproxy", "-db", "-f", str(self.cfg)], stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port, proc=self.proc)

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()


def haproxy_version() -> str | None:
    try:
        out = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return None
    return out.splitlines()[0] if out else None


class Sent:
    """What the steady caller sent: (seq, uid, monotonic time of the call, call seconds), pulled as it goes."""

    def __init__(self, fleet: Worker) -> None:
        self.fleet = fleet
        self.log: list[list[Any]] = []
        self.next = 0

    def pull(self) -> None:
        r = self.fleet.call("steady_log", since=self.next)
        self.log += r["log"]
        self.next = r["next"]

    def seqs_for(self, uids: set[int], until: float, since: float = 0.0) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(list)
        for seq, uid, t, _ in self.log:
            if uid in uids and since <= t <= until:
                out[str(uid)].append(seq)
        return out

    def seqs_between(self, uids: set[int], t0: float, t1: float) -> list[int]:
        return [seq for seq, uid, t, _ in self.log if uid in uids and t0 <= t < t1]


def restart(
    label: str,
    servers: dict[str, ServerProcess],
    make: Any,
    client: Worker,
    sent: Sent,
    opts: argparse.Namespace,
) -> dict[str, Any]:
    where = client.call("where")
    other = "s2" if label == "s1" else "s1"
    victims = set(where["uids"].get(label, []))
    others = set(where["uids"].get(other, []))
    before = client.call("fleet")
    out: dict[str, Any] = {"process": label, "sockets_on_it": len(victims), "sockets_on_other": len(others)}

    # SIGTERM, wait for the exit, start again: in a thread, while the sockets are watched from the SIGTERM on.
    times: dict[str, Any] = {}

    def cycle() -> None:
        try:
            times.update(servers[label].terminate(timeout=30))
            times["exited"] = time.monotonic()
            servers[label] = make(label)
            times["listening"] = time.monotonic()
        except Exception as e:
            times["error"] = f"{type(e).__name__}: {e}"

    t_term = time.monotonic()
    thread = threading.Thread(target=cycle)
    thread.start()
    back = converged = None
    last: dict[str, Any] = {}
    while time.monotonic() - t_term < opts.window:
        time.sleep(0.25)
        if not thread.is_alive() and "error" in times:
            raise RuntimeError(f"restarting {label}: {times['error']}")
        sent.pull()
        now = time.monotonic()
        expected = sent.seqs_for(victims, until=now - 1.0)
        last = client.call("converge", uids=sorted(victims), expected=expected, since=t_term)
        if back is None and last["open"] == len(victims):
            back = last["now"]
        if last["open"] == len(victims) and last["missing"] == 0:
            converged = last["now"]
            break
    t_end = converged or time.monotonic()
    thread.join()
    if "error" in times:
        raise RuntimeError(f"restarting {label}: {times['error']}")
    t_listen = times["listening"]
    out.update({"exit_s": times["exit_s"], "killed": times["killed"], "start_s": t_listen - times["exited"]})
    time.sleep(1.5)  # the last pushes before t_end reach the sockets that stayed
    after = client.call("fleet", since=t_term, drops=True)
    drops = after["drops"]
    dropped = {d[1] for d in drops}
    stayed = others - dropped
    codes: dict[str, int] = defaultdict(int)
    for d in drops:
        codes[str(d[3])] += 1
    diff = {k: after[k] - before[k] for k in ("attempts", "ok", "refused", "timeout", "rejected", "other")}
    diff["other_path"] = after["other_path"] - before["other_path"]

    out["split_after"] = client.call("where")["backends"]
    quiet = client.call("latencies", seqs=sent.seqs_between(stayed, t_term - opts.quiet, t_term))
    during = client.call("latencies", seqs=sent.seqs_between(stayed, t_term, t_end))
    out.update(
        {
            "back_after_term_s": None if back is None else back - t_term,
            "back_after_listen_s": None if back is None else back - t_listen,  # < 0: back before it listened
            "converged_after_term_s": None if converged is None else converged - t_term,
            "converged_after_listen_s": None if converged is None else converged - t_listen,
            "open_at_end": last.get("open"),
            "missing_at_end": last.get("missing"),
            "missing_users_at_end": last.get("missing_users"),
            "missing_sample": last.get("missing_sample"),
            "sockets_dropped": len(drops),
            "others_dropped": len(others & dropped),
            "close_codes": dict(codes),
            "handshakes": diff,
            "failure_sample": after["sample"][-4:],
            "others_quiet": quiet,
            "others_during": during,
        }
    )
    print(f"  restart {label}: {json.dumps({k: v for k, v in out.items() if k != 'missing_sample'})}", flush=True)
    return out


def run_one(name: str, ctx: dict[str, Any], opts: argparse.Namespace) -> dict[str, Any]:
    work: Path = ctx["work"]
    redis: Redis = ctx["redis"]
    redis.flush()
    env = django_env(work, redis.url, "pubsub")
    migrate(env)
    n = opts.n
    clients = ctx["cookies"][:n]
    uids = [c["uid"] for c in clients]
    outsider = ctx["cookies"][n]["uid"]
    ports = {"s1": free_port(), "s2": free_port()}
    cores = {"s1": "0", "s2": "1"} if opts.pin == "split" else {"s1": "0", "s2": "0"}
    helper_cpu = ALL_CORES if opts.pin == "split" else "1"

    def make(label: str) -> ServerProcess:
        argv = ROLLING_SERVERS[name](ports[label])
        return ServerProcess(name, ports[label], env, work / f"{name}-{label}.log", cpu=cores[label], args=argv)

    out: dict[str, Any] = {"server": name, "n": n, "pin": opts.pin, "balance": opts.balance, "code": code_hash()}
    servers: dict[str, ServerProcess] = {}
    proxy: HAProxy | None = None
    workers: list[Worker] = []
    try:
        servers = {"s1": make("s1"), "s2": make("s2")}
        proxy = HAProxy(work, ports["s1"], ports["s2"], opts.balance, maxconn=min(9000, 2 * n + 1000))
        trigger = Worker([PY, "-m", "bench.trigger", "product"], env, work / "trigger.log", cpu=helper_cpu)
        workers.append(trigger)
        fleet = Worker([PY, "-m", "bench.fleet_trigger"], env, work / "fleet_trigger.log", cpu=helper_cpu)
        workers.append(fleet)
        client = Worker([PY, "-m", "bench.fleet_client"], env, work / "client.log", cpu=helper_cpu)
        workers.append(client)
        trigger.call("reset", active=uids)
        fleet.call("seq", start=60_000_000)
        fleet.call("warm", uid=outsider)
        client.call("configure", mode={"product": True, "reconnect": "htmx", "other_cap": opts.other_cap}, clear=True)
        url = f"ws://127.0.0.1:{proxy.port}/ws/notifications/"
        conn = client.call(
            "connect",
            url=url,
            origin=f"http://127.0.0.1:{proxy.port}",
            clients=clients,
            first_frame=True,
            concurrency=100,
            timeout=opts.handshake_timeout,
        )
        out["connect"] = {k: conn[k] for k in ("ok", "failed", "failure_kinds", "rate", "backends")}
        if conn["failed"]:
            raise RuntimeError(f"initial connect: {conn['failed']} failed: {conn['failures_sample']}")
        fleet.call("steady_start", pool=uids, rate=opts.rate)
        sent = Sent(fleet)
        time.sleep(opts.quiet)
        out["restarts"] = []
        for label in ("s1", "s2"):
            out["restarts"].append(restart(label, servers, make, client, sent, opts))
            time.sleep(opts.settle)
        stop = fleet.call("steady_stop")
        sent.log = stop["log"]
        out["steady"] = {"sent": len(stop["log"]), "errors": stop["errors"], "late": stop["late"]}
        calls = sorted(x[3] for x in stop["log"])
        out["notify_call_p50_ms"] = calls[len(calls) // 2] * 1000 if calls else None
        out["notify_call_p99_ms"] = calls[int(len(calls) * 0.99)] * 1000 if calls else None
        # Everything sent until 3 s ago should be on every socket now; if not, wait up to --final-wait s more
        # to tell slow from never.
        time.sleep(3)
        end = time.monotonic() - 3
        expected = sent.seqs_for(set(uids), until=end)
        final = client.call("converge", uids=uids, expected=expected)
        first = final
        t_final = time.monotonic()
        while final["missing"] and time.monotonic() - t_final < opts.final_wait:
            time.sleep(1)
            final = client.call("converge", uids=uids, expected=expected)
        out["final"] = {k: final[k] for k in ("open", "converged", "missing", "missing_users", "missing_sample")}
        out["final"]["missing_3s_after_last"] = first["missing"]
        out["final"]["missing_users_3s_after_last"] = first["missing_users"]
        out["final"]["waited_s"] = time.monotonic() - t_final if first["missing"] else 0.0
        out["fleet_totals"] = {k: v for k, v in client.call("fleet").items() if k not in ("drops", "now")}
        out["logs"] = {label: s.log_errors() for label, s in servers.items()}
        out["log_summary"] = {
            label: log_summary(work / f"{name}-{label}.log")
            for label in servers  # every process of the run
        }
        client.call("close")
    finally:
        for w in workers:
            w.stop()
        for s in servers.values():
            s.stop()
        if proxy is not None:
            proxy.stop()
    return out


def single_restart(opts: argparse.Namespace) -> dict[str, Any]:
    """bench.restart (one daphne holding N sockets restarted, clients straight to it) in this run, as the
    baseline: its last JSON line."""
    args = [PY, "-m", "bench.restart", "--n", str(opts.n), "--others", "200", "--window", str(int(opts.window))]
    args += ["--mode", "port", "--connect-timeout", "30"]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=opts.window + 600)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {"error": f"no result (exit {r.returncode}): {r.stderr[-500:]}"}
    out["command"] = " ".join(["python" if a == PY else a for a in args])
    return out


def write_md(runs: list[dict[str, Any]], single: dict[str, Any] | None, path: Path, header: dict[str, Any]) -> None:
    def ms(x: float | None) -> str:
        return fmt(None if x is None else x * 1000, 1)

    lines = [
        "# Rolling restart behind HAProxy",
        "",
        "Command (from the repository root):",
        "",
        "```sh",
        header["command"],
        "```",
        "",
        f"Product code: `{header['commit']}` plus the uncommitted changes of the work tree at the time "
        f"({header['dirty']} files changed). {header['haproxy']}. Machine: 2 cores, shared with other "
        f"engineers' test runs; load average before / after: {header['load_before']} / {header['load_after']}. "
        f"Wall time {header['minutes']:.1f} min.",
        "",
        "Setup: see the docstring of `bench/rolling.py`. Two processes of one server behind HAProxy "
        f"(`balance {header['balance']}`), pinning `{header['pin']}`"
        + (
            " (s1 on core 0, s2 on core 1, HAProxy, the load generator, the callers and redis-server wherever the "
            "scheduler puts them: there is no spare core on this machine)"
            if header["pin"] == "split"
            else " (both servers on core 0, the helpers on core 1)"
        )
        + f"; {header['n']:,} authenticated sockets; notify() to one random user of them at {header['rate']:g}/s "
        "throughout. Reconnects: htmx's full-jitter delay after 1006/1011/1012/1013, a bounded back-off "
        f"(cap {header['other_cap']:g} s) after other codes, handshake time-out {header['handshake_timeout']:g} s.",
        "",
        "Times in seconds from the SIGTERM (in brackets: from the new process listening; negative: before it "
        "listened). **back** = every user whose socket was on the restarted process has a new socket open "
        "(opened since the SIGTERM, through HAProxy, on either process); **converged** = "
        "back, and every one of those users has seen every notification sent to them until 1 s before. "
        "**missing** = notifications those users had not seen when the window ended (0 if converged). "
        "**others p99** = push latency (notify() -> frame) of users whose socket stayed on the other process, "
        "for notifications sent from the SIGTERM until convergence, against the same users in the "
        f"{header['quiet']:g} s before the SIGTERM.",
        "",
        "| server | rep | restart | sockets on it | close codes they got | exit s | back s | converged s "
        "| missing (users) | handshake attempts / refused / timed out / rejected / other | non-htmx reconnects "
        "| others push p50 / p99 ms during (quiet p99) | others dropped | sockets per process after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if "error" in r:
            lines.append(f"| {r['server']} | {r['rep']} | error: {r['error'][:300]} |||||||||||")
            continue
        for x in r["restarts"]:
            codes = ", ".join(f"{k}: {v}" for k, v in sorted(x["close_codes"].items())) or "none"
            h = x["handshakes"]
            back = (
                "never"
                if x["back_after_term_s"] is None
                else f"{x['back_after_term_s']:.1f} ({x['back_after_listen_s']:.1f})"
            )
            conv = (
                f"not within {header['window']:g}"
                if x["converged_after_term_s"] is None
                else f"{x['converged_after_term_s']:.1f} ({x['converged_after_listen_s']:.1f})"
            )
            d, q = x["others_during"], x["others_quiet"]
            lines.append(
                f"| {r['server']} | {r['rep']} | {x['process']} | {x['sockets_on_it']:,} | {codes} "
                f"| {x['exit_s']:.1f} | {back} | {conv} | {x['missing_at_end']} ({x['missing_users_at_end']}) "
                f"| {h['attempts']:,} / {h['refused']:,} / {h['timeout']:,} / {h['rejected']:,} / {h['other']:,} "
                f"| {h['other_path']:,} | {ms(d['p50'])} / {ms(d['p99'])} ({ms(q['p99'])}) "
                f"| {x['others_dropped']} | {', '.join(f'{k}: {v}' for k, v in sorted(x['split_after'].items()))} |"
            )
    lines += [
        "",
        "n/a in the second restart: its process held every socket by then. While s1 restarted, its sockets "
        "reconnected within about a second, when only s2 was up, and WebSockets never move back: after a "
        "rolling restart every socket sits on the process restarted first, and the second restart moves all N.",
        "",
        "## Whole run",
        "",
        "| server | rep | initial connect/s via HAProxy (split) | notifications sent | notify() call p50 / p99 ms "
        "| not seen 3 s after the last was sent (users) | still not seen after waiting up to --final-wait s more "
        "(users, waited s) | sockets open at the end | server log lines with Traceback/ERROR |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if "error" in r:
            continue
        f = r["final"]
        split = ", ".join(f"{k}: {v}" for k, v in sorted(r["connect"]["backends"].items()))
        errs = sum(v["error_lines"] for v in r["logs"].values())
        lines.append(
            f"| {r['server']} | {r['rep']} | {fmt(r['connect']['rate'], 0)} ({split}) | {r['steady']['sent']:,} "
            f"| {fmt(r['notify_call_p50_ms'], 2)} / {fmt(r['notify_call_p99_ms'], 2)} "
            f"| {f['missing_3s_after_last']} ({f['missing_users_3s_after_last']}) "
            f"| {f['missing']} ({f['missing_users']}, {f['waited_s']:.0f}) | {f['open']:,} of {r['n']:,} | {errs} |"
        )
    lines += ["", "## What the servers logged (whole run, both processes, numbers as #)", ""]
    for r in runs:
        for label, top in (r.get("log_summary") or {}).items():
            for count, text in top:
                lines.append(f"- {r['server']} rep {r['rep']} {label}: {count} x `{text}`")
    codes = sorted({r["code"] for r in runs if "code" in r})
    if len(codes) > 1:
        lines += ["", f"**The product's code changed during this run** ({', '.join(codes)}; `code` in rolling.jsonl)."]
    if single is not None:
        lines += ["", "## Baseline in the same run: one daphne restarted, clients straight to it (bench.restart)", ""]
        if "error" in single:
            lines.append(f"error: {single['error']}")
        else:
            rc = single.get("reconnect") or {}
            op = single.get("others_push") or {}
            lines += [
                f"`{single['command']}`",
                "",
                "| N on A | stop s | down s | back after SIGTERM s | converged after SIGTERM s | open at the end "
                "| missing ids at end | attempts / refused / timed out | others push p50 / p99 ms |",
                "|---|---|---|---|---|---|---|---|---|",
                f"| {single['n']:,} | {fmt(single.get('stop_s'))} | {fmt(single.get('down_s'))} "
                f"| {fmt(single.get('all_open_after_stop_s'))} | {fmt(single.get('converged_after_stop_s'))} "
                f"| {single.get('open_at_end')} | {single.get('missing_ids_at_end')} "
                f"| {rc.get('attempts')} / {rc.get('refused')} / {rc.get('timeout')} "
                f"| {ms(op.get('p50'))} / {fmt(op.get('p99_ms'))} |",
            ]
    lines += ["", "## Server command lines", ""]
    for name in dict.fromkeys(r["server"] for r in runs):
        argv = ROLLING_SERVERS[name]("PORT")
        lines.append(f"- {name}: `{' '.join('python' if a == PY else a for a in argv)}`")
    lines += ["", "HAProxy configuration (ports filled in by the script):", "", "```", HAPROXY_CFG.strip(), "```", ""]
    if header.get("notes"):
        lines += ["## Notes", "", *header["notes"], ""]
    path.write_text("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", default="daphne,uvicorn")
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--rate", type=float, default=50, help="notifications per second, one random user each")
    p.add_argument("--quiet", type=float, default=10, help="seconds of quiet before each restart")
    p.add_argument("--window", type=float, default=90, help="seconds to wait for the sockets after a SIGTERM")
    p.add_argument("--settle", type=float, default=5)
    p.add_argument("--final-wait", type=float, default=60, help="seconds to wait at the end for stragglers")
    p.add_argument("--handshake-timeout", type=float, default=30)
    p.add_argument("--other-cap", type=float, default=10, help="back-off cap (s) after codes htmx gives up on")
    p.add_argument("--balance", default="leastconn", choices=["leastconn", "roundrobin"])
    p.add_argument("--pin", default="split", choices=["split", "shared"])
    p.add_argument("--single", action=argparse.BooleanOptionalAction, default=True, help="also run bench.restart")
    p.add_argument("--out", default=str(RESULTS))
    opts = p.parse_args()
    version = haproxy_version()
    if version is None:
        sys.exit("haproxy is not installed (apt-get install haproxy)")
    outdir = Path(opts.out)
    outdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="nbrolling-"))
    print(f"work dir {work}", flush=True)
    t0 = time.monotonic()
    load_before = load()
    redis = Redis(work)
    runs: list[dict[str, Any]] = []
    single = None
    try:
        cookies = json.loads(setup_db(work, redis.url, opts.n + 10).read_text())
        ctx = {"work": work, "redis": redis, "cookies": cookies}
        with (outdir / "rolling.jsonl").open("w") as jsonl:
            for rep in range(opts.reps):
                for name in opts.servers.split(","):
                    t = time.monotonic()
                    try:
                        r = run_one(name, ctx, opts)
                    except Exception as e:
                        r = {"server": name, "n": opts.n, "error": f"{type(e).__name__}: {e}"}
                    r["rep"], r["seconds"], r["load"] = rep, time.monotonic() - t, load()
                    runs.append(r)
                    jsonl.write(json.dumps(r) + "\n")
                    jsonl.flush()
                    print(f"rep {rep} {name}: {r.get('final') or r.get('error')} ({r['seconds']:.0f}s)", flush=True)
    finally:
        redis.stop()
    if opts.single:
        single = single_restart(opts)
        print(f"single: {json.dumps(single)}", flush=True)
    commit, dirty = git_state()
    header = {
        "command": f".venv/bin/python -m bench.rolling {' '.join(sys.argv[1:])}".strip(),
        "commit": commit,
        "dirty": dirty,
        "haproxy": version,
        "load_before": load_before,
        "load_after": load(),
        "minutes": (time.monotonic() - t0) / 60,
        **{k: getattr(opts, k) for k in ("n", "rate", "quiet", "window", "balance", "pin", "other_cap")},
        "handshake_timeout": opts.handshake_timeout,
    }
    write_md(runs, single, outdir / "rolling.md", header)
    print(f"wrote {outdir / 'rolling.md'}", flush=True)


if __name__ == "__main__":
    main()
