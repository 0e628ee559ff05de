"""The trigger: sends notifications the way the application would, from its own process.

Modes: ``product`` (notifications.store.api.notify / notify_all, Django + the channel layer in BENCH_LAYER),
``blog`` (one ``group_send`` to the single "notifications" group), ``floor`` (a control socket to bench.floor).
Every message carries ``BENCH t=<time.monotonic()> s=<seq>``, stamped just before the call, so the measured
latency covers storing, rendering and publishing, not just the socket.

Driven over stdin/stdout, one JSON object per line.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

import django

SEQ = 0


def stamp() -> tuple[int, str]:
    global SEQ
    SEQ += 1
    return SEQ, f"BENCH t={time.monotonic():.6f} s={SEQ}"


class Product:
    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from notifications.store import api

        self.api = api
        # notify() takes user objects (as application code has them): load them once, not per call.
        self.users = get_user_model()._default_manager.in_bulk()

    def send(self, uids: list[int] | None) -> int:
        seq, text = stamp()
        if uids is None:
            self.api.notify_all(text)
        else:
            self.api.notify([self.users[uid] for uid in uids], text)
        return seq


class Blog:
    def __init__(self) -> None:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        self.group_send = async_to_sync(get_channel_layer().group_send)

    def send(self, uids: list[int] | None) -> int:
        if uids is not None:
            raise ValueError("the blog design has one group: broadcasts only")
        seq, text = stamp()
        self.group_send(
            "notifications",
            {
                "type": "send.notification",
                "notification": {
                    "id": seq,
                    "message": text,
                    "level": "info",
                    "title": "",
                    "url": "",
                    "created_at": time.time(),
                },
            },
        )
        return seq


class Floor:
    def __init__(self, url: str) -> None:
        import socket

        from django.utils import timezone
        from websockets.sync.client import connect

        from notifications.models import Notification
        from notifications.store.readers import site_reader
        from notifications.web.rendering import render_new_frame

        self.ws = connect(url, compression=None)
        # The sync client leaves Nagle on (asyncio turns it off): without this, small control frames wait for
        # the delayed ACK (~40 ms) and F's per-user latency measures the kernel, not the server.
        self.ws.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        now = timezone.now()
        # The product's frame for a typical notification, with the stamp where the message goes: same bytes.
        sample = Notification(pk=123456, recipient_id=1, message="@@MSG@@", created_at=now, updated_at=now)
        self.template = render_new_frame(sample, 3, reader=site_reader())

    def send(self, uids: list[int] | None) -> int:
        seq, text = stamp()
        self.ws.send(json.dumps({"uids": uids, "text": self.template.replace("@@MSG@@", text)}))
        return seq


def main() -> None:
    mode = sys.argv[1]
    django.setup()
    sender: Any = {"product": Product, "blog": Blog, "floor": lambda: Floor(sys.argv[2])}[mode]()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["cmd"]
        if op == "quit":
            break
        try:
            if op == "reset":
                # Only the first n bench users are active (so notify_all reaches exactly the connected ones);
                # no notifications yet.
                from django.contrib.auth import get_user_model

                from notifications.models import Notification

                Notification.objects.all().delete()
                User = get_user_model()
                User.objects.update(is_active=False)
                User.objects.filter(pk__in=cmd["active"]).update(is_active=True)
                out: Any = {"ok": True}
            elif op == "seq":
                # Start this trigger's sequence numbers at ``start`` (two triggers in one run must not collide).
                global SEQ
                SEQ = cmd["start"]
                out = {"seq": SEQ}
            elif op == "fill_bars":
                # ``per_user`` stored notifications for each of ``uids`` (no pushes): bars with content, as a page
                # that just rendered them shows.
                from notifications.models import Notification

                rows = [
                    Notification(recipient_id=uid, message=f"seeded {i} for {uid}", title="Seeded")
                    for uid in cmd["uids"]
                    for i in range(cmd.get("per_user", 3))
                ]
                Notification.objects.bulk_create(rows, batch_size=1000)
                out = {"created": len(rows)}
            elif op == "versions":
                # The version each user's page would carry in its socket URL (the bar just rendered).
                from notifications.store.state import load_states

                out = {"versions": {str(k): s.version for k, s in load_states(cmd["uids"]).items()}}
            elif op == "ids":
                # Stored notification ids per recipient (the soak's "stored" side).
                from notifications.models import Notification

                ids: dict[str, list[int]] = {}
                for uid, pk in Notification.objects.values_list("recipient_id", "pk").order_by("pk"):
                    ids.setdefault(str(uid), []).append(pk)
                out = {"ids": ids}
            elif op == "send":
                t0 = time.monotonic()
                seq = sender.send(cmd.get("uids"))
                out = {"seq": seq, "call": time.monotonic() - t0}
            elif op == "paced":
                # ``rate`` deliveries/s for ``duration`` s: every ``tick`` s, one call for ``rate*tick`` random
                # distinct users (batch 1 = one notify() per user).
                pool, rate, tick = cmd["pool"], cmd["rate"], cmd.get("tick", 0.1)
                batch = min(len(pool), max(1, round(rate * tick)))
                interval = batch / rate
                expected: list[list[int]] = []
                calls: list[float] = []  # each call's own duration: the caller's share of the push latency
                start = time.monotonic()
                end = start + cmd["duration"]
                nxt = start
                late = 0
                while (now := time.monotonic()) < end:
                    if now < nxt:
                        time.sleep(nxt - now)
                    elif now - nxt > interval:
                        late += 1
                    uids = random.sample(pool, batch)
                    called = time.monotonic()
                    expected.append([sender.send(uids), batch])
                    calls.append(time.monotonic() - called)
                    nxt += interval
                elapsed = time.monotonic() - start
                sent = sum(n for _, n in expected)
                out = {
                    "expected": expected,
                    "sent": sent,
                    "elapsed": elapsed,
                    "achieved_rate": sent / elapsed,
                    "late_ticks": late,
                    "batch": batch,
                    "calls": calls,
                }
            else:
                out = {"error": f"unknown command {op}"}
        except Exception as e:
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
