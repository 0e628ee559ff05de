"""A private Redis Sentinel deployment for tests and the chaos soak: one master, one replica, three sentinels.

Every process is a plain ``redis-server`` on a free loopback port, with its configuration in a temporary
directory (a sentinel rewrites its file, so it needs one of its own)::

    with SentinelCluster() as cluster:
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [cluster.host_entry()]
        old = cluster.kill_master()                 # SIGKILL, as a crashed host
        new = cluster.wait_for_failover(timeout=15)  # the replica, promoted by the sentinels
        cluster.revive()                            # the killed server back, as the new master's replica

The API: the context manager, ``host_entry()``, ``master_address()``, ``kill_master()``, ``wait_for_failover()``
and ``revive()``; nothing else is meant for callers.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import redis

from .processes import free_port, stop_process, wait_for_port

#: The master's name as the sentinels know it (``REDIS_MASTER_NAME`` in the demo's settings).
MASTER_NAME = "mymaster"
#: Sentinels that must agree the master is down before a failover (of three).
QUORUM = 2
#: Milliseconds without an answer after which a sentinel thinks a server is down.
DOWN_AFTER_MS = 1000
#: Milliseconds before a failed failover is tried again (Redis's default is three minutes).
FAILOVER_TIMEOUT_MS = 5000

Address = tuple[str, int]
#: A sentinel's flags for a replica it would not promote (or has not reached since it came back).
UNHEALTHY = {"s_down", "o_down", "disconnected"}


def _flags(value: str | set[str]) -> set[str]:
    """A sentinel's flags for a server (redis-py passes them on as one comma-separated string)."""
    return set(value.split(",")) if isinstance(value, str) else set(value)


def _wait(what: str, ready: Callable[[], bool], timeout: float) -> None:
    """Poll ``ready`` until it holds; a Redis error counts as "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if ready():
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} after {timeout}s")


class SentinelCluster:
    """One master, one replica and three sentinels on loopback; a context manager (start, then clean teardown).

    ``log``: a directory for each process's log (a temporary one, removed afterwards, when not given).
    """

    def __init__(self, log: Path | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server redis-sentinel)")
        self.binary = binary
        self.host = "127.0.0.1"
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._log = log
        self.servers: dict[int, subprocess.Popen[bytes] | None] = {}  # data servers by port (None: killed)
        self.sentinels: dict[int, subprocess.Popen[bytes]] = {}
        self._killed: int | None = None

    # The API ----------------------------------------------------------------------------------------------

    def host_entry(self, **options: Any) -> dict[str, Any]:
        """The channels-redis host entry that reaches the master through the sentinels (``options``: further
        connection arguments, e.g. ``db``)."""
        sentinels = [(self.host, port) for port in self.sentinels]
        return {"sentinels": sentinels, "master_name": MASTER_NAME, **options}

    def master_address(self) -> Address:
        """The master's address, as the first sentinel that answers names it."""
        for port in self.sentinels:
            with contextlib.suppress(redis.RedisError, OSError):
                with self._sentinel(port) as sentinel:
                    answer = sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)
                if answer:
                    return str(answer[0]), int(answer[1])
        raise RuntimeError("no sentinel names a master")

    def kill_master(self) -> Address:
        """SIGKILL the current master (a crashed host: no goodbye to clients or replicas); its address."""
        address = self.master_address()
        proc = self.servers.get(address[1])
        if proc is None:
            raise RuntimeError(f"the master {address} is not a server of this cluster, or killed already")
        proc.kill()
        proc.wait(5)
        self.servers[address[1]] = None
        self._killed = address[1]
        return address

    def wait_for_failover(self, timeout: float = 30.0) -> Address:
        """Wait until every sentinel names a new master and it accepts writes (the killed one excluded); its
        address."""
        killed = self._killed

        def promoted() -> bool:
            masters = set()
            for port in self.sentinels:
                with self._sentinel(port) as sentinel:
                    masters.add(sentinel.sentinel_get_master_addr_by_name(MASTER_NAME))
            if len(masters) != 1 or None in masters:
                return False
            port = int(masters.pop()[1])
            return port != killed and self._replication(port)["role"] == "master"

        _wait("no failover", promoted, timeout)
        return self.master_address()

    def revive(self, timeout: float = 30.0) -> None:
        """Start the killed server again, as a replica of the current master, and wait until it is in sync and
        every sentinel counts it: the cluster can lose its master once more."""
        if self._killed is None:
            raise RuntimeError("no server has been killed")
        port, self._killed = self._killed, None
        self._start_server(port, replica_of=self.master_address())
        self._wait_ready(timeout)

    # Life cycle ---------------------------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="sentinel-")
        master, replica = free_port(), free_port()
        self._start_server(master)
        self._start_server(replica, replica_of=(self.host, master))
        for _ in range(3):
            port = free_port()
            conf = self._path(f"sentinel-{port}.conf")
            conf.write_text(
                "\n".join(
                    [
                        f"port {port}",
                        f"bind {self.host}",
                        f"dir {self._path('')}",
                        f"sentinel monitor {MASTER_NAME} {self.host} {master} {QUORUM}",
                        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
                        f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
                        f"sentinel parallel-syncs {MASTER_NAME} 1",
                        "",
                    ]
                )
            )
            self.sentinels[port] = self._popen(port, [str(conf), "--sentinel"])
        self._wait_ready(timeout)

    def stop(self) -> None:
        for proc in [*self.sentinels.values(), *self.servers.values()]:
            if proc is not None:
                stop_process(proc)
        self.sentinels.clear()
        self.servers.clear()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Inside -------------------------------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        assert self._dir is not None
        return Path(self._dir.name) / name

    def _popen(self, port: int, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self._log or self._path("")) / f"redis-{port}.log"
        with log.open("ab") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen([self.binary, *args], stdout=out, stderr=subprocess.STDOUT)
        wait_for_port(port, proc=proc)
        return proc

    def _start_server(self, port: int, replica_of: Address | None = None) -> None:
        args = ["--port", str(port), "--bind", self.host, "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self._path(""))]
        if replica_of is not None:
            args += ["--replicaof", replica_of[0], str(replica_of[1])]
        self.servers[port] = self._popen(port, args)

    def _replication(self, port: int) -> dict[str, Any]:
        with redis.Redis(self.host, port, socket_timeout=1, single_connection_client=True) as server:
            return dict(server.info("replication"))

    def _sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(self.host, port, socket_timeout=1, decode_responses=True, single_connection_client=True)

    def _wait_ready(self, timeout: float) -> None:
        """Every sentinel names the same master and counts every other sentinel and every live replica, and
        every replica is in sync: a failover can be agreed on."""
        live = [port for port, proc in self.servers.items() if proc is not None]

        def ready() -> bool:
            host, master = self.master_address()
            for port in self.sentinels:
                with self._sentinel(port) as sentinel:
                    state = sentinel.sentinel_master(MASTER_NAME)
                    replicas = sentinel.sentinel_slaves(MASTER_NAME)
                if (state["ip"], int(state["port"])) != (host, master):
                    return False
                if state["num-other-sentinels"] != len(self.sentinels) - 1 or state["num-slaves"] < len(live) - 1:
                    return False
                healthy = [r for r in replicas if int(r["port"]) in live and not UNHEALTHY & _flags(r["flags"])]
                if len(healthy) < len(live) - 1:
                    return False
            return all(self._replication(port).get("master_link_status") == "up" for port in live if port != master)

        _wait("the sentinels did not agree on a master with in-sync replicas", ready, timeout)
