"""A private PostgreSQL server that a test (or a bench) starts, stops and restarts at will.

Never the machine's PostgreSQL service: a cluster of its own in a temporary folder, on a free loopback port,
trust authentication for 127.0.0.1 only, no Unix socket, thrown away on exit::

    with PostgresServer() as pg:     # initdb + start; pytest.skip() when PostgreSQL's binaries are missing
        env = {"DATABASE_URL": pg.url}
        pg.stop()                    # fast shutdown: open sessions are ended, as on a real restart
        pg.start()                   # the same data, the same port
        pg.restart(down=3.0)         # stop, stay down for 3 s, start

The server binaries are Debian's (``/usr/lib/postgresql/<version>/bin``, the newest version found). PostgreSQL
refuses to run as root, so when this process is root ``initdb`` and ``pg_ctl`` run as the ``postgres`` user
(``runuser``), and the data folder belongs to that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from testing.processes import free_port

#: Where Debian puts each PostgreSQL version's server binaries.
BINARIES = "/usr/lib/postgresql/*/bin"
#: Settings of the private cluster: loopback only, no Unix socket, durability off (a test's data is disposable).
CONFIG = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 50
"""


def binaries() -> Path | None:
    """The folder of the newest installed PostgreSQL's ``initdb`` and ``pg_ctl``, or None."""
    found = [Path(p) for p in glob.glob(BINARIES) if (Path(p) / "pg_ctl").exists() and (Path(p) / "initdb").exists()]
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0) if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free port; ``url`` names its ``postgres`` database (user ``postgres``).

    ``start()``/``stop()``/``restart()`` keep the data and the port, so a server process pointed at ``url``
    reconnects to the same database. Leaving the ``with`` block stops the server and deletes the cluster.
    """

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            import pytest

            pytest.skip(f"no PostgreSQL server binaries in {BINARIES} (Debian's postgresql package)")
        self.bin_dir = bin_dir
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.root = Path(tempfile.mkdtemp(prefix="nb-postgres-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        # PostgreSQL runs as an unprivileged user: as root, as "postgres" (which must own the folder).
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self._initialized = False

    @property
    def running(self) -> bool:
        """Whether the server answers ``pg_ctl status``."""
        return self._initialized and self._pg_ctl("status", check=False).returncode == 0

    def start(self) -> None:
        """Start the server (creating the cluster the first time) and wait until it accepts connections."""
        if not self._initialized:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
            with (self.data / "postgresql.conf").open("a") as conf:
                conf.write(CONFIG.format(port=self.port))
            self._initialized = True
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log))

    def stop(self) -> None:
        """Stop the server with a fast shutdown (open sessions are ended, nothing waits for them)."""
        if self.running:
            self._pg_ctl("stop", "-w", "-t", "60", "-m", "fast")

    def restart(self, down: float = 0.0) -> None:
        """Stop, stay down for ``down`` seconds, start again."""
        self.stop()
        time.sleep(down)
        self.start()

    def close(self) -> None:
        """Stop the server (immediately, if a fast shutdown fails) and delete the cluster."""
        try:
            self.stop()
        except subprocess.CalledProcessError:
            self._pg_ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.data), *args, check=check)

    def _run(self, binary: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self._as, str(self.bin_dir / binary), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,  # the postgres user may not be allowed into this process's working folder
        )
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr + log)
        return done
