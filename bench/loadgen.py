"""The load generator: N authenticated WebSocket clients in one process (picows + uvloop).

Driven over stdin/stdout, one JSON object per line (see ``COMMANDS``). Each text frame is searched for the
stamp the trigger put in the message, ``BENCH t=<monotonic> s=<seq>``; latency = receive time - t
(CLOCK_MONOTONIC is system-wide on Linux, so the two processes share the clock). Item ids
(``id="notification-<pk>"``) are collected per user for the soak's delivered-vs-stored check.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sys
import threading
import time
from collections import defaultdict
from typing import Any

import picows
import uvloop

STAMP = re.compile(rb"BENCH t=(\d+\.\d+) s=(\d+)")
ITEM_ID = re.compile(rb'id="notification-(\d+)"')
NEW_MARK = b'hx-swap-oob="afterbegin:#notification-list"'  # only new-item frames (tests/test_rendering.py)

# seq -> latencies (seconds) of every frame that carried it
LAT: dict[int, list[float]] = defaultdict(list)
CLIENTS: list[Client] = []
COUNTERS = {"frames": 0, "state_frames": 0, "unexpected_close": 0, "bytes": 0}
MODE: dict[str, Any] = {"product": False, "collect_ids": False, "reconnect": None}
# Item ids seen per user over all of its sockets (reconnects included), and the reconnect bookkeeping.
IDS: dict[int, set[int]] = defaultdict(set)
RECONNECT: dict[str, Any] = {
    "close_codes": defaultdict(int),
    "attempts": 0,
    "ok": 0,
    "refused": 0,
    "timeout": 0,
    "other": 0,
    "other_sample": [],
    "last_ok": None,
}
HTMX_CODES = (1006, 1011, 1012, 1013)  # the only close codes after which the htmx ws extension reconnects


def reconnect_delay(retry: int) -> float:
    """Seconds before reconnect attempt ``retry`` (0 = the first after a drop).

    ``htmx``: the ws extension's default ("full-jitter"): ``Math.random() * 1000 * 2 ** min(retry, 6)`` ms, the
    retry count reset when a socket opens (django_htmx/static/django_htmx/ext/hx-ws-2.js). This models only the
    delay and the close codes it reconnects on, not a browser's connection limits or its handshake timeout.
    """
    return random.random() * 2 ** min(retry, 6)


class Client(picows.WSListener):
    def __init__(self, uid: int, spec: dict[str, Any] | None = None) -> None:
        self.uid = uid
        self.spec = spec  # how to connect again (url, headers), when reconnecting is on
        self.close_code: int | None = None
        self.transport: picows.WSTransport | None = None
        self.first_frame = asyncio.get_running_loop().create_future()
        self.ids: set[int] = set()
        self.closing = False
        self.open = False

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport
        self.open = True

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        now = time.monotonic()
        if frame.msg_type == picows.WSMsgType.PING:
            transport.send_pong(frame.get_payload_as_bytes())
            return
        if frame.msg_type == picows.WSMsgType.CLOSE:
            self.close_code = frame.get_close_code()
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type != picows.WSMsgType.TEXT:
            return
        data = frame.get_payload_as_bytes()
        COUNTERS["frames"] += 1
        COUNTERS["bytes"] += len(data)
        if not self.first_frame.done():
            self.first_frame.set_result(now)
        if MODE["collect_ids"]:
            found = [int(x) for x in ITEM_ID.findall(data)]
            self.ids.update(found)
            IDS[self.uid].update(found)
        if MODE["product"] and NEW_MARK not in data:
            COUNTERS["state_frames"] += 1
            return
        m = STAMP.search(data)
        if m:
            LAT[int(m.group(2))].append(now - float(m.group(1)))

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        self.open = False
        if not self.closing:
            COUNTERS["unexpected_close"] += 1
        if not self.first_frame.done():
            self.first_frame.set_exception(ConnectionError("closed before the first frame"))
            self.first_frame.exception()  # retrieved: no "never retrieved" noise
        if not self.closing and MODE["reconnect"] and self.spec is not None:
            code = self.close_code if self.close_code is not None else 1006  # no close frame: abnormal closure
            RECONNECT["close_codes"][code] += 1
            if code in HTMX_CODES:
                asyncio.get_running_loop().create_task(reconnect(self.uid, self.spec))


async def reconnect(uid: int, spec: dict[str, Any]) -> None:
    """Connect ``uid`` again after a drop, with the back-off in ``MODE["reconnect"]`` (see reconnect_delay)."""
    retry = 0
    while True:
        await asyncio.sleep(reconnect_delay(retry))
        RECONNECT["attempts"] += 1
        client: Client | None = None

        def factory() -> Client:
            nonlocal client
            client = Client(uid, spec)
            return client

        try:
            await picows.ws_connect(
                factory, spec["url"], extra_headers=spec["headers"], websocket_handshake_timeout=spec["timeout"]
            )
            if client is None:
                raise ConnectionError("closed by the server before the handshake completed")
        except (ConnectionRefusedError, OSError) as e:
            if isinstance(e, TimeoutError):
                RECONNECT["timeout"] += 1
            else:
                RECONNECT["refused"] += 1
            retry += 1
            continue
        except Exception as e:
            RECONNECT["other"] += 1
            if len(RECONNECT["other_sample"]) < 5:
                RECONNECT["other_sample"].append(f"{type(e).__name__}: {e}"[:200])
            retry += 1
            continue
        CLIENTS.append(client)
        RECONNECT["ok"] += 1
        RECONNECT["last_ok"] = time.monotonic()
        return


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def connect(cmd: dict[str, Any]) -> dict[str, Any]:
    clients = cmd["clients"]
    sem = asyncio.Semaphore(cmd.get("concurrency", 100))
    failures: list[str] = []
    handshake_done: list[float] = []
    ready_done: list[float] = []
    c_ready: list[float] = []
    start = time.monotonic()

    async def one(c: dict[str, Any]) -> None:
        async with sem:
            headers = {"Origin": cmd["origin"]}
            if c.get("cookie"):
                headers["Cookie"] = c["cookie"]
            try:
                client: Client | None = None

                # v: the version of the state the page rendered (the bar's ws-connect carries it), if known.
                query = f"u={c['uid']}" + (f"&v={c['v']}" if c.get("v") else "")
                # A reconnect uses the same URL (as htmx does), so the same (by then stale) v.
                spec = {"url": f"{cmd['url']}?{query}", "headers": headers, "timeout": cmd.get("timeout", 60)}

                def factory() -> Client:
                    nonlocal client
                    client = Client(c["uid"], spec)
                    return client

                await picows.ws_connect(
                    factory,
                    spec["url"],
                    extra_headers=headers,
                    websocket_handshake_timeout=cmd.get("timeout", 60),
                )
                handshake_done.append(time.monotonic())
                if client is None:
                    raise ConnectionError("closed by the server before the handshake completed")
                CLIENTS.append(client)
                if cmd.get("first_frame"):
                    await asyncio.wait_for(client.first_frame, cmd.get("timeout", 60))
                ready_done.append(time.monotonic())
                c_ready.append(time.monotonic() - start)
            except Exception as e:
                failures.append(f"{type(e).__name__}: {e}"[:200])

    await asyncio.gather(*(one(c) for c in clients))
    elapsed = (max(ready_done) if ready_done else time.monotonic()) - start
    return {
        "ok": len(ready_done),
        "failed": len(failures),
        "failures_sample": failures[:5],
        "elapsed": elapsed,
        "rate": len(ready_done) / elapsed if elapsed > 0 else None,
        "handshake_elapsed": (max(handshake_done) - start) if handshake_done else None,
        "ready_p50": pct(c_ready, 0.5),
        "ready_p99": pct(c_ready, 0.99),
        "ready_within_5s": sum(t <= 5 for t in c_ready),
    }


async def wait(cmd: dict[str, Any]) -> dict[str, Any]:
    """Wait until ``seq`` reached ``count`` sockets (or timeout); fan-out time = the slowest latency."""
    deadline = time.monotonic() + cmd.get("timeout", 30)
    seq, count = cmd["seq"], cmd["count"]
    while len(LAT.get(seq, ())) < count and time.monotonic() < deadline:  # noqa: ASYNC110 (polling is the point)
        await asyncio.sleep(0.005)
    lats = LAT.get(seq, [])
    return {"n": len(lats), "max": max(lats) if lats else None, "p50": pct(lats, 0.5), "p99": pct(lats, 0.99)}


async def stats(cmd: dict[str, Any]) -> dict[str, Any]:
    """Expected ``[[seq, count], ...]`` against what arrived: latencies, gaps (missing), duplicates."""
    deadline = time.monotonic() + cmd.get("drain", 0)
    expected = cmd["expected"]
    total = sum(n for _, n in expected)

    def got() -> int:
        return sum(min(len(LAT.get(s, ())), n) for s, n in expected)

    while got() < total and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    lats = [x for s, _ in expected for x in LAT.get(s, ())]
    received = got()
    dups = sum(max(0, len(LAT.get(s, ())) - n) for s, n in expected)
    return {
        "expected": total,
        "received": received,
        "gaps": total - received,
        "dups": dups,
        "p50": pct(lats, 0.5),
        "p99": pct(lats, 0.99),
        "max": max(lats) if lats else None,
    }


async def close(cmd: dict[str, Any]) -> dict[str, Any]:
    for c in CLIENTS:
        c.closing = True
        if c.transport is not None and c.open:
            c.transport.send_close(picows.WSCloseCode.OK)
            c.transport.disconnect()
    await asyncio.sleep(0.5)
    n = len(CLIENTS)
    CLIENTS.clear()
    return {"closed": n}


async def status(cmd: dict[str, Any]) -> dict[str, Any]:
    out = {"open": sum(c.open for c in CLIENTS), **COUNTERS}
    if cmd.get("ids"):
        ids: dict[int, list[int]] = defaultdict(list)
        for c in CLIENTS:
            ids[c.uid].extend(c.ids)
        out["ids"] = {str(k): sorted(set(v)) for k, v in ids.items()}
    return out


async def progress(cmd: dict[str, Any]) -> dict[str, Any]:
    """Open sockets per uid in ``uids``, and how many of ``expected`` ({uid: [ids]}) have every id seen."""
    open_uids = {c.uid for c in CLIENTS if c.open}
    uids = cmd.get("uids", [])
    expected = cmd.get("expected", {})
    converged = sum(set(ids) <= IDS.get(int(uid), set()) for uid, ids in expected.items())
    missing = sum(len(set(ids) - IDS.get(int(uid), set())) for uid, ids in expected.items())
    return {
        "open": sum(u in open_uids for u in uids),
        "converged": converged,
        "missing_ids": missing,
        "now": time.monotonic(),
        "reconnect": {k: (dict(v) if isinstance(v, defaultdict) else v) for k, v in RECONNECT.items()},
    }


async def configure(cmd: dict[str, Any]) -> dict[str, Any]:
    MODE.update(cmd.get("mode", {}))
    if cmd.get("clear"):
        LAT.clear()
        for k in COUNTERS:
            COUNTERS[k] = 0
    return {"mode": MODE}


COMMANDS = {
    "connect": connect,
    "wait": wait,
    "stats": stats,
    "close": close,
    "status": status,
    "configure": configure,
    "progress": progress,
}


async def main() -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, daemon=True).start()
    print(json.dumps({"ready": True}), flush=True)
    while (line := await queue.get()) is not None:
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        try:
            result = await COMMANDS[cmd["cmd"]](cmd)
        except Exception as e:
            result = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    uvloop.run(main())
