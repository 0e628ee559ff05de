"""A second trigger for bench.servers and bench.rolling (driven like bench.trigger, one JSON object a line).

``steady_start`` / ``steady_stop``: notify() one random user of a pool at a steady rate in a background thread
(every call stamped, as bench.trigger does), logging which user got which seq when, so a report can say who
was sent what and when, and which server that user's socket was on.

``prepare`` / ``replay``: saturate a server with per-user deliveries without the caller being the limit. A
notify() stores rows, renders once and publishes; at a few thousand deliveries a second the caller's process,
not the server, runs out of CPU on a 2-core machine (bench/results/results.md: the trigger at 85% of its core,
the server at 50%). So ``prepare`` calls the real notify() for batches of random users while the channel
layer's ``group_send``/``send`` only record what would be published (nothing reaches a socket), and ``replay``
publishes exactly those messages later at a given pace, each with a fresh stamp put where the placeholder
stamp was. The server does what it does for a real notify(); only the caller's share is taken out (it is
measured apart, as the call's duration). If the published messages do not carry the message text (a design
that renders on the server from the database), replay cannot restamp them: ``prepare`` says so
(``restampable: false``) and the caller falls back to real notify() calls.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import sys
import threading
import time
from typing import Any

import django

PLACEHOLDER = "BENCH t=0.000000 s={}"
PLACEHOLDER_RE = re.compile(r"BENCH t=0\.000000 s=(\d+)")
PLACEHOLDER_BASE = 9_000_000_000


def restamp(obj: Any, old: str, new: str) -> Any:
    """``obj`` with ``old`` replaced by ``new`` in every string inside it (dicts, lists, tuples)."""
    if isinstance(obj, str):
        return obj.replace(old, new) if old in obj else obj
    if isinstance(obj, dict):
        return {k: restamp(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [restamp(v, old, new) for v in obj]
    if isinstance(obj, tuple):
        return tuple(restamp(v, old, new) for v in obj)
    return obj


def placeholders(obj: Any, found: set[int]) -> set[int]:
    if isinstance(obj, str):
        found.update(int(m) for m in PLACEHOLDER_RE.findall(obj))
    elif isinstance(obj, dict):
        for v in obj.values():
            placeholders(v, found)
    elif isinstance(obj, list | tuple):
        for v in obj:
            placeholders(v, found)
    return found


def stamped_keys(message: Any) -> list[str] | None:
    """The top-level keys of a dict message whose values hold a placeholder (None: not a dict)."""
    if not isinstance(message, dict):
        return None
    return [k for k, v in message.items() if placeholders(v, set())]


class Fleet:
    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from bench import trigger as tr

        self.tr = tr
        self.users = get_user_model()._default_manager.in_bulk()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="fleet-replay", daemon=True).start()
        # (placeholder, batch, [(kind, group or channel, message, keys to restamp)])
        self.prepared: list[tuple[int, int, list[tuple[str, str, Any, list[str] | None]]]] = []
        self.next_placeholder = PLACEHOLDER_BASE
        self.steady: dict[str, Any] | None = None
        self.lock = threading.Lock()

    # -- record and replay --------------------------------------------------------------------------------
    def prepare(self, pool: list[int], batch: int, calls: int) -> dict[str, Any]:
        from channels.layers import get_channel_layer

        from notifications.store import api

        layer = get_channel_layer()
        cls = type(layer)
        captured: list[tuple[str, str, Any]] = []
        saved = {name: cls.__dict__.get(name) for name in ("group_send", "send")}

        async def group_send(self: Any, group: str, message: Any) -> None:
            captured.append(("group_send", group, message))

        async def send(self: Any, channel: str, message: Any) -> None:
            captured.append(("send", channel, message))

        cls.group_send, cls.send = group_send, send
        t0 = time.monotonic()
        self.prepared.clear()
        wanted: list[tuple[int, int]] = []
        try:
            for _ in range(calls):
                ph = self.next_placeholder
                self.next_placeholder += 1
                uids = random.sample(pool, min(batch, len(pool)))
                api.notify([self.users[u] for u in uids], PLACEHOLDER.format(ph))
                wanted.append((ph, len(uids)))
            # The push may run after notify() returned (an outbox thread): wait for every call's messages, or
            # until nothing more came for a while.
            seen_count, quiet_since = 0, time.monotonic()
            found: set[int] = set()
            missing = {ph for ph, _ in wanted}
            while time.monotonic() - quiet_since < 3:
                if len(captured) != seen_count:
                    for _, _, m in captured[seen_count:]:
                        placeholders(m, found)
                    seen_count, quiet_since = len(captured), time.monotonic()
                    missing -= found
                if not missing:
                    time.sleep(0.2)  # a call's last messages may still be on their way
                    if len(captured) == seen_count:
                        break
                time.sleep(0.05)
        finally:
            for name, value in saved.items():
                if value is None:
                    delattr(cls, name)
                else:
                    setattr(cls, name, value)
        by_call: dict[int, list[tuple[str, str, Any]]] = {}
        unmarked = merged = 0
        for item in captured:
            found = placeholders(item[2], set())
            if len(found) == 1:
                by_call.setdefault(found.pop(), []).append(item)
            elif found:
                merged += 1  # one message for several calls: cannot be restamped per call
            else:
                unmarked += 1
        self.prepared = [(ph, n, [(*item, stamped_keys(item[2])) for item in by_call.get(ph, [])]) for ph, n in wanted]
        restampable = all(msgs for _, _, msgs in self.prepared)
        return {
            "calls": len(self.prepared),
            "messages": sum(len(m) for _, _, m in self.prepared),
            "unmarked_messages": unmarked,
            "merged_messages": merged,
            "restampable": restampable and not merged,
            "seconds": time.monotonic() - t0,
        }

    def replay(self, rate: float, duration: float, tick: float) -> dict[str, Any]:
        """Publish the prepared calls (``rate`` deliveries/s in all, one call every ``batch / rate`` s), over and
        over until ``duration`` is up. The caller prepares enough distinct calls that a user's item comes back
        only after many newer ones (a tab drops a push for an item its bar already shows)."""
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        calls = list(self.prepared)
        if not calls:
            raise RuntimeError("nothing prepared")
        batch = calls[0][1]
        interval = batch / rate

        async def run() -> dict[str, Any]:
            expected: list[list[int]] = []
            durations: list[float] = []
            start = time.monotonic()
            end = start + duration
            nxt = start
            late = 0
            k = 0
            while True:
                ph, n, messages = calls[k % len(calls)]
                k += 1
                now = time.monotonic()
                if now >= end:
                    break
                if now < nxt:
                    await asyncio.sleep(nxt - now)
                elif now - nxt > interval:
                    late += 1
                seq, text = self.tr.stamp()
                old = PLACEHOLDER.format(ph)
                t_call = time.monotonic()
                for kind, target, message, keys in messages:
                    if keys is None:
                        fresh = restamp(message, old, text)
                    else:  # only the keys that hold the placeholder (the rest, e.g. 1,000 recipients, as it is)
                        fresh = {**message, **{k: restamp(message[k], old, text) for k in keys}}
                    if kind == "group_send":
                        await layer.group_send(target, fresh)
                    else:
                        await layer.send(target, fresh)
                durations.append(time.monotonic() - t_call)
                expected.append([seq, n])
                nxt += interval
            elapsed = time.monotonic() - start
            sent = sum(n for _, n in expected)
            return {
                "expected": expected,
                "sent": sent,
                "elapsed": elapsed,
                "achieved_rate": sent / elapsed if elapsed else 0,
                "late_ticks": late,
                "batch": batch,
                "cycles": k / len(calls),
                "publish_p50_ms": 1000 * sorted(durations)[len(durations) // 2] if durations else None,
            }

        out = asyncio.run_coroutine_threadsafe(run(), self.loop).result()
        self.prepared.clear()
        return out

    # -- steady single-user notifications in the background ----------------------------------------------
    def steady_start(self, pool: list[int], rate: float) -> dict[str, Any]:
        if self.steady is not None:
            raise RuntimeError("already running")
        state: dict[str, Any] = {"log": [], "stop": threading.Event(), "errors": 0, "late": 0}
        self.steady = state

        def run() -> None:
            from django.db import close_old_connections

            from notifications.store import api

            interval = 1 / rate
            nxt = time.monotonic()
            while not state["stop"].is_set():
                now = time.monotonic()
                if now < nxt:
                    time.sleep(nxt - now)
                elif now - nxt > interval:
                    state["late"] += 1
                uid = random.choice(pool)
                seq, text = self.tr.stamp()
                t = time.monotonic()
                try:
                    api.notify(self.users[uid], text)
                except Exception:
                    state["errors"] += 1
                    # As a worker between jobs: a connection the database ended (a restart) is not used again.
                    close_old_connections()
                call = time.monotonic() - t
                with self.lock:
                    state["log"].append([seq, uid, t, call])
                nxt += interval
            close_old_connections()

        state["thread"] = threading.Thread(target=run, name="steady", daemon=True)
        state["thread"].start()
        return {"ok": True}

    def steady_log(self, since: int = 0) -> dict[str, Any]:
        if self.steady is None:
            return {"log": [], "next": since}
        with self.lock:
            log = self.steady["log"][since:]
        return {"log": log, "next": since + len(log), "errors": self.steady["errors"], "late": self.steady["late"]}

    def steady_stop(self) -> dict[str, Any]:
        if self.steady is None:
            return {"log": []}
        self.steady["stop"].set()
        self.steady["thread"].join(30)
        out = {"log": self.steady["log"], "errors": self.steady["errors"], "late": self.steady["late"]}
        self.steady = None
        return out


def main() -> None:
    django.setup()
    fleet = Fleet()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd.pop("cmd")
        if op == "quit":
            break
        try:
            if op == "seq":
                fleet.tr.SEQ = cmd["start"]
                out: Any = {"seq": fleet.tr.SEQ}
            elif op == "prepare":
                out = fleet.prepare(cmd["pool"], cmd["batch"], cmd["calls"])
            elif op == "replay":
                out = fleet.replay(cmd["rate"], cmd["duration"], cmd.get("tick", 0.05))
            elif op == "warm":
                # The process's first notify() pays for its start (outbox thread, Redis connection, templates).
                from notifications.store import api

                api.notify(fleet.users[cmd["uid"]], "warm-up")
                time.sleep(0.5)
                out = {"ok": True}
            elif op == "steady_start":
                out = fleet.steady_start(cmd["pool"], cmd["rate"])
            elif op == "steady_log":
                out = fleet.steady_log(cmd.get("since", 0))
            elif op == "steady_stop":
                out = fleet.steady_stop()
            else:
                out = {"error": f"unknown command {op}"}
        except Exception as e:
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
