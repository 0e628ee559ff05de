"""Loaded by a server that bench.memory starts (this folder first on PYTHONPATH): on SIGUSR1 it writes where
its memory is to the file ``$BENCH_MEMORY_DUMP`` (one JSON line per signal)."""

from __future__ import annotations

import os

_OUT = os.environ.get("BENCH_MEMORY_DUMP")

if _OUT:
    import ctypes
    import gc
    import json
    import re
    import signal
    import sys
    import threading
    import time
    from typing import Any

    def _pymalloc() -> dict[str, int]:
        """pymalloc's arenas (small Python objects), from sys._debugmallocstats (which prints to fd 2)."""
        path = f"{_OUT}.tmp"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        saved = os.dup(2)
        os.dup2(fd, 2)
        try:
            sys._debugmallocstats()
            ctypes.CDLL("libc.so.6").malloc_stats()  # glibc's arenas (everything else malloc'ed)
        finally:
            os.dup2(saved, 2)
            os.close(fd)
            os.close(saved)
        with open(path) as stats:
            text = stats.read()
        os.unlink(path)
        arenas = re.search(r"# arenas allocated current\s*=\s*([\d,]+)", text)
        glibc = re.search(r"Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)", text)
        return {
            "pymalloc_arenas": int(arenas.group(1).replace(",", "")) if arenas else -1,
            "glibc_system": int(glibc.group(1)) if glibc else -1,
            "glibc_in_use": int(glibc.group(2)) if glibc else -1,
        }

    def _sqlite() -> int:
        """Bytes SQLite has allocated in this process (page caches, statements, schemas)."""
        try:
            lib = ctypes.CDLL("libsqlite3.so.0")
        except OSError:
            return -1
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        return int(lib.sqlite3_memory_used())

    def _rss() -> int:
        with open("/proc/self/status") as status:
            return int(re.search(r"VmRSS:\s*(\d+)", status.read()).group(1)) * 1024  # type: ignore[union-attr]

    def _dump(signum: int, frame: Any) -> None:
        gc.collect()
        record = {
            "t": time.time(),
            "rss": _rss(),
            "sqlite": _sqlite(),
            "threads": sorted(t.name for t in threading.enumerate()),
            **_pymalloc(),
        }
        with open(_OUT, "a") as out:
            out.write(json.dumps(record) + "\n")

    signal.signal(signal.SIGUSR1, _dump)
