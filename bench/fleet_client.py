"""The load generator (bench.loadgen) with what a fleet of servers behind a proxy needs measured.

bench.servers and bench.rolling drive it over stdin/stdout like bench.loadgen (its commands are all here). On
top of them, per socket and per user:

- which server answered the handshake (the proxy's ``X-Backend`` response header, when it sends one);
- every stamp (``BENCH ... s=<seq>``) a user has seen in any frame, new-item and state frames alike (a state
  frame after a reconnect carries the items stored meanwhile, with their stamps);
- the close code of every socket the server closed or dropped (no close frame: 1006, as a browser reports it);
- reconnecting after a drop (``configure mode.reconnect``): after 1006, 1011, 1012 and 1013 the way the htmx ws
  extension does (``bench.loadgen.reconnect_delay``: full jitter, ``random() * 2 ** min(retry, 6)`` s, the
  count reset when a socket opens); after any other code the extension gives up (the tab stays without a
  socket until the page is loaded again); here the client then reconnects after a bounded back-off
  (``random() * min(cap, 2 ** retry)`` s, ``mode.other_cap``), counted apart so the report can say how many
  sockets a browser would have lost;
- handshake failures by kind: refused (nothing listening, or the proxy said 503: no server up), timed out
  (``spec.timeout``), rejected (any other HTTP answer), other.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from typing import Any

import picows
import uvloop

from . import loadgen as lg

#: Per user: every stamp seq seen in any frame of any of its sockets.
SEEN: dict[int, set[int]] = defaultdict(set)
FLEET: dict[str, Any] = {
    "close_codes": defaultdict(int),  # code -> sockets closed with it (not by us)
    "drops": [],  # [monotonic time, uid, backend, code] of each socket the server side ended
    "attempts": 0,
    "ok": 0,
    "refused": 0,
    "timeout": 0,
    "rejected": 0,
    "other": 0,
    "sample": [],
    "other_path": 0,  # reconnects after a code htmx does not reconnect on (a browser would not have)
    "other_path_uids": set(),
}
SOCKETS: list[FleetClient] = []


def failure_kind(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    if isinstance(e, TimeoutError | asyncio.TimeoutError) or "imeout" in text:
        return "timeout"
    if isinstance(e, ConnectionRefusedError) or " 503" in text or "503 " in text:
        return "refused"
    if isinstance(e, picows.WSError) or "status" in text.lower() or "upgrade" in text.lower():
        return "rejected"
    if isinstance(e, OSError):
        return "refused"
    return "other"


class FleetClient(lg.Client):
    def __init__(self, uid: int, spec: dict[str, Any] | None = None) -> None:
        super().__init__(uid, spec)
        self.backend = ""
        self.opened = 0.0

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        super().on_ws_connected(transport)
        self.opened = time.monotonic()
        try:
            headers = transport.response.headers
            self.backend = str(headers.get("x-backend") or headers.get("X-Backend") or "")
        except Exception:  # no response headers in this picows: the backend stays unknown
            self.backend = ""

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        if frame.msg_type == picows.WSMsgType.TEXT:
            data = frame.get_payload_as_bytes()
            SEEN[self.uid].update(int(m.group(2)) for m in lg.STAMP.finditer(data))
        super().on_ws_frame(transport, frame)

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        was_open = self.open
        self.open = False
        if self.closing:
            return
        lg.COUNTERS["unexpected_close"] += 1
        if not self.first_frame.done():
            self.first_frame.set_exception(ConnectionError("closed before the first frame"))
            self.first_frame.exception()
        if not was_open:
            return
        code = self.close_code if self.close_code is not None else 1006  # no close frame: abnormal closure
        FLEET["close_codes"][code] += 1
        FLEET["drops"].append([time.monotonic(), self.uid, self.backend, code])
        policy = lg.MODE.get("reconnect")
        if policy and self.spec is not None:
            htmx = code in lg.HTMX_CODES
            if not htmx:
                FLEET["other_path"] += 1
                FLEET["other_path_uids"].add(self.uid)
            asyncio.get_running_loop().create_task(reconnect(self.uid, self.spec, htmx=htmx))


def other_delay(retry: int) -> float:
    """The bounded back-off for close codes after which htmx would not reconnect at all."""
    return random.random() * min(float(lg.MODE.get("other_cap", 10.0)), 2.0**retry)


async def open_socket(uid: int, spec: dict[str, Any]) -> FleetClient:
    client: FleetClient | None = None

    def factory() -> FleetClient:
        nonlocal client
        client = FleetClient(uid, spec)
        return client

    await picows.ws_connect(
        factory, spec["url"], extra_headers=spec["headers"], websocket_handshake_timeout=spec["timeout"]
    )
    if client is None:
        raise ConnectionError("closed by the server before the handshake completed")
    return client


async def reconnect(uid: int, spec: dict[str, Any], *, htmx: bool) -> None:
    retry = 0
    while True:
        await asyncio.sleep(lg.reconnect_delay(retry) if htmx else other_delay(retry))
        if not lg.MODE.get("reconnect"):
            return
        FLEET["attempts"] += 1
        try:
            client = await open_socket(uid, spec)
        except Exception as e:
            kind = failure_kind(e)
            FLEET[kind] += 1
            if len(FLEET["sample"]) < 8:
                FLEET["sample"].append(f"{kind}: {type(e).__name__}: {e}"[:200])
            retry += 1
            continue
        SOCKETS.append(client)
        FLEET["ok"] += 1
        return


async def connect(cmd: dict[str, Any]) -> dict[str, Any]:
    """Like bench.loadgen's connect (same answer), with FleetClient sockets."""
    sem = asyncio.Semaphore(cmd.get("concurrency", 100))
    failures: list[str] = []
    kinds: dict[str, int] = defaultdict(int)
    ready: list[float] = []
    start = time.monotonic()

    async def one(c: dict[str, Any]) -> None:
        async with sem:
            headers = {"Origin": cmd["origin"]}
            if c.get("cookie"):
                headers["Cookie"] = c["cookie"]
            spec = {"url": f"{cmd['url']}?u={c['uid']}", "headers": headers, "timeout": cmd.get("timeout", 60)}
            try:
                client = await open_socket(c["uid"], spec)
                SOCKETS.append(client)
                if cmd.get("first_frame"):
                    await asyncio.wait_for(client.first_frame, cmd.get("timeout", 60))
                ready.append(time.monotonic() - start)
            except Exception as e:
                kinds[failure_kind(e)] += 1
                failures.append(f"{type(e).__name__}: {e}"[:200])

    await asyncio.gather(*(one(c) for c in cmd["clients"]))
    elapsed = max(ready) if ready else time.monotonic() - start
    return {
        "ok": len(ready),
        "failed": len(failures),
        "failure_kinds": dict(kinds),
        "failures_sample": failures[:5],
        "elapsed": elapsed,
        "rate": len(ready) / elapsed if elapsed > 0 else None,
        "ready_p50": lg.pct(ready, 0.5),
        "ready_p99": lg.pct(ready, 0.99),
        "backends": backends(),
    }


def backends() -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for c in SOCKETS:
        if c.open:
            out[c.backend or "?"] += 1
    return dict(out)


async def where(cmd: dict[str, Any]) -> dict[str, Any]:
    """Open sockets per backend, and the uids with an open socket on each."""
    by: dict[str, list[int]] = defaultdict(list)
    for c in SOCKETS:
        if c.open:
            by[c.backend or "?"].append(c.uid)
    return {"backends": {k: len(v) for k, v in by.items()}, "uids": {k: sorted(set(v)) for k, v in by.items()}}


async def fleet(cmd: dict[str, Any]) -> dict[str, Any]:
    """Counters (close codes, attempts, failures by kind); ``since``: only drops after that monotonic time."""
    since = cmd.get("since", 0.0)
    drops = [d for d in FLEET["drops"] if d[0] >= since]
    out = {k: v for k, v in FLEET.items() if k not in ("drops", "close_codes", "other_path_uids")}
    out["close_codes"] = {str(k): v for k, v in FLEET["close_codes"].items()}
    out["other_path_users"] = len(FLEET["other_path_uids"])
    out["drops"] = drops if cmd.get("drops") else len(drops)
    out["open"] = sum(c.open for c in SOCKETS)
    out["now"] = time.monotonic()
    return out


async def converge(cmd: dict[str, Any]) -> dict[str, Any]:
    """For ``uids``: how many have an open socket (``since``: one opened at or after that monotonic time, i.e.
    a new one after a restart, not the old one still waiting to be closed), and how many have seen every seq in
    ``expected`` ({uid: [seq, ...]}); the missing seqs in total."""
    uids = set(cmd.get("uids", []))
    since = cmd.get("since", 0.0)
    open_uids = {c.uid for c in SOCKETS if c.open and c.opened >= since}
    expected: dict[str, list[int]] = cmd.get("expected", {})
    missing = {u: sorted(set(seqs) - SEEN.get(int(u), set())) for u, seqs in expected.items()}
    missing = {u: m for u, m in missing.items() if m}
    return {
        "open": len(uids & open_uids),
        "converged": sum(1 for u in uids if str(u) not in missing and u in open_uids),
        "missing": sum(len(m) for m in missing.values()),
        "missing_users": len(missing),
        "missing_sample": dict(list(missing.items())[:5]),
        "now": time.monotonic(),
    }


async def latencies(cmd: dict[str, Any]) -> dict[str, Any]:
    """Push latency (p50/p99/max, seconds) of the seqs in ``seqs`` (each expected once), and how many never
    arrived as a new-item frame."""
    lats = [x for s in cmd["seqs"] for x in lg.LAT.get(int(s), ())[:1]]
    return {
        "n": len(cmd["seqs"]),
        "received": len(lats),
        "p50": lg.pct(lats, 0.5),
        "p99": lg.pct(lats, 0.99),
        "max": max(lats) if lats else None,
    }


async def close(cmd: dict[str, Any]) -> dict[str, Any]:
    lg.MODE["reconnect"] = None
    for c in SOCKETS:
        c.closing = True
        if c.transport is not None and c.open:
            c.transport.send_close(picows.WSCloseCode.OK)
            c.transport.disconnect()
    await asyncio.sleep(0.5)
    n = len(SOCKETS)
    SOCKETS.clear()
    return {"closed": n}


async def reset(cmd: dict[str, Any]) -> dict[str, Any]:
    """Forget the counters (not the sockets)."""
    FLEET["close_codes"].clear()
    FLEET["drops"].clear()
    FLEET["other_path_uids"].clear()
    for k in ("attempts", "ok", "refused", "timeout", "rejected", "other", "other_path"):
        FLEET[k] = 0
    FLEET["sample"] = []
    return {"ok": True}


lg.COMMANDS.update(
    {
        "connect": connect,
        "close": close,
        "where": where,
        "fleet": fleet,
        "converge": converge,
        "latencies": latencies,
        "fleet_reset": reset,
    }
)

if __name__ == "__main__":
    uvloop.run(lg.main())
