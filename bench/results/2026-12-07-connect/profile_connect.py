"""Profile servers with py-spy while N clients connect (bench.connect's phase 1), one variant after another.

``.venv/bin/python bench/results/2026-12-07-connect/profile_connect.py --variants S-before,S,B --n 5000
--seconds 12 --before /tmp/s-before --out DIR`` (py-spy in .venv); raw stacks in ``DIR/spy-<variant>.txt``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bench.common import PY, Redis, Server, Worker, django_env, free_port, setup_db
from bench.connect import VARIANTS, variant_server
from bench.profile import top


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--variants", default="S")
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--before", default=None)
    p.add_argument("--out", default=".")
    o = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nbprof-"))
    redis = Redis(work)
    try:
        cookies = json.loads(setup_db(work, redis.url, o.n).read_text())
        env = django_env(work, redis.url)
        trigger = Worker([PY, "-m", "bench.trigger", "product"], env, work / "trigger.log")
        uids = [c["uid"] for c in cookies]
        trigger.call("reset", active=uids)
        trigger.call("fill_bars", uids=uids, per_user=3)
        versions = trigger.call("versions", uids=uids)["versions"]
        trigger.stop()
        for name in o.variants.split(","):
            variant = VARIANTS[name]
            redis.flush()
            product = variant["kind"] == "product"
            clients = [dict(c) for c in cookies]
            if variant.get("versions"):
                for c in clients:
                    c["v"] = versions[str(c["uid"])]
            port = free_port()
            url, origin = f"ws://127.0.0.1:{port}/ws/notifications/", f"http://127.0.0.1:{port}"
            server = Server(*variant_server(variant, port, env, o.before), port, work / f"{name}.log")
            loadgen = Worker([PY, "-m", "bench.loadgen"], env, work / "loadgen.log")
            loadgen.call("configure", mode={"product": product})
            loadgen.call("connect", url=url, origin=origin, clients=clients[:10], first_frame=product)
            loadgen.call("close")
            out = Path(o.out) / f"spy-{name}.txt"
            spy = [str(Path(PY).parent / "py-spy"), "record", "-p", str(server.proc.pid), "-d", str(o.seconds)]
            spy += ["-r", "250", "-f", "raw", "-o", str(out), "--nonblocking", "--threads"]
            recording = subprocess.Popen(spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            r = loadgen.call(
                "connect", url=url, origin=origin, clients=clients[: o.n], first_frame=product, concurrency=100
            )
            print(name, "rate", round(r["rate"]), "ok", r["ok"], "failed", r["failed"], flush=True)
            recording.wait()
            loadgen.call("close")
            loadgen.stop()
            server.stop()
            print(top(out, 40))
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
