"""What a deployment's server processes share through the channel layer's Redis: who the servers are, and the
per-user action budgets.

- **Identity.** A Redis that restarted (however briefly), or a Sentinel failover to another server, has
  dropped what was published meanwhile, and redis-py re-subscribes without a word: a probe that comes back
  proves nothing. Each server's ``run_id`` changes with every start, so the watchdog compares them at each
  probe, and a change has every local socket re-read its bar.
- **Budgets.** ``ACTION_RATE_LIMIT`` actions per ``ACTION_RATE_WINDOW`` seconds per user, counted in Redis, so
  N server processes do not give a user N budgets. With the in-memory layer (one process) or while Redis does
  not answer, each process counts on its own (``LocalBudget``).

The connections come from channels-redis's own ``create_pool`` for the layer's hosts, so a URL, a host dict and
a Sentinel entry all work, and a failover is followed the way the layer follows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict, deque
from typing import Any, NamedTuple

from django.conf import settings

from .. import conf
from ..store import UserPk
from . import protocol

REDIS_BACKENDS = ("channels_redis.pubsub.RedisPubSubChannelLayer", "channels_redis.core.RedisChannelLayer")


class LocalBudget:
    """Actions per user in a sliding window, counted in this process (across all of its sockets)."""

    def __init__(self) -> None:
        self.recent: defaultdict[UserPk, deque[float]] = defaultdict(deque)
        self.pruned = time.monotonic()

    def over_limit(self, user_pk: UserPk) -> bool:
        """Count one action of ``user_pk``; True if it goes over ``ACTION_RATE_LIMIT``."""
        now, window = time.monotonic(), conf.get("ACTION_RATE_WINDOW")
        if now - self.pruned > window:  # forget users who have been quiet for a whole window
            self.recent = defaultdict(deque, {k: v for k, v in self.recent.items() if v and v[-1] > now - window})
            self.pruned = now
        times = self.recent[user_pk]
        while times and times[0] <= now - window:
            times.popleft()
        times.append(now)
        return len(times) > int(conf.get("ACTION_RATE_LIMIT"))


#: The process's own count: the fallback for every event loop of the process.
local_budget = LocalBudget()


def layer_config() -> tuple[list[Any], str] | None:
    """The channels-redis layer's hosts and prefix, or None for any other layer."""
    layer = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {})
    if layer.get("BACKEND") not in REDIS_BACKENDS:
        return None
    config = layer.get("CONFIG", {})
    return list(config.get("hosts") or []), str(config.get("prefix", "asgi"))


class Servers:
    """The layer's Redis servers, seen from one event loop (redis-py's asyncio connections are bound to one)."""

    def __init__(self, hosts: list[Any], prefix: str) -> None:
        from channels_redis.utils import create_pool, decode_hosts
        from redis.asyncio import Redis

        self.clients = [Redis(connection_pool=create_pool(host)) for host in decode_hosts(hosts)]
        self.prefix = prefix

    async def identity(self) -> Identity:
        """Each server's ``run_id`` (it changes when a server restarts or a failover puts another in its place),
        and behind Sentinel the topology the sentinels report (see :func:`_topology`)."""
        async with asyncio.timeout(conf.get("PUSH_TIMEOUT")):
            found = [(await _run_id(client), await _topology(client)) for client in self.clients]
        return Identity(
            tuple(f"{run_id}|{master}|{','.join(roles)}" for run_id, (master, roles) in found),
            split=any(role.endswith("=master") for _, (_, roles) in found for role in roles),
        )

    async def over_limit(self, user_pk: UserPk) -> bool:
        """Count one action of ``user_pk`` on the first server (a sorted set of the window's actions, trimmed
        and counted in one transaction); True if it goes over ``ACTION_RATE_LIMIT``."""
        window = float(conf.get("ACTION_RATE_WINDOW"))
        key = f"{self.prefix}:notifications:{protocol.namespace()}:actions:{user_pk}"
        now = time.time()
        async with asyncio.timeout(conf.get("PUSH_TIMEOUT")):
            async with self.clients[0].pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, "-inf", now - window)
                pipe.zadd(key, {uuid.uuid4().hex: now})
                pipe.zcard(key)
                pipe.pexpire(key, int(window * 1000) + 1000)
                count = (await pipe.execute())[2]
        return int(count) > int(conf.get("ACTION_RATE_LIMIT"))

    async def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):  # a server that is down has nothing to close
                await client.aclose(close_connection_pool=True)
                # A Sentinel pool's connections to the sentinels belong to its manager (redis-py 5.1+).
                sentinels = getattr(client.connection_pool, "sentinel_manager", None)
                if sentinels is not None and hasattr(sentinels, "aclose"):
                    await sentinels.aclose()


async def _run_id(client: Any) -> str:
    from redis.exceptions import ConnectionError as RedisConnectionError  # redis is in the [redis] extra

    try:
        info = await client.info("server")
    except RedisConnectionError:  # a pooled connection the server closed (it restarted): once more, anew
        info = await client.info("server")
    return str(info["run_id"])


class Identity(NamedTuple):
    servers: tuple[str, ...]  # per host: its run_id, and behind Sentinel the master and replicas' roles
    split: bool  # behind Sentinel: a replica still reports itself a master (a failover not finished yet)


async def _topology(client: Any) -> tuple[str, list[str]]:
    """Behind Sentinel, the master and each replica with the role it reports (nothing for a plain server).

    A master that restarts or stalls for longer than the sentinels' ``down-after-milliseconds`` comes back still a
    master, beside the one they promoted, until they convert it (up to ten seconds later: their INFO period).
    Meanwhile a process may publish on one and subscribe on the other, and frames are lost with no probe lost
    and no ``run_id`` changed: each step of that changes this, and while it lasts ``Identity.split`` says so.
    """
    pool = client.connection_pool
    manager, name = getattr(pool, "sentinel_manager", None), getattr(pool, "service_name", None)
    if manager is None or name is None:
        return "", []
    master = await manager.discover_master(name)  # the sentinel that answers first is asked next, too
    replicas = await manager.sentinels[0].sentinel_slaves(name)
    return f"{master[0]}:{master[1]}", sorted(f"{r['ip']}:{r['port']}={r.get('role-reported', '')}" for r in replicas)


def servers() -> Servers | None:
    """A new handle on the layer's Redis servers (for the calling event loop), or None without a Redis layer."""
    config = layer_config()
    return None if config is None else Servers(*config)
