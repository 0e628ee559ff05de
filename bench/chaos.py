"""The chaos soak: two server processes behind HAProxy, N sockets, notifications at a steady rate, and a fault
every 30-60 s -> bench/results/chaos.md (+ chaos.jsonl, raw, not committed).

``.venv/bin/python -m bench.chaos --clients 1000 --minutes 10 [--every 30:60] [--faults ...] [--sentinel]
[--postgres]``

The deployment is bench.rolling's: processes s1 and s2 of this project (uvicorn, RedisPubSubChannelLayer; s1
on core 0, s2 on core 1), HAProxy in front (``balance leastconn``, a health check every 500 ms, a refused
connection retried on the other server), a private redis-server (``--sentinel``: one master, one replica and
three sentinels, ``testing/sentinel.py``, the layer through the sentinels) and SQLite (``--postgres``: a
private PostgreSQL server, ``testing/postgres.py``). N authenticated sockets (``bench.fleet_client``) reconnect
as the htmx ws extension does; ``bench.fleet_trigger`` calls notify() for one random user of them at
``--rate`` per second for the whole run. Faults, one at a time, each kind in turn in a random order (every kind
once before any comes again; ``--in-order``: as listed), ``--every`` seconds apart (uniformly drawn), none in
the last ``--tail`` s; with ``--min-faults`` the run goes on past ``--minutes`` until it has that many:

- ``kill-server``: SIGKILL s1 or s2 (at random), start it again on its port at once;
- ``restart-redis``: stop Redis (SIGTERM; it keeps no data), start it again after ``--redis-down`` seconds
  (drawn); with ``--sentinel`` the current master (down longer than the sentinels' 1 s, it is failed over too);
- ``stop-redis``: SIGSTOP Redis (with ``--sentinel`` the current master) for ``--pause`` seconds, then SIGCONT;
- ``failover`` (``--sentinel``): SIGKILL the master, wait for the sentinels to promote the replica, start the
  killed server again as its replica;
- ``restart-postgres`` (``--postgres``): restart the database server.

Definitions (every time is CLOCK_MONOTONIC, shared by the processes of the machine):

- **tab**: one per user: its socket and every socket it reconnected as. **seen**: the first text frame of any
  of the tab's sockets, new-item or state frame, that carries the notification's stamp (``BENCH ... s=<seq>``).
- **stored**: the moment notify() returned for it (the row is committed by then); only notifications found in
  the database at the end count (a notify() that raised and stored nothing is not expected anywhere).
- **stale**: a tab is stale from the moment a notification for its user is stored until the tab has seen it.
  Overlapping intervals of one tab join into one *stale spell*; a notification never seen leaves its tab stale
  until the end. **Stale > 15 s**: the tabs with a spell longer than 15 s (goal: 0).
- A spell belongs to the last fault that started no later than 1 s after the spell began (a notification in
  flight when the fault struck is the fault's); spells before the first fault are the "no fault" row.
- **converged** (per fault): seconds from the fault's start until every tab whose socket dropped since then
  (before the next fault) has a socket open again, and every spell longer than 1 s that belongs to the fault
  has ended; "never" if one had not by the end. **Worst stale spell**: the longest spell belonging to it.
- **missing**: stored and never seen by the tab when the run ended (``--final-wait`` s after the last call).
- **bar = database**: at the end, each tab's open socket has shown (in its state frame or a new-item frame
  since) every one of its user's latest ``BAR_SIZE`` stored notifications, by primary key, and every
  notification stored for the user has been seen by the tab.
- **RSS drift**: per server process, its RSS at its first sample at least 30 s after start (or after the first
  connect) against its last sample; a killed process's figures end at its kill.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil
import redis

from testing.processes import wait_for_port

from .common import PY, ROOT, Redis, Worker, django_env, free_port, setup_db
from .rolling import HAProxy, haproxy_version
from .servers import ServerProcess, code_hash, fmt, git_state, load, log_summary, uvicorn_args

RESULTS = ROOT / "bench" / "results"
KINDS = ("kill-server", "restart-redis", "stop-redis", "failover", "restart-postgres")
#: The bar's size (conf "BAR_SIZE" default): a state frame shows a user's latest this many notifications.
BAR_SIZE = 10
STALE_LIMIT = 15.0
#: A spell up to this long is ordinary delivery, not a fault's doing (for "converged").
LATE = 1.0
SEQ_RE = re.compile(r"BENCH t=\d+\.\d+ s=(\d+)")

DUMP = """
import django, json
django.setup()
from notifications.models import Notification
rows = Notification.objects.order_by("pk").values_list("pk", "recipient_id", "message")
print(json.dumps([list(r) for r in rows]))
"""


# -- The client worker: bench.fleet_client plus the first time each tab saw each stamp ----------------------


def client_worker() -> None:
    """``python -m bench.chaos client``: bench.fleet_client's worker, recording per tab when each stamp was first
    seen, and when each socket opened and closed."""
    import picows
    import uvloop

    from . import fleet_client as fc
    from . import loadgen as lg

    first: dict[tuple[int, int], tuple[float, str, str]] = {}  # (uid, seq) -> (time, frame kind, backend)
    events: list[list[Any]] = []  # [t, uid, "open" | "close", backend, close code]

    on_frame, on_connected, on_disconnected = (
        fc.FleetClient.on_ws_frame,
        fc.FleetClient.on_ws_connected,
        fc.FleetClient.on_ws_disconnected,
    )

    def frame(self: Any, transport: Any, frame: Any) -> None:
        if frame.msg_type == picows.WSMsgType.TEXT:
            now = time.monotonic()
            data = frame.get_payload_as_bytes()
            kind = "new" if lg.NEW_MARK in data else "state"
            for m in lg.STAMP.finditer(data):
                first.setdefault((self.uid, int(m.group(2))), (now, kind, self.backend))
        on_frame(self, transport, frame)

    def connected(self: Any, transport: Any) -> None:
        on_connected(self, transport)
        events.append([time.monotonic(), self.uid, "open", self.backend, None])

    def disconnected(self: Any, transport: Any) -> None:
        if not self.closing and self.open:
            code = self.close_code if self.close_code is not None else 1006
            events.append([time.monotonic(), self.uid, "close", self.backend, code])
        on_disconnected(self, transport)

    fc.FleetClient.on_ws_frame = frame
    fc.FleetClient.on_ws_connected = connected
    fc.FleetClient.on_ws_disconnected = disconnected

    async def data(cmd: dict[str, Any]) -> dict[str, Any]:
        """First-seen times, socket events, and per tab the item ids its newest open socket has shown."""
        newest: dict[int, Any] = {}
        for c in fc.SOCKETS:
            if c.open and (c.uid not in newest or c.opened > newest[c.uid].opened):
                newest[c.uid] = c
        return {
            "first": [[uid, seq, *seen] for (uid, seq), seen in first.items()],
            "events": events,
            "bars": {str(uid): sorted(c.ids) for uid, c in newest.items()},
            "ids": {str(uid): sorted(ids) for uid, ids in lg.IDS.items()},
        }

    async def unseen(cmd: dict[str, Any]) -> dict[str, Any]:
        """How many of ``expected`` ([[uid, seq], ...]) no tab has seen yet."""
        return {"missing": sum((uid, seq) not in first for uid, seq in cmd["expected"])}

    lg.COMMANDS.update({"chaos_data": data, "chaos_unseen": unseen})
    uvloop.run(lg.main())


# -- Redis, plain or Sentinel-managed ----------------------------------------------------------------------


def redis_pid(port: int) -> int:
    """The pid of the redis-server listening on ``port`` (it rewrites its command line: found by its socket)."""
    for p in psutil.process_iter(["name"]):
        if p.info["name"] != "redis-server":
            continue
        with contextlib.suppress(psutil.Error):
            if any(c.laddr.port == port and c.status == psutil.CONN_LISTEN for c in p.net_connections("tcp")):
                return p.pid
    raise RuntimeError(f"no redis-server on port {port}")


def pause(pid: int, seconds: float) -> None:
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)


class PlainRedis:
    """One private redis-server (bench.common.Redis), restarted on its port."""

    def __init__(self, work: Path) -> None:
        self.server = Redis(work)
        self.url = self.server.url

    def env(self) -> dict[str, str]:
        return {}

    def restart(self, down: float) -> dict[str, Any]:
        self.server.stop()
        time.sleep(down)
        self.server.start()
        return {"down_s": round(down, 2)}

    def stop_for(self, seconds: float) -> dict[str, Any]:
        assert self.server.proc is not None
        pause(self.server.proc.pid, seconds)
        return {"stopped_s": seconds}

    def failover(self) -> dict[str, Any]:
        raise RuntimeError("failover needs --sentinel")

    def close(self) -> None:
        self.server.stop()


class SentinelRedis:
    """testing/sentinel.py's cluster. A restart of the master is done here (the cluster has no call for it): its
    process is stopped and started again with the same arguments, as a master (no ``--replicaof``)."""

    def __init__(self, work: Path) -> None:
        from testing.sentinel import SentinelCluster

        self.logs = work
        self.cluster = SentinelCluster(log=work)
        self.cluster.start()
        self.restarted: dict[int, subprocess.Popen[bytes]] = {}  # port -> the process started here
        self.url = ""

    def env(self) -> dict[str, str]:
        entry = self.cluster.host_entry()
        return {
            "REDIS_SENTINELS": ",".join(f"{h}:{p}" for h, p in entry["sentinels"]),
            "REDIS_MASTER_NAME": entry["master_name"],
        }

    def restart(self, down: float) -> dict[str, Any]:
        host, port = self.cluster.master_address()
        with redis.Redis(host, port, socket_timeout=2) as r:
            folder = r.config_get("dir")["dir"]
        proc = psutil.Process(redis_pid(port))
        proc.terminate()
        proc.wait(10)
        time.sleep(down)
        old = self.restarted.pop(port, None)
        if old is not None:
            old.wait(5)
        # As the cluster starts its servers, as a master: the one the sentinels name (it comes back empty).
        argv = ["redis-server", "--port", str(port), "--bind", host, "--save", "", "--appendonly", "no"]
        with (self.logs / f"redis-{port}.log").open("ab") as out:
            self.restarted[port] = subprocess.Popen([*argv, "--dir", folder], stdout=out, stderr=subprocess.STDOUT)
        wait_for_port(port, proc=self.restarted[port])
        return {"down_s": round(down, 2), "master": port}

    def stop_for(self, seconds: float) -> dict[str, Any]:
        _, port = self.cluster.master_address()
        pause(redis_pid(port), seconds)
        return {"stopped_s": seconds, "master": port}

    def failover(self) -> dict[str, Any]:
        t0 = time.monotonic()
        _, port = self.cluster.master_address()
        mine = self.restarted.pop(port, None)
        if mine is not None:  # started here by a restart: the cluster's own handle is of the old process
            mine.kill()
            mine.wait(5)
        old = self.cluster.kill_master()
        new = self.cluster.wait_for_failover(timeout=30)
        promoted = time.monotonic() - t0
        self.cluster.revive()
        return {"killed": old[1], "promoted": new[1], "promoted_s": round(promoted, 2)}

    def close(self) -> None:
        for proc in self.restarted.values():
            proc.terminate()
            proc.wait(10)
        self.cluster.stop()


# -- The run --------------------------------------------------------------------------------------------------


class Deployment:
    """Redis, the database, s1 and s2, HAProxy; the faults."""

    def __init__(self, work: Path, opts: argparse.Namespace) -> None:
        self.work, self.opts = work, opts
        self.closers: list[Any] = []
        self.redis: PlainRedis | SentinelRedis | None = None
        self.pg: Any = None
        self.env: dict[str, str] = {}
        self.ports = {"s1": free_port(), "s2": free_port()}
        self.servers: dict[str, ServerProcess] = {}
        self.proxy: HAProxy | None = None

    def start_stores(self) -> None:
        """Redis (or the Sentinel cluster) and the database server; the servers' environment."""
        self.redis = SentinelRedis(self.work) if self.opts.sentinel else PlainRedis(self.work)
        self.closers.append(self.redis.close)
        self.env = django_env(self.work, self.redis.url, "pubsub")
        self.env.update(self.redis.env())
        if self.opts.postgres:
            from testing.postgres import PostgresServer

            self.pg = PostgresServer()
            self.closers.append(self.pg.close)
            self.pg.start()
            self.env["DATABASE_URL"] = self.pg.url

    def start(self) -> None:
        self.servers = {label: self.make(label) for label in self.ports}
        self.proxy = HAProxy(self.work, self.ports["s1"], self.ports["s2"], "leastconn", self.opts.clients * 2 + 1000)

    def make(self, label: str) -> ServerProcess:
        port = self.ports[label]
        cpu = {"s1": "0", "s2": "1"}[label]
        return ServerProcess("uvicorn", port, self.env, self.log(label), cpu=cpu, args=uvicorn_args(port))

    def log(self, label: str) -> Path:
        return self.work / f"server-{label}.log"

    def mark(self, text: str) -> None:
        """A line in each server's log, so what a server logged can be placed among the faults."""
        for label in self.ports:
            with self.log(label).open("a") as f:
                f.write(f"=== chaos t={time.monotonic():.3f} ({time.strftime('%H:%M:%S')}): {text}\n")

    def fault(self, kind: str, rng: random.Random) -> dict[str, Any]:
        o = self.opts
        if kind == "kill-server":
            label = rng.choice(sorted(self.servers))
            server = self.servers[label]
            for p in server.ps.procs()[::-1]:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            server.proc.wait(10)
            server.stop()
            t = time.monotonic()
            self.servers[label] = self.make(label)
            return {"process": label, "start_s": round(time.monotonic() - t, 2)}
        assert self.redis is not None
        if kind == "restart-redis":
            return self.redis.restart(rng.uniform(*o.redis_down))
        if kind == "stop-redis":
            return self.redis.stop_for(o.pause)
        if kind == "failover":
            return self.redis.failover()
        if kind == "restart-postgres":
            down = rng.uniform(*o.pg_down)
            self.pg.restart(down=down)
            return {"down_s": round(down, 2)}
        raise ValueError(kind)

    def rss(self) -> dict[str, list[int]]:
        out = {}
        for label, s in self.servers.items():
            with contextlib.suppress(psutil.Error):
                out[label] = [s.proc.pid, s.rss()]
        return out

    def close(self) -> None:
        for s in self.servers.values():
            s.stop()
        if self.proxy is not None:
            self.proxy.stop()
        for close in reversed(self.closers):
            with contextlib.suppress(Exception):
                close()


def schedule(kinds: list[str], rng: random.Random, shuffle: bool = True) -> Any:
    """The kinds in a random order (``shuffle``; else as given), every kind once before any comes again."""
    while True:
        batch = list(kinds)
        if shuffle:
            rng.shuffle(batch)
        yield from batch


def stored_rows(env: dict[str, str]) -> list[list[Any]]:
    out = subprocess.run([PY, "-c", DUMP], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise RuntimeError(f"reading the database: {out.stderr[-800:]}")
    return json.loads(out.stdout.splitlines()[-1])


def run(opts: argparse.Namespace) -> dict[str, Any]:
    """The soak; returns the raw figures (``analyse`` turns them into the report's)."""
    work = Path(tempfile.mkdtemp(prefix="nbchaos-"))
    print(f"work dir {work}", flush=True)
    rng = random.Random(opts.seed)
    kinds = [k for k in opts.faults.split(",") if k]
    if "failover" in kinds and not opts.sentinel:
        raise SystemExit("failover needs --sentinel")
    if "restart-postgres" in kinds and not opts.postgres:
        raise SystemExit("restart-postgres needs --postgres")
    t_begin = time.monotonic()
    dep = Deployment(work, opts)
    workers: list[Worker] = []
    out: dict[str, Any] = {"work": str(work), "code": code_hash(), "load_before": load()}
    try:
        dep.start_stores()
        cookies = json.loads(setup_db(work, "", opts.clients + 1, env=dep.env).read_text())
        clients, outsider = cookies[: opts.clients], cookies[opts.clients]["uid"]
        uids = [c["uid"] for c in clients]
        dep.start()
        assert dep.proxy is not None
        trigger = Worker([PY, "-m", "bench.trigger", "product"], dep.env, work / "trigger.log", cpu="0,1")
        workers.append(trigger)
        fleet = Worker([PY, "-m", "bench.fleet_trigger"], dep.env, work / "fleet_trigger.log", cpu="0,1")
        workers.append(fleet)
        client = Worker([PY, "-m", "bench.chaos", "client"], dep.env, work / "client.log", cpu="0,1")
        workers.append(client)
        trigger.call("reset", active=uids)
        fleet.call("seq", start=70_000_000)
        fleet.call("warm", uid=outsider)
        mode = {"product": True, "collect_ids": True, "reconnect": "htmx", "other_cap": opts.other_cap}
        client.call("configure", mode=mode, clear=True)
        conn = client.call(
            "connect",
            url=f"ws://127.0.0.1:{dep.proxy.port}/ws/notifications/",
            origin=f"http://127.0.0.1:{dep.proxy.port}",
            clients=clients,
            first_frame=True,
            concurrency=100,
            timeout=opts.handshake_timeout,
        )
        out["connect"] = {k: conn[k] for k in ("ok", "failed", "failures_sample", "rate", "backends")}
        print(f"connected {conn['ok']} of {len(clients)} ({fmt(conn['rate'], 0)}/s)", flush=True)
        if conn["failed"]:
            raise RuntimeError(f"initial connect: {conn['failed']} failed: {conn['failures_sample']}")
        fleet.call("steady_start", pool=uids, rate=opts.rate)
        t_start = time.monotonic()
        end = t_start + opts.minutes * 60
        faults: list[dict[str, Any]] = []
        rss: list[list[Any]] = []  # [t, label, pid, rss, sockets on it]
        order = schedule(kinds, rng, shuffle=not opts.in_order)
        next_fault = t_start + rng.uniform(*opts.every)
        last_sample = 0.0
        while True:
            now = time.monotonic()
            wanted = len(faults) < opts.min_faults  # the run goes on past --minutes until it has them
            if not wanted and now >= max(end, faults[-1]["done"] + opts.tail if faults else end):
                break
            if now - last_sample >= opts.sample:
                last_sample = now
                backends = client.call("where")["backends"]
                for label, (pid, value) in dep.rss().items():
                    rss.append([now, label, pid, value, backends.get(label, 0)])
            if now >= next_fault and (wanted or now + opts.tail <= end):
                kind = next(order)
                dep.mark(f"{kind} starts")
                t_fault = time.monotonic()
                detail = dep.fault(kind, rng)
                t_done = time.monotonic()
                dep.mark(f"{kind} done: {json.dumps(detail)}")
                faults.append({"kind": kind, "t": t_fault, "done": t_done, **detail})
                print(f"{t_fault - t_start:6.1f}s {kind} ({t_done - t_fault:.1f}s) {json.dumps(detail)}", flush=True)
                next_fault = t_fault + rng.uniform(*opts.every)
                continue
            time.sleep(min(0.5, max(0.0, next_fault - now)) or 0.2)
        stop = fleet.call("steady_stop")
        t_last = time.monotonic()
        out["steady"] = {"sent": len(stop["log"]), "errors": stop["errors"], "late": stop["late"]}
        # Until every stored notification is seen, or --final-wait s.
        rows = stored_rows(dep.env)
        expected = [[uid, int(m.group(1))] for _, uid, msg in rows if (m := SEQ_RE.search(msg))]
        while True:
            left = client.call("chaos_unseen", expected=expected)["missing"]
            if not left or time.monotonic() - t_last > opts.final_wait:
                break
            time.sleep(1)
        t_end = time.monotonic()
        backends = client.call("where")["backends"]
        for label, (pid, value) in dep.rss().items():
            rss.append([t_end, label, pid, value, backends.get(label, 0)])
        out.update(
            {
                "t_begin": t_begin,
                "t_start": t_start,
                "t_last_call": t_last,
                "t_end": t_end,
                "faults": faults,
                "log": stop["log"],
                "rows": rows,
                "client": client.call("chaos_data"),
                "fleet": {k: v for k, v in client.call("fleet").items() if k not in ("drops", "now")},
                "rss": rss,
                "server_logs": {label: log_summary(dep.log(label), top=8) for label in dep.ports},
                "server_errors": {label: error_lines(dep.log(label)) for label in dep.ports},
                "load_after": load(),
            }
        )
        client.call("close")
    finally:
        for w in workers:
            w.stop()
        dep.close()
    (work / "raw.json").write_text(json.dumps(out))  # everything, for a second look (analyse(raw))
    return out


def error_lines(path: Path, limit: int = 12) -> list[str]:
    """Lines of a server log that say something went wrong, each with the last chaos mark before it."""
    out, mark = [], ""
    for line in path.read_text("utf-8", "replace").splitlines() if path.exists() else []:
        if line.startswith("=== chaos"):
            mark = line[4:]
        elif re.search(r"Traceback|ERROR|WARNING|Error|CRITICAL", line) and len(out) < limit:
            out.append(f"[{mark}] {line.strip()[:300]}")
    return out


# -- The figures ------------------------------------------------------------------------------------------------


def rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 2)


def spells(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping [start, end] intervals joined."""
    out: list[tuple[float, float]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def analyse(raw: dict[str, Any]) -> dict[str, Any]:
    faults, t_end = raw["faults"], raw["t_end"]
    sent = {(uid, seq): t + call for seq, uid, t, call in raw["log"]}  # stored = notify() returned
    rows = raw["rows"]
    stored: dict[tuple[int, int], float] = {}
    for _, uid, msg in rows:
        m = SEQ_RE.search(msg)
        if m and (uid, int(m.group(1))) in sent:
            stored[(uid, int(m.group(1)))] = sent[(uid, int(m.group(1)))]
    first = {(uid, seq): t for uid, seq, t, _, _ in raw["client"]["first"]}
    how = {(uid, seq): f"{kind} frame via {backend}" for uid, seq, _, kind, backend in raw["client"]["first"]}
    missing = [k for k in stored if k not in first]
    phantom = [k for k in first if k in sent and k not in stored]  # seen, but not in the database

    per_tab: dict[int, list[tuple[float, float]]] = defaultdict(list)
    notes: dict[int, list[tuple[int, float]]] = defaultdict(list)  # per tab: (seq, stored)
    for key, t in stored.items():
        per_tab[key[0]].append((t, first.get(key, t_end)))
        notes[key[0]].append((key[1], t))
    starts = [f["t"] for f in faults]

    def owner(t: float) -> int:
        """Index of the fault a spell starting at ``t`` belongs to (-1: before the first)."""
        i = -1
        for j, s in enumerate(starts):
            if s <= t + LATE:
                i = j
        return i

    by_fault: dict[int, list[tuple[int, float, float]]] = defaultdict(list)  # fault -> (uid, start, end)
    for uid, ivs in per_tab.items():
        for s, e in spells(ivs):
            by_fault[owner(s)].append((uid, s, e))
    unseen_tabs = {k[0] for k in missing}

    # Sockets: each drop and the next open of the same tab.
    opens: dict[int, list[float]] = defaultdict(list)
    drops: list[tuple[float, int, int]] = []
    for t, uid, what, _, code in raw["client"]["events"]:
        if what == "open":
            opens[uid].append(t)
        else:
            drops.append((t, uid, code))

    def reopened(uid: int, t: float) -> float | None:
        return next((o for o in sorted(opens[uid]) if o >= t), None)

    rows_out = []
    for i, f in enumerate([None, *faults]):
        idx = i - 1
        t0 = f["t"] if f else raw["t_start"]
        t1 = starts[idx + 1] if idx + 1 < len(starts) else t_end
        sp = by_fault.get(idx, [])
        never = any(e >= t_end and (uid in unseen_tabs) for uid, _, e in sp)
        late_ends = [e for _, s, e in sp if e - s > LATE]
        sample = [
            {
                "tab": uid,
                "notifications": [
                    [seq, round(ts - t0, 2), rel(first.get((uid, seq)), t0), how.get((uid, seq), "never seen")]
                    for seq, ts in sorted(notes[uid])
                    if s <= ts <= e
                ],
            }
            for uid, s, e in sp
            if e - s > STALE_LIMIT
        ][:5]
        mine = [(t, uid, code) for t, uid, code in drops if t0 <= t < t1] if f else []
        back = [reopened(uid, t) for t, uid, _ in mine]
        codes: dict[str, int] = defaultdict(int)
        for _, _, code in mine:
            codes[str(code)] += 1
        conv: float | None = None
        if not never and None not in back:
            conv = max([0.0, *(e - t0 for e in late_ends), *(b - t0 for b in back if b is not None)])
        rows_out.append(
            {
                "kind": f["kind"] if f else "no fault",
                "t": t0 - raw["t_start"],
                "detail": {k: v for k, v in f.items() if k not in ("kind", "t", "done")} if f else {},
                "fault_s": (f["done"] - f["t"]) if f else 0.0,
                "notifications": sum(1 for k, t in stored.items() if t0 - LATE <= t < t1),
                "dropped": len(mine),
                "close_codes": dict(codes),
                "back_s": max((b - t0 for b in back if b is not None), default=None) if None not in back else None,
                "converged_s": conv,
                "worst_spell_s": max((e - s for _, s, e in sp), default=0.0),
                "stale_tabs": sorted({uid for uid, s, e in sp if e - s > STALE_LIMIT}),
                "missing": sum(1 for uid, s, e in sp if e >= t_end and uid in unseen_tabs),
                "stale_sample": sample,  # [seq, stored, seen (s after the fault's start), how it was seen]
            }
        )

    # The bar at the end against the database.
    latest: dict[int, list[int]] = defaultdict(list)
    for pk, uid, _ in rows:
        latest[uid].append(pk)
    bars = {int(k): set(v) for k, v in raw["client"]["bars"].items()}
    ids = {int(k): set(v) for k, v in raw["client"]["ids"].items()}
    tabs = {uid for uid, _ in stored} | set(bars)
    no_socket = sorted(uid for uid in latest if uid not in bars and uid in tabs)
    bar_differs = sorted(uid for uid, pks in latest.items() if uid in bars and not set(pks[-BAR_SIZE:]) <= bars[uid])
    pk_unseen = sum(len(set(pks) - ids.get(uid, set())) for uid, pks in latest.items() if uid in tabs)

    kinds: dict[str, dict[str, Any]] = {}
    for r in rows_out:
        k = kinds.setdefault(
            r["kind"],
            {"faults": 0, "worst_converged_s": 0.0, "never": 0, "worst_spell_s": 0.0, "stale": set(), "missing": 0},
        )
        k["faults"] += r["kind"] != "no fault"
        if r["converged_s"] is None:
            k["never"] += 1
        else:
            k["worst_converged_s"] = max(k["worst_converged_s"], r["converged_s"])
        k["worst_spell_s"] = max(k["worst_spell_s"], r["worst_spell_s"])
        k["stale"] |= set(r["stale_tabs"])
        k["missing"] += r["missing"]
    for k in kinds.values():
        k["stale_tabs"] = len(k.pop("stale"))

    return {
        "stored": len(stored),
        "sent": len(sent),
        "missing": len(missing),
        "missing_sample": [list(k) for k in missing[:10]],
        "phantom": len(phantom),
        "pk_unseen": pk_unseen,
        "stale_tabs": len({uid for r in rows_out for uid in r["stale_tabs"]}),
        "no_socket": no_socket,
        "bar_differs": bar_differs,
        "faults": rows_out,
        "kinds": kinds,
        "rss": rss_drift(raw),
    }


def rss_drift(raw: dict[str, Any]) -> list[dict[str, Any]]:
    by_pid: dict[int, list[list[Any]]] = defaultdict(list)
    for t, label, pid, value, sockets in raw["rss"]:
        by_pid[pid].append([t, label, value, sockets])
    out = []
    for pid, samples in by_pid.items():
        born = samples[0][0]
        base = next((s for s in samples if s[0] - born >= 30), None) if born > raw["t_start"] + 1 else samples[0]
        last = samples[-1]
        out.append(
            {
                "label": samples[0][1],
                "pid": pid,
                "from_s": (born - raw["t_start"]),
                "lived_s": last[0] - born,
                "base_mb": None if base is None else base[2] / 2**20,
                "base_sockets": None if base is None else base[3],
                "last_mb": last[2] / 2**20,
                "last_sockets": last[3],
                "max_mb": max(s[2] for s in samples) / 2**20,
                "drift_mb": None if base is None else (last[2] - base[2]) / 2**20,
            }
        )
    return out


def passed(report: dict[str, Any]) -> bool:
    return not (
        report["missing"]
        or report["stale_tabs"]
        or report["no_socket"]
        or report["bar_differs"]
        or report["phantom"]
        or any(r["converged_s"] is None for r in report["faults"])
    )


# -- The markdown ---------------------------------------------------------------------------------------------


def write_md(raw: dict[str, Any], rep: dict[str, Any], opts: argparse.Namespace, path: Path, command: str) -> None:
    commit, dirty = git_state()
    secs = lambda x: "never" if x is None else f"{x:.1f}"  # noqa: E731
    lines = [
        "# Chaos soak",
        "",
        "Command (from the repository root):",
        "",
        "```sh",
        command,
        "```",
        "",
        f"Product code `{commit}` plus {dirty} uncommitted files (code digest `{raw['code']}`); "
        f"{haproxy_version()}. Redis: {'Sentinel (1 master, 1 replica, 3 sentinels)' if opts.sentinel else 'one '}"
        f"{'' if opts.sentinel else 'private redis-server'}; database: "
        f"{'private PostgreSQL' if opts.postgres else 'SQLite (WAL)'}. Machine: 2 cores shared with other "
        f"engineers' work; load average before / after {raw['load_before']} / {raw['load_after']}. "
        f"{opts.clients:,} sockets, notify() to one random user at {opts.rate:g}/s for {opts.minutes:g} min, a "
        f"fault every {opts.every[0]:g}-{opts.every[1]:g} s (seed {opts.seed}). Setup and every definition: the "
        "docstring of `bench/chaos.py`.",
        "",
        f"**Overall: {'pass' if passed(rep) else 'FAIL'}**: {rep['stored']:,} notifications stored "
        f"({rep['sent']:,} notify() calls, {raw['steady']['errors']} raised); **missing {rep['missing']}**; "
        f"**tabs ever stale > {STALE_LIMIT:g} s: {rep['stale_tabs']}**; tabs without an open socket at the end: "
        f"{len(rep['no_socket'])}; tabs whose bar at the end lacks one of its user's latest {BAR_SIZE} stored "
        f"items: {len(rep['bar_differs'])}; stored items (by primary key) a tab never showed: {rep['pk_unseen']}; "
        f"frames for notifications the database does not hold: {rep['phantom']}.",
        "",
        "## Per fault kind",
        "",
        "Worst converged: the longest, over the faults of that kind, from the fault's start until every tab that "
        "lost its socket had one again and every stale spell longer than 1 s it caused had ended. Worst stale "
        "spell: the longest time any tab waited for a notification (from notify() returning to the first frame "
        "with it) in those faults' windows. Stale > 15 s: distinct tabs with a spell longer than 15 s.",
        "",
        "| fault | count | worst converged s | never converged | worst stale spell s | tabs stale > 15 s | missing |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in ["no fault", *KINDS]:
        k = rep["kinds"].get(kind)
        if k is None:
            continue
        lines.append(
            f"| {kind} | {k['faults'] if kind != 'no fault' else '-'} | {k['worst_converged_s']:.1f} | {k['never']} "
            f"| {k['worst_spell_s']:.1f} | {k['stale_tabs']} | {k['missing']} |"
        )
    lines += [
        "",
        "## Every fault",
        "",
        "t: seconds since notifications began. Fault s: how long the fault itself took (a restart until the "
        "process listened again, a failover until the replica was promoted and the old master back as its "
        "replica). Dropped: sockets the servers closed or lost in the window (close codes); back: all of them "
        "open again (s after the fault's start).",
        "",
        "| t | fault | detail | fault s | notifications in window | dropped (codes) | back s | converged s "
        "| worst stale spell s | tabs stale > 15 s | missing |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rep["faults"]:
        codes = ", ".join(f"{c}: {n}" for c, n in sorted(r["close_codes"].items()))
        detail = ", ".join(f"{k} {v}" for k, v in r["detail"].items())
        lines.append(
            f"| {r['t']:.0f} | {r['kind']} | {detail} | {r['fault_s']:.1f} | {r['notifications']} "
            f"| {r['dropped']}{f' ({codes})' if codes else ''} | {secs(r['back_s']) if r['dropped'] else '-'} "
            f"| {secs(r['converged_s'])} | {r['worst_spell_s']:.1f} | {len(r['stale_tabs'])} | {r['missing']} |"
        )
    stale = [(r, x) for r in rep["faults"] for x in r["stale_sample"]]
    if stale:
        lines += ["", "## Tabs stale > 15 s (up to 5 per fault)", "", "Times in s after the fault's start.", ""]
        for r, x in stale:
            notes = "; ".join(
                f"s={seq} stored {st:+.1f}, " + (f"seen {seen:+.1f} ({how})" if seen is not None else "never seen")
                for seq, st, seen, how in x["notifications"]
            )
            lines.append(f"- {r['kind']} at t={r['t']:.0f}, tab {x['tab']}: {notes}")
    lines += [
        "",
        "## Server RSS",
        "",
        "Per server process (a SIGKILLed one is replaced by a new process on the same port). Base: the first "
        "sample at least 30 s after the process started (the first processes: just after every socket "
        "connected); drift = last - base. Sockets held change as tabs move between the processes.",
        "",
        "| process | pid | from t s | lived s | base MiB (sockets) | last MiB (sockets) | max MiB | drift MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in rep["rss"]:
        lines.append(
            f"| {p['label']} | {p['pid']} | {p['from_s']:.0f} | {p['lived_s']:.0f} "
            f"| {fmt(p['base_mb'])} ({p['base_sockets']}) | {p['last_mb']:.1f} ({p['last_sockets']}) "
            f"| {p['max_mb']:.1f} | {fmt(p['drift_mb'])} |"
        )
    lines += ["", "## What the servers logged (most frequent lines, numbers as #)", ""]
    for label, top in raw["server_logs"].items():
        for count, text in top:
            lines.append(f"- {label}: {count} x `{text}`")
    lines += ["", f"Reconnects (whole run): {json.dumps(raw['fleet'])}", ""]
    path.write_text("\n".join(lines))


def span(text: str) -> tuple[float, float]:
    a, _, b = text.partition(":")
    return float(a), float(b or a)


def options(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--rate", type=float, default=20, help="notify() calls per second, one random user each")
    p.add_argument("--every", type=span, default=(30.0, 60.0), help="seconds between faults, A:B (drawn)")
    p.add_argument("--faults", default="", help="comma-separated kinds (default: every kind the setup allows)")
    p.add_argument("--in-order", action="store_true", help="the faults in --faults' order (to reproduce a finding)")
    p.add_argument("--sentinel", action="store_true", help="Redis through three sentinels (testing/sentinel.py)")
    p.add_argument("--postgres", action="store_true", help="a private PostgreSQL (testing/postgres.py)")
    p.add_argument("--redis-down", type=span, default=(0.0, 3.0), help="seconds Redis stays down, A:B (drawn)")
    p.add_argument("--pg-down", type=span, default=(0.0, 3.0), help="seconds PostgreSQL stays down, A:B (drawn)")
    p.add_argument("--pause", type=float, default=3.0, help="seconds Redis stays SIGSTOPped")
    p.add_argument("--tail", type=float, default=20, help="no fault starts in the last this many seconds")
    p.add_argument("--min-faults", type=int, default=0, help="go on past --minutes until this many faults ran")
    p.add_argument("--final-wait", type=float, default=30, help="seconds to wait for stragglers at the end")
    p.add_argument("--sample", type=float, default=5, help="seconds between RSS samples")
    p.add_argument("--handshake-timeout", type=float, default=30)
    p.add_argument("--other-cap", type=float, default=10, help="back-off cap (s) after codes htmx gives up on")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--out", default=str(RESULTS))
    opts = p.parse_args(argv)
    if opts.seed is None:
        opts.seed = random.randrange(1_000_000)
    if not opts.faults:
        allowed = ["kill-server", "restart-redis", "stop-redis"]
        allowed += ["failover"] if opts.sentinel else []
        allowed += ["restart-postgres"] if opts.postgres else []
        opts.faults = ",".join(allowed)
    return opts


def main() -> None:
    if sys.argv[1:2] == ["client"]:
        client_worker()
        return
    opts = options()
    if haproxy_version() is None:
        sys.exit("haproxy is not installed (apt-get install haproxy)")
    outdir = Path(opts.out)
    outdir.mkdir(parents=True, exist_ok=True)
    raw = run(opts)
    rep = analyse(raw)
    command = f".venv/bin/python -m bench.chaos {' '.join(sys.argv[1:])}".strip()
    with (outdir / "chaos.jsonl").open("a") as f:
        f.write(json.dumps({"command": command, "seed": opts.seed, "report": rep, "faults": raw["faults"]}) + "\n")
    write_md(raw, rep, opts, outdir / "chaos.md", command)
    summary = {k: rep[k] for k in ("stored", "missing", "stale_tabs", "phantom", "pk_unseen", "kinds")}
    print(json.dumps({**summary, "no_socket": len(rep["no_socket"]), "bar_differs": len(rep["bar_differs"])}))
    print(f"wrote {outdir / 'chaos.md'}: {'pass' if passed(rep) else 'FAIL'}", flush=True)


if __name__ == "__main__":
    main()
