"""(F) the floor: a raw ``websockets`` server that forwards one pre-encoded frame to its sockets.

Clients connect to ``/ws/notifications/?u=<uid>``; the trigger connects to ``/control`` and sends JSON
``{"uids": [...] | null, "text": "..."}``: ``null`` is a broadcast to every socket, else the sockets of those
users. ``websockets.broadcast`` writes the frame without awaiting each socket (the cheapest fan-out there is).

Usage: python -m bench.floor PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve

ALL: set[ServerConnection] = set()
BY_UID: dict[int, set[ServerConnection]] = defaultdict(set)


async def handler(ws: ServerConnection) -> None:
    url = urlsplit(ws.request.path)
    if url.path == "/control":
        async for raw in ws:
            msg = json.loads(raw)
            if msg["uids"] is None:
                broadcast(ALL, msg["text"])
            else:
                broadcast([c for uid in msg["uids"] for c in BY_UID.get(uid, ())], msg["text"])
        return
    uid = int(parse_qs(url.query).get("u", ["0"])[0])
    ALL.add(ws)
    BY_UID[uid].add(ws)
    try:
        await ws.wait_closed()
    finally:
        ALL.discard(ws)
        BY_UID[uid].discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, backlog=2048, ping_interval=None, compression=None, max_queue=None):
        await asyncio.Future()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(int(sys.argv[1])))
