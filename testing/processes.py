"""Real processes for the browser tests (and bench/): redis-server, daphne serving the demo, manage.py commands."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, ClassVar, Self

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10) -> None:
    """SIGTERM, and SIGKILL if the process has not exited ``timeout`` seconds later."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class RedisServer:
    """A private, diskless redis-server on a free port (also the bench's: ``wrap`` pins it, ``extra_args``)."""

    def __init__(
        self,
        extra_args: Sequence[str] = (),
        wrap: Sequence[str] = (),
        log: Path | None = None,
        port: int | None = None,
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (the README's test command installs it)")
        self.binary = binary
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.extra_args, self.wrap, self.log = list(extra_args), list(wrap), log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out: Any = self.log.open("a") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [
                *self.wrap,
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                *self.extra_args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT if self.log else None,
        )
        wait_for_port(self.port, proc=self.proc)

    def flush(self) -> None:
        """Delete every key (between benchmark runs)."""
        subprocess.run(["redis-cli", "-p", str(self.port), "FLUSHALL"], check=True, capture_output=True)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class DemoServer:
    """The demo project on a real daphne, with its own database, on a free port.

    ``env`` decides the database and channel layer (DATABASE_URL, REDIS_URL); every manage.py command run
    through :meth:`manage` shares them, so a command is "another process" exactly as in production.
    """

    #: Every server's log file, so a failing test can keep what each one said (see e2e/conftest.py).
    log_paths: ClassVar[list[Path]] = []

    def __init__(
        self, workdir: Path, env: dict[str, str], port: int | None = None, daphne_args: tuple[str, ...] = ()
    ) -> None:
        self.workdir = workdir
        self.daphne_args = daphne_args
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "site"), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "e2e.settings",  # the demo's, with a fast password hasher
            **env,
        }
        self.log_path = workdir / f"daphne-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._commands: subprocess.Popen[str] | None = None
        self._commands_lock = threading.Lock()

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``manage.py *args`` in a process of its own (Django starts for it)."""
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``manage.py *args`` in this server's long-lived command process (``e2e.commands``): another process
        than the server, as a worker is, without Django's start per command. Raises like ``manage``."""
        with self._commands_lock:
            if self._commands is None:
                self._commands = subprocess.Popen(
                    [sys.executable, "-m", "e2e.commands"],
                    env=self.env,
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            assert self._commands.stdin is not None and self._commands.stdout is not None
            self._commands.stdin.write(json.dumps(args) + "\n")
            self._commands.stdin.flush()
            answer = self._commands.stdout.readline()
        if not answer:
            raise RuntimeError(f"the command process exited ({self._commands.poll()}) running {args}")
        result = json.loads(answer)
        done = subprocess.CompletedProcess(list(args), result["returncode"], result["stdout"], result["stderr"])
        done.check_returncode()
        return done

    def close_commands(self) -> None:
        """End the command process (it also ends by itself when this process exits)."""
        if self._commands is not None:
            assert self._commands.stdin is not None and self._commands.stdout is not None
            self._commands.stdin.close()  # it is idle between commands: end of input or SIGTERM, either ends it
            stop_process(self._commands)
            self._commands.stdout.close()
            self._commands = None

    def start(self) -> None:
        if self.log_path not in DemoServer.log_paths:
            DemoServer.log_paths.append(self.log_path)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.server_command(),
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, proc=self.proc)

    def server_command(self) -> list[str]:
        """daphne, or uvicorn when ``E2E_SERVER=uvicorn`` (the production server the deployment docs name):
        CI runs the browser suite under each. daphne's ping options are passed on as uvicorn's."""
        if self.env.get("E2E_SERVER", "daphne") == "uvicorn":
            names = {"--ping-interval": "--ws-ping-interval", "--ping-timeout": "--ws-ping-timeout"}
            args = [names.get(arg, arg) for arg in self.daphne_args]
            return [
                *(sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(self.port)),
                *("--ws", "websockets-sansio", "--lifespan", "off", "--no-access-log", *args),
                "demo.asgi:application",
            ]
        return [
            *(sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)),
            *self.daphne_args,
            "demo.asgi:application",
        ]

    def stop(self) -> None:
        self.close_commands()
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def create_users(self, *prefixes: str) -> list[tuple[str, str]]:
        """Fresh users for one test (unique names, so tests never share state)."""
        suffix = uuid.uuid4().hex[:8]
        users = [(f"{prefix}-{suffix}", f"pw-{prefix}") for prefix in prefixes]
        self.command("seed_demo", *(f"{name}:{password}" for name, password in users))
        return users

    def notify(self, username: str, message: str, *options: str) -> subprocess.CompletedProcess[str]:
        return self.command("notify", username, message, *options)
