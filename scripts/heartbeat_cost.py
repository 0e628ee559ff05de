"""Measure what heartbeats cost the server: CPU per frame per socket, and bytes per frame.

    .venv/bin/python scripts/heartbeat_cost.py [--sockets 300] [--seconds 10]

Runs the demo on a real daphne (SQLite, in-memory layer) twice, heartbeats off and every 0.1 s, with the
same number of idle authenticated sockets, and compares the daphne process's CPU time (user + system).
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import os
import re
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402

from testing.processes import DemoServer  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def session_cookie(base: str, user: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token
    data = urllib.parse.urlencode({"username": user, "password": password, "csrfmiddlewaretoken": token[1]})
    opener.open(urllib.request.Request(f"{base}/accounts/login/", data.encode(), headers={"Referer": base}))
    return "; ".join(f"{c.name}={c.value}" for c in jar)


async def hold(url: str, cookie: str, origin: str, sockets: int, seconds: float) -> tuple[int, int]:
    frames = 0
    size = 0

    async def one() -> None:
        nonlocal frames, size
        async with websockets.connect(url, additional_headers={"Cookie": cookie, "Origin": origin}) as ws:
            await ws.recv()  # the state frame
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:
                    message = await asyncio.wait_for(ws.recv(), left)
                except TimeoutError:
                    break
                frames += 1
                size = len(str(message).encode())

    await asyncio.gather(*(one() for _ in range(sockets)))
    return frames, size


def run(workdir: Path, interval: str, sockets: int, seconds: float) -> tuple[float, int, int]:
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'hb.sqlite3'}", "NOTIFICATIONS_HEARTBEAT_INTERVAL": interval}
    server = DemoServer(workdir, env)
    server.manage("migrate", "--no-input", "-v0")
    [(user, password)] = server.create_users("hb")
    server.start()
    try:
        cookie = session_cookie(server.base_url, user, password)
        assert server.proc is not None
        url = server.base_url.replace("http", "ws") + "/ws/notifications/"
        before = cpu_seconds(server.proc.pid)
        frames, size = asyncio.run(hold(url, cookie, server.base_url, sockets, seconds))
        return cpu_seconds(server.proc.pid) - before, frames, size
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("off", "on"):
            (Path(tmp) / name).mkdir()
        off, _, _ = run(Path(tmp) / "off", "0", args.sockets, args.seconds)
        on, frames, size = run(Path(tmp) / "on", "0.1", args.sockets, args.seconds)
    per_frame = (on - off) / max(frames, 1) * 1e6
    print(f"{args.sockets} sockets, {args.seconds:.0f} s: CPU {off:.2f} s without heartbeats, {on:.2f} s with")
    print(f"{frames} heartbeat frames of {size} bytes: {per_frame:.1f} us of server CPU per frame per socket")


if __name__ == "__main__":
    main()
