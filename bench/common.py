"""Processes for the bench and the soak: a private redis-server, the servers, and JSON-line worker processes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import psutil

from testing.processes import RedisServer, free_port, stop_process, wait_for_port  # noqa: F401 (free_port: re-exported)

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SERVER_CPU = "0"  # the server under test has core 0 to itself
LOAD_CPU = "1"  # load generator, trigger and redis share core 1


def pinned(cpu: str, args: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *args] if shutil.which("taskset") else args


def django_env(workdir: Path, redis_url: str, layer: str = "pubsub") -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'site'}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "REDIS_URL": redis_url,
        "BENCH_LAYER": layer,
        "PYTHONUNBUFFERED": "1",
    }


class Redis(RedisServer):
    """The e2e tests' redis-server, pinned to the load core, with room for many clients; started at once."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(["--maxclients", "20000"], wrap=pinned(LOAD_CPU, []), log=workdir / "redis.log")
        self.start()
        assert self.proc is not None
        self.ps = psutil.Process(self.proc.pid)


class Server:
    """A server under test on core 0, its log in ``workdir``."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self._log = log.open("a")
        self.proc = subprocess.Popen(
            pinned(SERVER_CPU, args), env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for_port(port, proc=self.proc, timeout=30)
        self.ps = psutil.Process(self.proc.pid)

    def rss(self) -> int:
        return self.ps.memory_info().rss

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()


class Worker:
    """A process spoken to in JSON lines over stdin/stdout (bench.loadgen, bench.trigger)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, cpu: str = LOAD_CPU) -> None:
        self._log: IO[str] = log.open("a")
        self.proc = subprocess.Popen(
            pinned(cpu, args),
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            bufsize=1,
        )
        first = self._read()
        if not first.get("ready"):
            raise RuntimeError(f"{args} did not start: {first}")
        self.ps = psutil.Process(self.proc.pid)

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.proc.args} exited ({self.proc.poll()}); see {self._log.name}")
        return json.loads(line)

    def call(self, cmd: str, **kw: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **kw}) + "\n")
        self.proc.stdin.flush()
        out = self._read()
        if "error" in out:
            raise RuntimeError(f"{cmd}: {out['error']}")
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.flush()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for pipe in (self.proc.stdin, self.proc.stdout):  # unclosed, they are ResourceWarnings in a test
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._log.close()


def cpu_seconds(ps: psutil.Process) -> float:
    try:
        t = ps.cpu_times()
        return t.user + t.system
    except psutil.Error:
        return float("nan")


def setup_db(workdir: Path, redis_url: str, users: int, env: dict[str, str] | None = None) -> Path:
    """Fresh SQLite database (``env``: the database it names), migrated, with ``users`` bench users and their
    sessions; returns the cookie file."""
    env = env or django_env(workdir, redis_url)
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    cookies = workdir / "cookies.json"
    subprocess.run([PY, "-m", "bench.seed", str(users), str(cookies)], env=env, cwd=ROOT, check=True)
    return cookies


def server_args(variant: dict[str, Any], port: int) -> list[str]:
    if variant["kind"] == "floor":
        return [PY, "-m", "bench.floor", str(port)]
    app = variant.get("app") or (
        "bench.blog_asgi:application" if variant["kind"] == "blog" else "demo.asgi:application"
    )
    if variant.get("uvicorn"):
        return [
            PY,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--ws",
            "websockets",
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ]
    if variant.get("backlog"):
        # daphne's -b/-p listen with Twisted's default backlog of 50: a burst of handshakes beyond it waits for
        # SYN retransmits (1 s, 3 s, 7 s, ...). An endpoint string sets the backlog (capped by somaxconn).
        endpoint = f"tcp:port={port}:interface=127.0.0.1:backlog={variant['backlog']}"
        return [PY, "-m", "daphne", "-e", endpoint, "-v", "0", *variant.get("daphne_args", []), app]
    return [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0", app]


class Cpu:
    """CPU seconds of each process between two marks."""

    def __init__(self, procs: dict[str, Any]) -> None:
        self.procs = procs
        self.mark()

    def mark(self) -> None:
        self.t0 = time.monotonic()
        self.c0 = {k: cpu_seconds(p) for k, p in self.procs.items()}

    def read(self) -> dict[str, float]:
        wall = time.monotonic() - self.t0
        out = {f"{k}_cpu_pct": 100 * (cpu_seconds(p) - self.c0[k]) / wall for k, p in self.procs.items()}
        out["wall"] = wall
        return out
