"""Profile S under load with py-spy: ``python -m bench.profile [--layer pubsub] [--n 1000]``.

Starts a private redis, the product on daphne (core 0), 1,000 clients and the trigger (core 1), then records
the server and the trigger with py-spy (collapsed stacks, ``--idle`` for the trigger so waits show) during
(a) per-user pushes at a steady rate and (b) repeated notify_all broadcasts. Writes
``bench/results/profile-<phase>-<process>.txt`` (collapsed stacks) and prints the top frames.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from .__main__ import RESULTS, VARIANTS, server_args
from .common import PY, Redis, Server, Worker, django_env, free_port, setup_db


def spy(pid: int, seconds: float, out: Path, idle: bool = False) -> subprocess.Popen[bytes]:
    args = [
        str(Path(PY).parent / "py-spy"),
        "record",
        "-p",
        str(pid),
        "-d",
        str(int(seconds)),
        "-r",
        "250",
        "-f",
        "raw",
        "-o",
        str(out),
        "--nonblocking",
    ]
    if idle:
        args.append("--idle")
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top(path: Path, k: int = 25) -> str:
    """Inclusive share per frame (function + file), and self share per leaf frame."""
    incl: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        count = int(n)
        total += count
        frames = stack.split(";")
        for f in set(frames):
            incl[f] += count
        leaf[frames[-1]] += count
    out = [f"{path.name}: {total} samples", "  inclusive:"]
    out += [f"    {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(k)]
    out += ["  self:"] + [f"    {100 * c / total:5.1f}%  {f}" for f, c in leaf.most_common(k)]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--variant", default="S-pubsub")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--rate", type=int, default=800)
    p.add_argument("--seconds", type=int, default=12)
    opts = p.parse_args()
    variant = VARIANTS[opts.variant]
    work = Path(tempfile.mkdtemp(prefix="nbprof-"))
    redis = Redis(work)
    cleanup: list = []
    try:
        cookies = json.loads(setup_db(work, redis.url, opts.n).read_text())
        env = django_env(work, redis.url, variant["layer"])
        port = free_port()
        server = Server(server_args(variant, port), env, port, work / "server.log")
        cleanup.append(server)
        trigger = Worker([PY, "-m", "bench.trigger", "product"], env, work / "trigger.log")
        loadgen = Worker([PY, "-m", "bench.loadgen"], env, work / "loadgen.log")
        cleanup += [trigger, loadgen]
        uids = [c["uid"] for c in cookies]
        trigger.call("reset", active=uids)
        loadgen.call("configure", mode={"product": True})
        print(
            loadgen.call(
                "connect",
                url=f"ws://127.0.0.1:{port}/ws/notifications/",
                origin=f"http://127.0.0.1:{port}",
                clients=cookies,
                first_frame=True,
            )
        )
        tag = f"{opts.variant}-{opts.n}"
        outs = []
        # (a) per-user pushes, batches of rate/20 users every 50 ms, and single-user pushes.
        for phase, kw in (("peruser", {"rate": opts.rate, "tick": 0.05}), ("single", {"rate": 50, "tick": 0.02})):
            s_out, t_out = RESULTS / f"profile-{tag}-{phase}-server.txt", RESULTS / f"profile-{tag}-{phase}-trigger.txt"
            spies = [spy(server.proc.pid, opts.seconds, s_out), spy(trigger.proc.pid, opts.seconds, t_out, idle=True)]
            time.sleep(0.5)
            r = trigger.call("paced", pool=uids, duration=opts.seconds - 1, **kw)
            s = loadgen.call("stats", expected=r["expected"], drain=3)
            print(phase, {k: v for k, v in r.items() if k != "expected"}, s, flush=True)
            for sp in spies:
                sp.wait(60)
            outs += [s_out, t_out]
        # (b) broadcasts.
        s_out, t_out = RESULTS / f"profile-{tag}-broadcast-server.txt", RESULTS / f"profile-{tag}-broadcast-trigger.txt"
        spies = [spy(server.proc.pid, opts.seconds, s_out), spy(trigger.proc.pid, opts.seconds, t_out, idle=True)]
        time.sleep(0.5)
        t_end = time.monotonic() + opts.seconds - 2
        while time.monotonic() < t_end:
            r = trigger.call("send", uids=None)
            w = loadgen.call("wait", seq=r["seq"], count=len(uids), timeout=30)
            print("broadcast", r, w, flush=True)
        for sp in spies:
            sp.wait(60)
        outs += [s_out, t_out]
        for o in outs:
            if o.exists():
                print(top(o))
                subprocess.run(["gzip", "-9f", str(o)], check=False)  # collapsed stacks are large
        loadgen.call("close")
        for w in (loadgen, trigger):
            w.stop()
        server.stop()
    finally:
        for c in cleanup:
            c.stop()
        redis.stop()


if __name__ == "__main__":
    main()
